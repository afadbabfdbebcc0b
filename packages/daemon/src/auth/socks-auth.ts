/**
 * The socks_proxy server's side of user groups: the RFC 1929 login (username params stripped, the user
 * remembered for the connection) and the per-command check. The user is kept by the connection's
 * ClientInfo object, which lives exactly as long as the connection.
 */
import { applyUsernameEgress } from './username-egress.js';
import type { Socket } from 'node:net';
import type { ProxyRequestType, SluiceError } from '@sluice/common';
import type { Runtime } from '../runtime/runtime.js';
import type { ClientInfo } from '../serve/types.js';
import type { TaskContext, Upstream } from '../task/task.js';
import type { ServerAuthConfig } from './server-auth-config.js';
import { authenticateUser, authorizeTask } from './server-auth.js';
import type { User } from './user.js';

const socksUsers = new WeakMap<ClientInfo, { user: User; params: ReadonlyMap<string, string> | undefined; raw: string; auth: ServerAuthConfig }>();

/** RFC 1929 check against the server's user group; true lets the client on. */
export async function socksLogin(runtime: Runtime, auth: ServerAuthConfig, username: string, password: string, client: ClientInfo): Promise<boolean> {
  let name = username;
  let params: Map<string, string> | undefined;
  if (auth.usernameParams && username.includes('+')) {
    name = auth.usernameParams.realUsername(username);
    params = new Map();
    for (const seg of username.slice(username.indexOf('+') + 1).split('+')) {
      const eq = seg.indexOf('=');
      if (eq > 0) params.set(seg.slice(0, eq), seg.slice(eq + 1));
    }
  }
  const r = await authenticateUser(runtime, auth.userGroup, name, password, client);
  if (!r.ok) return false;
  socksUsers.set(client, { user: r.user, params, raw: username, auth });
  return true;
}

/**
 * May the user who logged in on this connection run this command? null when allowed, or when the
 * connection has no user (the server does not authenticate). Denials carry SOCKS reply X'02'.
 */
export async function authorizeSocksTask(
  serverName: string, client: ClientInfo, task: TaskContext, requestType: ProxyRequestType, upstream: Upstream | undefined, clientSocket: Socket,
  escaper?: string,
): Promise<SluiceError | null> {
  const login = socksUsers.get(client);
  if (!login) return null;
  task.usernameParams = login.params;
  const bad = applyUsernameEgress(login.auth, login.raw, 'socks5', escaper, task);
  if (bad) return bad;
  return authorizeTask(login.user, task, { serverName, requestType, clientIp: client.clientIp, upstream, newConnection: true, clientSocket });
}

/** The user who logged in on this SOCKS connection, if the server authenticates. */
export function socksUserOf(client: ClientInfo): User | undefined {
  return socksUsers.get(client)?.user;
}
