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

export async function authorizeHttpProxyRequest(
  runtime: Runtime, conn: HttpProxyConnection, req: RequestHead, task: TaskContext, requestType: ProxyRequestType, upstream: Upstream,
): Promise<AuthDenied | null> {
  let proxyAuthorization: string | undefined;
  let userAgent: string | undefined;
  for (const h of req.headers) {
    if (h.lname === 'proxy-authorization') proxyAuthorization ??= h.value;
    else if (h.lname === 'user-agent') userAgent ??= h.value;
  }
  const r = await authorizeHttpRequest(runtime, conn.server.config.auth, task, {
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
  // the user's log_uri_max_chars replaces the server's
  if (!(r instanceof User)) return r;
  const max = r.config.logUriMaxChars;
  if (max !== undefined && task instanceof HttpForwardTask) task.uri = loggedUri(req.target, max);
  return null;
}
