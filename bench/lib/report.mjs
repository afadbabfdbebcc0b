// Turning result rows into the stdout table: one small table per benchmark, with ratios against the peer
// named as the reference (squid for HTTP, the best SOCKS peer for SOCKS, the no-auth/no-log run for overheads).

export const fmt = {
  int: (v) => (v == null || Number.isNaN(v) ? '-' : Math.round(v).toLocaleString('en-US')),
  f1: (v) => (v == null || Number.isNaN(v) ? '-' : v.toFixed(1)),
  f2: (v) => (v == null || Number.isNaN(v) ? '-' : v.toFixed(2)),
  f3: (v) => (v == null || Number.isNaN(v) ? '-' : v.toFixed(3)),
  ratio: (v) => (v == null || !Number.isFinite(v) ? '-' : `${v.toFixed(2)}x`),
};

/** Render rows as an aligned text table. cols: [{ title, get(row) → string }] */
export function table(title, cols, rows) {
  const cells = rows.map((r) => cols.map((c) => c.get(r)));
  const widths = cols.map((c, i) => Math.max(c.title.length, ...cells.map((row) => row[i].length)));
  const line = (vals) => vals.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  return [`## ${title}`, line(cols.map((c) => c.title)), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

/** Same, as a Markdown table for bench/README.md. */
export function markdownTable(title, cols, rows) {
  const head = `| ${cols.map((c) => c.title).join(' | ')} |`;
  const sep = `|${cols.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`;
  return [`#### ${title}`, '', head, sep, ...rows.map((r) => `| ${cols.map((c) => c.get(r)).join(' | ')} |`)].join('\n');
}
