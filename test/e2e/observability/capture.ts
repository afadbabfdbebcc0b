/** Loopback receivers for the observability suites: StatsD over UDP and Unix datagrams, syslog, journald. */
import { createSocket } from 'node:dgram';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface UnixDgramSocket {
  on(ev: 'message', cb: (buf: Buffer) => void): this;
  on(ev: 'error', cb: (e: Error) => void): this;
  bind(path: string): void;
  close(): void;
}
const unixDgram = createRequire(import.meta.url)('unix-dgram') as { createSocket(t: 'unix_dgram'): UnixDgramSocket };

export interface DatagramCapture {
  /** every datagram received, in order */
  readonly datagrams: Buffer[];
  /** UDP port, or the Unix socket path */
  readonly port: number;
  readonly path: string;
  waitFor(pred: (all: Buffer[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

function waiter(datagrams: Buffer[]) {
  return async (pred: (all: Buffer[]) => boolean, timeoutMs = 5000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!pred(datagrams)) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms with ${datagrams.length} datagrams`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
}

export async function udpCapture(): Promise<DatagramCapture> {
  const datagrams: Buffer[] = [];
  const s = createSocket('udp4');
  s.on('message', (m) => datagrams.push(m));
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return {
    datagrams,
    port: s.address().port,
    path: '',
    waitFor: waiter(datagrams),
    close: () => new Promise((r) => s.close(() => r())),
  };
}

export function unixCapture(name = 'sock'): DatagramCapture {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-obs-'));
  const path = join(dir, name);
  const datagrams: Buffer[] = [];
  const s = unixDgram.createSocket('unix_dgram');
  s.on('message', (m) => datagrams.push(Buffer.from(m)));
  s.on('error', () => {});
  s.bind(path);
  return {
    datagrams,
    port: 0,
    path,
    waitFor: waiter(datagrams),
    close: async () => {
      s.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One StatsD line: `<name>:<value>|<type>|#tag:v,tag:v`. */
export interface StatsdLine {
  name: string;
  value: number;
  type: string;
  tags: string[];
}

export function parseStatsd(datagrams: Buffer[]): StatsdLine[] {
  const out: StatsdLine[] = [];
  for (const d of datagrams) {
    for (const line of d.toString('utf8').split('\n')) {
      if (!line) continue;
      const m = /^([^:]+):([^|]+)\|([a-z]+)(?:\|#(.*))?$/.exec(line);
      if (!m) throw new Error(`not a StatsD line: ${line}`);
      out.push({ name: m[1]!, value: Number(m[2]), type: m[3]!, tags: m[4] ? m[4].split(',') : [] });
    }
  }
  return out;
}

/** Sum of a counter's deltas over every line whose tags include all of `tags`. */
export function sumCounter(lines: StatsdLine[], name: string, tags: string[] = []): number {
  let n = 0;
  for (const l of lines) if (l.name === name && l.type === 'c' && tags.every((t) => l.tags.includes(t))) n += l.value;
  return n;
}
