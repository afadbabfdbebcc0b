/** An origin that writes chunk extensions (node's http server can't), shared by the http_* g3 option suites. */
import { createServer, type Server, type Socket } from 'node:net';

/** A chunk whose size line carries an extension making the whole line (without CRLF) exactly `n` bytes. */
export function chunkWithLine(n: number, data: string): string {
  const size = data.length.toString(16);
  const ext = `;x=${'e'.repeat(n - size.length - 3)}`;
  return `${size}${ext}\r\n${data}\r\n`;
}

/**
 * A raw origin answering every request with a chunked body whose first chunk-size line is as long as the path
 * says (`/line/<n>`): node's http server can't write chunk extensions.
 */
export async function startRawChunkOrigin(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const n = Number(/^GET \/line\/(\d+)/.exec(buf)?.[1] ?? 16);
      buf = buf.slice(end + 4);
      s.write(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${chunkWithLine(n, 'chunky')}0\r\n\r\n`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}
