/**
 * SOCKS5 username/password (RFC 1929) checking. The server asks an authenticator; with none it offers only
 * "no authentication". User groups plug in here by implementing SocksAuthenticator.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ClientInfo } from '../types.js';

export interface SocksAuthenticator {
  /** true when `username`/`password` may use the server; the username then goes to the task log as `user`. */
  authenticate(username: string, password: string, client: ClientInfo): Promise<boolean> | boolean;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** A fixed username → password table (programmatic only; not a config key). Compares in constant time. */
export class StaticSocksUsers implements SocksAuthenticator {
  private readonly users = new Map<string, Buffer>();
  constructor(users: ReadonlyMap<string, string> | Record<string, string>) {
    const entries = users instanceof Map ? [...users.entries()] : Object.entries(users);
    for (const [u, p] of entries) this.users.set(u, digest(p));
  }
  authenticate(username: string, password: string): boolean {
    const want = this.users.get(username);
    const got = digest(password);
    // compare even for an unknown user, so timing does not tell which usernames exist
    return timingSafeEqual(want ?? digest('\u0000no-such-user'), got) && want !== undefined;
  }
}
