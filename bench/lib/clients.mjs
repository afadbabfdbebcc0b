// Load generators that run in the bench process (on the load core): tunnel openers for HTTP CONNECT and
// SOCKS5, a new-tunnel rate loop, a bulk download, and a pool of idle tunnels. Every loop is bounded by a
// deadline and a count; every socket operation by a timeout.
import net from 'node:net';

const OP_TIMEOUT_MS = 10_000;

/**
 * How to reach 127.0.0.1:dstPort:
 *   { kind: 'direct' } | { kind: 'connect', port, auth? } | { kind: 'socks5', port }
 */
export function describeVia(via) {
  return via.kind === 'direct' ? 'direct' : `${via.kind}:${via.port}`;
}

/** Read from `sock` until `done(buffer)` returns a result (not undefined); resolves with it. */
function readUntil(sock, done) {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => fail(new Error('handshake timeout')), OP_TIMEOUT_MS);
    const cleanup = () => {
      clearTimeout(timer);
      sock.off('data', onData);
      sock.off('error', fail);
      sock.off('close', onClose);
    };
    const fail = (e) => {
      cleanup();
      reject(e);
    };
    const onClose = () => fail(new Error('closed during handshake'));
    const onData = (d) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      let r;
      try {
        r = done(buf);
      } catch (e) {
        return fail(e);
      }
      if (r !== undefined) {
        cleanup();
        resolve(r);
      }
    };
    sock.on('data', onData);
    sock.once('error', fail);
    sock.once('close', onClose);
  });
}

function connectTcp(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', noDelay: true });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('connect timeout'));
    }, OP_TIMEOUT_MS);
    s.once('connect', () => {
      clearTimeout(timer);
      s.off('error', onErr);
      resolve(s);
    });
    const onErr = (e) => {
      clearTimeout(timer);
      reject(e);
    };
    s.once('error', onErr);
  });
}

const HEAD_END = Buffer.from('\r\n\r\n');

/** A socket whose bytes reach 127.0.0.1:dstPort through `via`, handshake done. */
export async function openTunnel(via, dstPort) {
  if (via.kind === 'direct') return connectTcp(dstPort);
  const sock = await connectTcp(via.port);
  try {
    if (via.kind === 'connect') {
      const auth = via.auth ? `Proxy-Authorization: Basic ${Buffer.from(via.auth).toString('base64')}\r\n` : '';
      sock.write(`CONNECT 127.0.0.1:${dstPort} HTTP/1.1\r\nHost: 127.0.0.1:${dstPort}\r\n${auth}\r\n`);
      await readUntil(sock, (b) => {
        const end = b.indexOf(HEAD_END);
        if (end < 0) return undefined;
        if (!/^HTTP\/1\.[01] 200/.test(b.toString('latin1', 0, 12))) throw new Error(`CONNECT refused: ${b.toString('latin1', 0, Math.min(end, 80))}`);
        if (end + 4 !== b.length) throw new Error('bytes after the CONNECT reply');
        return true;
      });
    } else if (via.kind === 'socks5') {
      // one round trip per step: microsocks and dante read the greeting and the request separately
      sock.write(Buffer.from([5, 1, 0]));
      await readUntil(sock, (b) => {
        if (b.length < 2) return undefined;
        if (b[0] !== 5 || b[1] !== 0) throw new Error(`SOCKS5 method refused: ${b.toString('hex')}`);
        return true;
      });
      sock.write(Buffer.from([5, 1, 0, 1, 127, 0, 0, 1, dstPort >> 8, dstPort & 0xff]));
      await readUntil(sock, (b) => {
        if (b.length < 2) return undefined;
        if (b[1] !== 0) throw new Error(`SOCKS5 reply ${b[1]}`);
        // IPv4 bound address is 10 bytes; a domain or IPv6 one is longer
        const need = b[3] === 1 ? 10 : b[3] === 4 ? 22 : b[3] === 3 && b.length > 4 ? 7 + b[4] : Infinity;
        if (b.length < need) return undefined;
        if (b.length > need) throw new Error('bytes after the SOCKS5 reply');
        return true;
      });
    } else throw new Error(`unknown via ${via.kind}`);
    return sock;
  } catch (e) {
    sock.destroy();
    throw e;
  }
}

const ONE = Buffer.from('x');

/** Send one byte and wait for it to come back. */
async function echoOne(sock) {
  sock.write(ONE);
  await readUntil(sock, (b) => (b.length >= 1 ? true : undefined));
}

/**
 * New tunnels per second: `concurrency` loops each open a tunnel, echo one byte, and close, until
 * `seconds` pass or `maxOps` tunnels were made. Returns { ops, errors, seconds, firstError }.
 */
export async function tunnelRate(via, echoPort, { seconds, concurrency = 32, maxOps = 2_000_000 }) {
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let ops = 0;
  let errors = 0;
  let firstError;
  const loop = async () => {
    while (performance.now() < deadline && ops + errors < maxOps) {
      try {
        const s = await openTunnel(via, echoPort);
        await echoOne(s);
        s.end();
        s.on('error', () => {});
        ops++;
      } catch (e) {
        errors++;
        firstError ??= e.message;
        if (errors > 1000) return; // a broken peer: stop hammering it
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return { ops, errors, seconds: (performance.now() - start) / 1000, firstError };
}

/**
 * Bulk download through `streams` tunnels from the source origin for `seconds`.
 * Returns { bytes, seconds }.
 */
export async function bulkDownload(via, sourcePort, { seconds, streams = 4 }) {
  const socks = await Promise.all(Array.from({ length: streams }, () => openTunnel(via, sourcePort)));
  let bytes = 0;
  const start = performance.now();
  for (const s of socks) {
    s.on('data', (d) => (bytes += d.length));
    s.on('error', () => {});
    s.write(ONE);
  }
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const got = bytes;
  const elapsed = (performance.now() - start) / 1000;
  for (const s of socks) s.destroy();
  return { bytes: got, seconds: elapsed };
}

/**
 * Open `count` tunnels to the echo origin (each proven with a 1-byte echo) and keep them open.
 * Returns { sockets, opened, errors, firstError, seconds }; the caller closes them with closeAll().
 */
export async function openIdle(via, echoPort, { count, concurrency = 100, seconds = 60 }) {
  const sockets = [];
  const deadline = performance.now() + seconds * 1000;
  const start = performance.now();
  let next = 0;
  let errors = 0;
  let firstError;
  const loop = async () => {
    while (next < count && performance.now() < deadline && errors < 200) {
      next++;
      try {
        const s = await openTunnel(via, echoPort);
        s.on('error', () => {});
        await echoOne(s);
        sockets.push(s);
      } catch (e) {
        errors++;
        firstError ??= e.message;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return { sockets, opened: sockets.length, errors, firstError, seconds: (performance.now() - start) / 1000 };
}

export async function closeAll(sockets) {
  for (const s of sockets) s.destroy();
  await new Promise((r) => setTimeout(r, 500));
}
