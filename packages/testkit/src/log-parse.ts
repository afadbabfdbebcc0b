/** Parse sluice's `stdout` log lines back into records (the format is unambiguous by construction). */
export interface ParsedLogLine {
  level: string;
  fields: Record<string, string>;
  msg: string;
}

function readQuoted(line: string, i: number): [string, number] {
  // JSON string starting at line[i] === '"'
  let j = i + 1;
  while (j < line.length) {
    const c = line[j];
    if (c === '\\') j += 2;
    else if (c === '"') break;
    else j++;
  }
  return [JSON.parse(line.slice(i, j + 1)) as string, j + 1];
}

export function parseLogLine(line: string): ParsedLogLine | null {
  // `Mmm dd hh:mm:ss.mmm LEVEL key: value, key: value "msg"`
  const m = /^[A-Z][a-z]{2} \d{2} \d{2}:\d{2}:\d{2}\.\d{3} ([A-Z]+) /.exec(line);
  if (!m) return null;
  const fields: Record<string, string> = {};
  let i = m[0].length;
  let msg = '';
  while (i < line.length) {
    if (line[i] === '"') {
      [msg] = readQuoted(line, i);
      break;
    }
    const colon = line.indexOf(': ', i);
    if (colon < 0) break;
    const key = line.slice(i, colon);
    i = colon + 2;
    let value: string;
    if (line[i] === '"') [value, i] = readQuoted(line, i);
    else {
      let j = i;
      while (j < line.length && line[j] !== ',' && line[j] !== ' ') j++;
      value = line.slice(i, j);
      i = j;
    }
    fields[key] = value;
    if (line.startsWith(', ', i)) i += 2;
    else if (line[i] === ' ') i += 1;
  }
  return { level: m[1]!, fields, msg };
}
