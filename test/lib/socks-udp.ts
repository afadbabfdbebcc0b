/**
 * SOCKS5 UDP ASSOCIATE with the `socks` package (its event API: createConnection is for CONNECT only), shared
 * by the suites that send datagrams through a socks_proxy.
 */
import type { Socket } from 'node:net';
import { SocksClient } from 'socks';

/**
 * Associate through the SOCKS5 server on 127.0.0.1:`port` (username/password when `user` is given). Resolves with
 * the control connection and the relay's UDP port; rejects with the socks package's error (the reply code is in
 * its message).
 */
export function socksUdpAssociate(port: number, user?: { id: string; password: string }): Promise<{ control: Socket; relayPort: number }> {
  return new Promise((resolve, reject) => {
    const c = new SocksClient({
      proxy: { host: '127.0.0.1', port, type: 5, ...(user ? { userId: user.id, password: user.password } : {}) },
      command: 'associate',
      destination: { host: '0.0.0.0', port: 0 },
      timeout: 5000,
    });
    c.once('established', (info: { socket: Socket; remoteHost?: { port: number } }) => {
      if (!info.remoteHost) return reject(new Error('UDP ASSOCIATE reply without a relay address'));
      resolve({ control: info.socket, relayPort: info.remoteHost.port });
    });
    c.once('error', reject);
    c.connect();
  });
}
