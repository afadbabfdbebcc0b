/**
 * FTP control-connection replies (RFC 959 §4.2): a three-digit code, then either a space and the text (single
 * line) or a hyphen opening a multi-line reply that ends at the first line starting with the same code and a
 * space. Lines in between are free text (FEAT lists features indented by one space).
 *
 * The parser is incremental and strict: bounded line length and line count, codes 100..599 only, and the last
 * line of a multi-line reply must repeat the opening code. Anything else is an FtpProtocolError, because a
 * server that can't frame its replies can't be trusted to frame the data transfer either.
 */

export interface FtpReply {
  code: number;
  /** Text of each line without the code prefix (first and last) and without the line ending. */
  lines: string[];
}

export class FtpProtocolError extends Error {
  override get name(): string {
    return 'FtpProtocolError';
  }
}

export interface ReplyLimits {
  maxLineBytes: number;
  maxLines: number;
}

export const DEFAULT_REPLY_LIMITS: ReplyLimits = { maxLineBytes: 2048, maxLines: 128 };

function codeOf(line: string): number {
  if (line.length < 3) return -1;
  let n = 0;
  for (let i = 0; i < 3; i++) {
    const c = line.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

export class FtpReplyParser {
  private partial = '';
  private open: FtpReply | null = null;

  constructor(private readonly limits: ReplyLimits = DEFAULT_REPLY_LIMITS) {}

  /** Whether a reply is half read (bytes buffered or a multi-line reply not yet closed). */
  get pending(): boolean {
    return this.partial.length > 0 || this.open !== null;
  }

  /** Feed bytes; returns the replies completed by them, in order. */
  push(chunk: Buffer): FtpReply[] {
    const out: FtpReply[] = [];
    // latin1 keeps one char per byte so the length limit counts bytes; text is decoded as UTF-8 per line below
    let text = this.partial + chunk.toString('latin1');
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      let end = nl;
      if (end > start && text.charCodeAt(end - 1) === 0x0d) end--;
      if (nl - start > this.limits.maxLineBytes) throw new FtpProtocolError('reply line too long');
      const line = Buffer.from(text.slice(start, end), 'latin1').toString('utf8');
      start = nl + 1;
      const done = this.line(line);
      if (done) out.push(done);
    }
    text = text.slice(start);
    if (text.length > this.limits.maxLineBytes) throw new FtpProtocolError('reply line too long');
    this.partial = text;
    return out;
  }

  private line(line: string): FtpReply | null {
    const open = this.open;
    if (open) {
      if (codeOf(line) === open.code && line.charCodeAt(3) === 0x20) {
        open.lines.push(line.slice(4));
        this.open = null;
        return open;
      }
      if (open.lines.length >= this.limits.maxLines) throw new FtpProtocolError('too many lines in a multi-line reply');
      open.lines.push(line);
      return null;
    }
    const code = codeOf(line);
    if (code < 100 || code > 599) throw new FtpProtocolError(`invalid reply line '${line.slice(0, 32)}'`);
    const sep = line.length === 3 ? 0x20 : line.charCodeAt(3);
    if (sep === 0x20) return { code, lines: [line.slice(4)] };
    if (sep === 0x2d /* - */) {
      this.open = { code, lines: [line.slice(4)] };
      return null;
    }
    throw new FtpProtocolError(`invalid reply line '${line.slice(0, 32)}'`);
  }
}

/** `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)` → address and port. */
export function parsePasvReply(r: FtpReply): { host: string; port: number } | null {
  const text = r.lines[0] ?? '';
  const m = /(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3})/.exec(text);
  if (!m) return null;
  const n = m.slice(1).map(Number);
  if (n.some((x) => x > 255)) return null;
  const port = n[4]! * 256 + n[5]!;
  if (port === 0) return null;
  return { host: `${n[0]}.${n[1]}.${n[2]}.${n[3]}`, port };
}

/** `229 Entering Extended Passive Mode (|||port|)` → port (RFC 2428: the delimiter is whatever char comes first). */
export function parseEpsvReply(r: FtpReply): number | null {
  const text = r.lines[0] ?? '';
  const open = text.indexOf('(');
  const close = text.indexOf(')', open + 1);
  if (open < 0 || close < 0) return null;
  const inner = text.slice(open + 1, close);
  if (inner.length < 5) return null;
  const d = inner[0]!;
  if (inner[1] !== d || inner[2] !== d || inner[inner.length - 1] !== d) return null;
  const p = inner.slice(3, -1);
  if (!/^\d{1,5}$/.test(p)) return null;
  const port = Number(p);
  return port >= 1 && port <= 65535 ? port : null;
}
