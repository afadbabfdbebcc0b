/** The http_proxy server's auth step: read the request's credentials and hand them to server-auth. */
import type { ProxyRequestType } from '@sluice/common';
import type { RequestHead } from '@sluice/protocol';
import type { Runtime } from '../runtime/runtime.js';
import type { HttpProxyConnection } from '../serve/http_proxy/connection.js';
import { loggedUri } from '../serve/http_proxy/forward.js';
import { HttpForwardTask } from '../task/http-task.js';
import type { TaskContext, Upstream } from '../task/task.js';
import { authorizeHttpRequest, type AuthDenied } from './server-auth.js';
import { User } from './user.js';

/**
 * Returns null when the request may go on, else what to answer. Synchronous for a keep-alive request whose
 * credentials this connection already verified (no promise per request); a promise only when a password is
 * checked or a blocked user's answer waits.
 */
export function authorizeHttpProxyRequest(
  runtime: Runtime, conn: HttpProxyConnection, req: RequestHead, task: TaskContext, requestType: ProxyRequestType, upstream: Upstream,
): AuthDenied | null | Promise<AuthDenied | null> {
  let proxyAuthorization: string | undefined;
  let userAgent: string | undefined;
  for (const h of req.headers) {
    if (h.lname === 'proxy-authorization') proxyAuthorization ??= h.value;
    else if (h.lname === 'user-agent') userAgent ??= h.value;
  }
  const r = authorizeHttpRequest(runtime, conn.server.config.auth, task, {
    serverName: conn.server.name,
    requestType,
    clientIp: conn.info.clientIp,
    upstream,
    userAgent,
    newConnection: conn.requestCount === 1,
    clientSocket: conn.socket,
    connection: conn,
    proxyAuthorization,
  });
  return r instanceof Promise ? r.then((a) => afterAuth(a, req, task)) : afterAuth(r, req, task);
}

function afterAuth(r: User | AuthDenied, req: RequestHead, task: TaskContext): AuthDenied | null {
  if (!(r instanceof User)) return r;
  // the user's log_uri_max_chars replaces the server's
  const max = r.config.logUriMaxChars;
  if (max !== undefined && task instanceof HttpForwardTask) task.uri = loggedUri(req.target, max);
  return null;
}
