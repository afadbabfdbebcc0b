/**
 * g3's username params as an egress choice: `user+label1=a+label2=b` names the next proxy host (the joined
 * values plus domain_suffix, with the server's http_port / socks5_port), which overrides the proxy escaper's
 * configured peer for this task (`task.egressPath.setUpstream(<server's escaper>, addr)`).
 */
import { SluiceError } from '@sluice/common';
import { EgressPathSelection } from '../escape/egress-path.js';
import type { TaskContext } from '../task/task.js';
import type { ServerAuthConfig } from './server-auth-config.js';

/** Returns the error to refuse the request with (bad params: 400 / SOCKS failure), or null. */
export function applyUsernameEgress(auth: ServerAuthConfig, rawUsername: string, protocol: 'http' | 'socks5', escaper: string | undefined, task: TaskContext): SluiceError | null {
  const p = auth.usernameParams;
  if (!p || !escaper || !rawUsername.includes('+')) return null;
  try {
    const ups = p.egressUpstream(rawUsername, protocol);
    if (ups) (task.egressPath ??= new EgressPathSelection()).setUpstream(escaper, ups.addr);
    return null;
  } catch (e) {
    return e instanceof SluiceError ? e : new SluiceError('CLIENT_PROTOCOL_INVALID', `bad username params: ${(e as Error).message}`);
  }
}
