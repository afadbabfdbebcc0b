/** Real upstreams for tests: an HTTP origin and a TLS origin on 127.0.0.1, port 0. */
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface Origin {
  port: number;
  url: string;
  /** requests seen, in order: method, url, headers */
  seen: Array<{ method: string; url: string; headers: IncomingMessage['headers'] }>;
  /** TCP connections accepted (to check keep-alive reuse) */
  connections: number;
  close(): Promise<void>;
}

/**
 * An origin with a few useful routes:
 *   /echo       answers with the request body (streamed) and `x-echo-length`
 *   /bytes?n=N  answers N bytes (Content-Length) of a known pattern
 *   /chunked?n=N answers N bytes chunked
 *   /headers    answers the request headers as JSON
 *   anything else → 200 "hello"
 */
export async function startOrigin(handler?: Handler): Promise<Origin> {
  const seen: Origin['seen'] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: HttpServer = createHttpServer((req, res) => {
    seen.push({ method: req.method!, url: req.url!, headers: req.headers });
    if (handler) return handler(req, res);
    defaultRoutes(req, res);
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (s) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    seen,
    get connections() {
      return connections;
    },
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

export function pattern(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

export function defaultRoutes(req: IncomingMessage, res: ServerResponse): void {
  const u = new URL(req.url!, 'http://x');
  if (u.pathname === '/echo') {
    const len = req.headers['content-length'];
    res.writeHead(200, len ? { 'content-length': len, 'x-echo-length': len } : {});
    req.pipe(res);
    return;
  }
  if (u.pathname === '/bytes' || u.pathname === '/chunked') {
    const n = Number(u.searchParams.get('n') ?? '0');
    const body = pattern(n);
    if (u.pathname === '/bytes') res.writeHead(200, { 'content-length': n });
    else res.writeHead(200, { 'transfer-encoding': 'chunked' });
    // write in 64 KiB pieces, honouring backpressure
    let off = 0;
    const pump = () => {
      while (off < n) {
        const piece = body.subarray(off, Math.min(n, off + 65536));
        off += piece.length;
        if (!res.write(piece)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
    return;
  }
  if (u.pathname === '/headers') {
    const body = JSON.stringify(req.headers);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  req.resume();
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 5 });
  res.end('hello');
}

/** A TLS origin that answers every request line with a fixed HTTP response, and echoes raw after `ECHO\n`. */
export async function startTlsOrigin(cert: { key: string; cert: string }): Promise<{ port: number; close(): Promise<void> }> {
  const server: TlsServer = createTlsServer({ key: cert.key, cert: cert.cert }, (s) => {
    s.once('data', (d: Buffer) => {
      const text = d.toString('latin1');
      if (text.startsWith('ECHO\n')) {
        s.write(d.subarray(5));
        s.pipe(s);
        return;
      }
      s.end('HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\ntls-hello');
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** A raw TCP echo server; with `banner`, it speaks first (a server-first protocol's greeting), then echoes. */
export async function startEchoServer(opts: { banner?: string } = {}): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: NetServer = createNetServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    if (opts.banner) s.write(opts.banner);
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}
