// The origin side of every benchmark, run as its own process on the load generator's core so it does not
// share an event loop with the clients. Prints one JSON line with its ports, then serves until stdin closes.
//   http:   a minimal keep-alive HTTP/1.1 responder (no HTTP parser: counts request heads by their blank
//           line; the benchmarks only send body-less GETs), so the origin costs as little CPU as we can make it
//   echo:   echoes every byte (CONNECT/SOCKS handshakes end with a 1-byte echo; idle tunnels sit here)
//   source: after the first byte from the client, sends 256 KiB chunks as fast as the socket drains
import net from 'node:net';

const BODY = 'hello, world\n';
const RESPONSE = Buffer.from(
  `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nCache-Control: no-store\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`,
);
const responsesCache = [Buffer.alloc(0), RESPONSE];
function responses(n) {
  while (responsesCache.length <= n) responsesCache.push(Buffer.concat([responsesCache[responsesCache.length - 1], RESPONSE]));
  return responsesCache[n];
}

const CR = 13;
const LF = 10;

function httpConn(sock) {
  sock.setNoDelay(true);
  // state = how many bytes of "\r\n\r\n" matched at the end of what we have seen, so a split head still counts
  let state = 0;
  sock.on('data', (buf) => {
    let heads = 0;
    for (let i = 0; i < buf.length; i++) {
      const c = buf[i];
      if (c === CR) state = state === 2 ? 3 : 1;
      else if (c === LF) {
        if (state === 3) {
          heads++;
          state = 0;
        } else state = state === 1 ? 2 : 0;
      } else state = 0;
    }
    if (heads > 0 && heads <= 64) sock.write(responses(heads));
    else if (heads > 64) for (let i = 0; i < heads; i++) sock.write(RESPONSE);
  });
  sock.on('error', () => {});
}

function echoConn(sock) {
  sock.setNoDelay(true);
  sock.on('error', () => {});
  sock.pipe(sock);
}

const CHUNK = Buffer.alloc(256 * 1024, 0x61);
function sourceConn(sock) {
  sock.on('error', () => {});
  let started = false;
  const pump = () => {
    // bounded: write until the socket buffers, resume on drain
    for (let i = 0; i < 64 && !sock.destroyed; i++) if (!sock.write(CHUNK)) return;
    if (!sock.destroyed) setImmediate(pump);
  };
  sock.on('drain', pump);
  sock.on('data', () => {
    if (started) return;
    started = true;
    pump();
  });
}

function listen(handler) {
  return new Promise((resolve) => {
    const s = net.createServer({ noDelay: true }, handler);
    s.maxConnections = 60_000;
    s.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => resolve(s));
  });
}

const servers = { http: await listen(httpConn), echo: await listen(echoConn), source: await listen(sourceConn) };
process.stdout.write(JSON.stringify(Object.fromEntries(Object.entries(servers).map(([k, s]) => [k, s.address().port]))) + '\n');
// the parent holds our stdin: when it goes (normally or not), so do we
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
