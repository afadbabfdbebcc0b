/**
 * What an HTTP server (forward or reverse proxy) does with a request its auth step refused, as g3 does:
 * `no_early_error_reply` closes without a word when the credentials are missing or wrong (the port does not
 * show what it is to clients without them); a blocked user, or a second failure in a row on one connection,
 * gets the error and a close; a first failure may keep the connection. A refusal that is not about the
 * credentials (a user ACL, a rate limit) means authentication itself passed.
 */
import type { AuthDenied } from '../../auth/server-auth.js';

export type AuthRefusal = 'silent' | 'close' | 'keep';

export class AuthFailureStreak {
  /** requests in a row refused for their credentials on this connection */
  private failures = 0;

  passed(): void {
    this.failures = 0;
  }

  /** `challengeStatus`: the status that means "credentials missing or wrong" (407 forward, 401 reverse). */
  refused(refused: AuthDenied, challengeStatus: number, noEarlyErrorReply: boolean): AuthRefusal {
    const blocked = refused.error.code === 'CLIENT_USER_BLOCKED';
    if (refused.status !== challengeStatus && !blocked) {
      this.failures = 0;
      return 'keep';
    }
    this.failures++;
    if (noEarlyErrorReply) return 'silent';
    return blocked || this.failures > 1 ? 'close' : 'keep';
  }
}
