/**
 * The `facts` user group: besides name/password users (as basic), a user can be picked by what is known
 * of the connection — the client IP (`ip`, `net`) or the server name the client asked for (`domain`,
 * `child-domain`) — through the users' `match_by_facts`. Used by servers that have no credentials to read
 * (transparent and stream servers' `auth_by_*`).
 */
import { isForbidden } from '@sluice/common';
import { BasicUserGroup } from '../group.js';
import type { User } from '../user.js';

export class FactsUserGroup extends BasicUserGroup {
  /**
   * The first user (static users first, in config order) one of whose facts matches. Exact IP and exact
   * domain facts are tried before networks and parent domains, so a specific rule beats a broad one.
   */
  matchFacts(clientIp: string | undefined, domain: string | undefined): User | undefined {
    const d = domain?.toLowerCase().replace(/\.$/, '');
    const users = [...this.users()];
    for (const u of users) {
      for (const f of u.config.matchByFacts) {
        if (f.kind === 'ip' && clientIp !== undefined && f.ip === clientIp) return u;
        if (f.kind === 'exact_domain' && d !== undefined && f.domain === d) return u;
      }
    }
    for (const u of users) {
      for (const f of u.config.matchByFacts) {
        if (f.kind === 'net' && clientIp !== undefined && f.acl.lookup(clientIp) !== undefined && !isForbidden(f.acl.lookup(clientIp)!)) return u;
        if (f.kind === 'child_domain' && d !== undefined && d.endsWith(`.${f.domain}`)) return u;
      }
    }
    return undefined;
  }
}
