/**
 * Parse sluice's `stdout` log lines (g3's stdout format) back into records:
 * `Mmm dd hh:mm:ss.mmm LEVEL <msg>, key: value, key: value...` with keys sorted and values bare. A field
 * starts at `, <snake_case key>: `; a value that itself holds such a sequence would split wrongly, which g3's
 * format cannot avoid either.
 */
export interface ParsedLogLine {
  level: string;
  fields: Record<string, string>;
  msg: string;
}

const HEAD = /^[A-Z][a-z]{2} \d{2} \d{2}:\d{2}:\d{2}\.\d{3} ([A-Z]+) /;
const FIELD = /, ([a-z][a-z0-9_]*): /g;

export function parseLogLine(line: string): ParsedLogLine | null {
  const m = HEAD.exec(line);
  if (!m) return null;
  const body = line.slice(m[0].length).replace(/\r?\n$/, '');
  const fields: Record<string, string> = {};
  const starts: Array<{ key: string; at: number; valueAt: number }> = [];
  FIELD.lastIndex = 0;
  for (let f = FIELD.exec(body); f; f = FIELD.exec(body)) starts.push({ key: f[1]!, at: f.index, valueAt: f.index + f[0].length });
  const msg = starts.length ? body.slice(0, starts[0]!.at) : body;
  for (let i = 0; i < starts.length; i++) {
    const s = starts[i]!;
    fields[s.key] = body.slice(s.valueAt, i + 1 < starts.length ? starts[i + 1]!.at : body.length);
  }
  return { level: m[1]!, fields, msg };
}
