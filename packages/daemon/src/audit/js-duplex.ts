/**
 * A plain JS Duplex in front of a socket. node:http2 cannot run a session on a TLSSocket that was made in
 * server mode over an existing socket (what TLS interception hands out): it consumes the socket's native
 * handle and never sees the decrypted bytes. Behind a JS Duplex it reads through the stream API instead.
 */
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';

export function jsDuplex(sock: Socket): Duplex {
  const d = new Duplex({
    read() {
      sock.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      sock.write(chunk, cb);
    },
    final(cb) {
      sock.end();
      cb();
    },
    destroy(err, cb) {
      sock.destroy();
      cb(err);
    },
  });
  sock.on('data', (chunk: Buffer) => {
    if (!d.push(chunk)) sock.pause();
  });
  sock.on('end', () => d.push(null));
  sock.on('error', (e) => d.destroy(e));
  sock.on('close', () => {
    if (!d.destroyed) d.destroy();
  });
  return d;
}
