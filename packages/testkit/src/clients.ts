/** Small real clients for tests: curl wrapper, raw HTTP over a socket, CONNECT tunnels. */
import { execFile } from 'node:child_process';
import { connect, type Socket } from 'node:net';

export interface CurlResult {
  code: number | null;
  status: number;
  body: string;
  stderr: string;
}

/** Run curl; `-s -S -o - -w '\n%{http_code}'` is added so the status is the last line. */
export function curl(args: string[], timeoutMs = 15_000): Promise<CurlResult> {
  return new Promise((resolve) => {
    execFile('curl', ['-s', '-S', '--max-time', String(Math.ceil(timeoutMs / 1000)), '-w', '\n%{http_code}', ...args],
      { maxBuffer: 64 * 1024 * 1024, encoding: 'latin1' }, (err, stdout, stderr) => {
        const i = stdout.lastIndexOf('\n');
        resolve({
          code: err ? ((err as NodeJS.ErrnoException & { code?: number }).code as unknown as number) ?? 1 : 0,
          status: Number(stdout.slice(i + 1)) || 0,
          body: stdout.slice(0, i),
          stderr,
        });
      });
  });
}

/** Open a TCP connection to 127.0.0.1:port. */
export function tcpConnect(port: number, host = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host }, () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Read from `s` until `pred(buffer)` or the socket ends/times out. */
export function readUntil(s: Socket, pred: (b: Buffer) => boolean, timeoutMs = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const done = (err?: Error) => {
      clearTimeout(t);
      s.off('data', onData);
      s.off('end', onEnd);
      s.off('close', onEnd);
      if (err) reject(err);
      else resolve(buf);
    };
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (pred(buf)) done();
    };
    const onEnd = () => done();
    const t = setTimeout(() => done(new Error(`timeout; got ${JSON.stringify(buf.toString('latin1').slice(0, 200))}`)), timeoutMs);
    s.on('data', onData);
    s.once('end', onEnd);
    s.once('close', onEnd);
  });
}

/** Send raw bytes to the proxy and return everything it answers until it closes (or times out). */
export async function rawExchange(port: number, data: string | Buffer, timeoutMs = 5000): Promise<string> {
  const s = await tcpConnect(port);
  s.write(data);
  const out = await readUntil(s, () => false, timeoutMs).catch((e: Error) => Buffer.from(`TIMEOUT ${e.message}`));
  s.destroy();
  return out.toString('latin1');
}

/** Issue CONNECT host:port through the proxy; resolves with the socket after the 200 (rejects otherwise). */
export async function connectTunnel(proxyPort: number, target: string): Promise<{ socket: Socket; head: string }> {
  const s = await tcpConnect(proxyPort);
  s.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  const buf = await readUntil(s, (b) => b.includes('\r\n\r\n'));
  const head = buf.toString('latin1');
  const status = Number(head.split(' ')[1]);
  if (status !== 200) {
    s.destroy();
    throw Object.assign(new Error(`CONNECT answered ${head.split('\r\n')[0]}`), { status, head });
  }
  return { socket: s, head };
}
