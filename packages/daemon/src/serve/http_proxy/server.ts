/** The `http_proxy` server: an HTTP/1.x forward proxy (absolute-form forwarding and CONNECT tunnels). */
import type { Socket } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { isForbidden, SluiceError, type ProxyRequestType } from '@sluice/common';
import type { RequestHead } from '@sluice/protocol';
import { authorizeHttpProxyRequest } from '../../auth/http-proxy-auth.js';
import type { AuthDenied } from '../../auth/server-auth.js';
import type { Escaper } from '../../escape/types.js';
import { HttpForwardTask } from '../../task/http-task.js';
import type { TaskContext, Upstream } from '../../task/task.js';
import { finishTask } from '../../task/task-log.js';
import { ListeningServer } from '../base-server.js';
import type { ClientInfo } from '../types.js';
import type { HttpProxyConfig } from './config.js';
import { HttpProxyConnection } from './connection.js';

export class HttpProxyServer extends ListeningServer<HttpProxyConfig> {
  readonly logName = 'HttpProxy';

  acceptSocket(socket: Socket, info: ClientInfo): void {
    this.stats.connTotal++;
    const c = new HttpProxyConnection(this, socket, info);
    this.track(c);
    c.start();
  }

  connectionClosed(c: HttpProxyConnection): void {
    this.untrack(c);
  }

  escaper(): Escaper {
    return this.runtime.escaper(this.config.escaper);
  }

  /** TLS client options for https forwarding. */
  tlsClient(): ConnectionOptions {
    return {};
  }

  newHttpTask(c: HttpProxyConnection): HttpForwardTask {
    const t = new HttpForwardTask('HttpForward', this.name, this.logName, c.info.clientAddr, c.info.serverAddr);
    this.beginTask(t);
    return t;
  }

  beginTask(_t: TaskContext): void {
    this.stats.taskTotal++;
    this.stats.taskAlive++;
  }

  endTask(t: TaskContext): void {
    if (finishTask(t, this.runtime.logs.task)) this.stats.taskAlive--;
  }

  /** The user auth step (auth/ owns it): null when the request may go on. */
  authorize(c: HttpProxyConnection, req: RequestHead, task: TaskContext, type: ProxyRequestType, upstream: Upstream): Promise<AuthDenied | null> {
    return authorizeHttpProxyRequest(this.runtime, c, req, task, type, upstream);
  }

  /** The server's destination filters; returns the error to answer with, or null when allowed. */
  checkDestination(u: Upstream): SluiceError | null {
    const c = this.config;
    if (c.dstPorts && isForbidden(c.dstPorts.check(u.port))) {
      this.stats.forbiddenDestDenied++;
      return new SluiceError('FORBIDDEN_DESTINATION', `port ${u.port} is forbidden by dst_port_filter`);
    }
    if (c.dstHosts && isForbidden(c.dstHosts.check(u.host))) {
      this.stats.forbiddenDestDenied++;
      return new SluiceError('FORBIDDEN_DESTINATION', `host ${u.host} is forbidden by dst_host_filter_set`);
    }
    return null;
  }
}
