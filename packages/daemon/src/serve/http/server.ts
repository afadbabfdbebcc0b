/**
 * What the HTTP/1 servers (http_proxy, http_rproxy) share beyond ListeningServer: their task bookkeeping (each
 * request is an HttpForward task counted in the server's stats and logged once) and the escaper they send by.
 */
import type { Escaper } from '../../escape/types.js';
import { HttpForwardTask } from '../../task/http-task.js';
import type { TaskContext } from '../../task/task.js';
import { finishTask } from '../../task/task-log.js';
import { ListeningServer, type ListeningServerConfig } from '../base-server.js';
import type { ClientInfo } from '../types.js';

export interface HttpServerConfig extends ListeningServerConfig {
  escaper: string;
}

export abstract class HttpServer<Cfg extends HttpServerConfig> extends ListeningServer<Cfg> {
  protected readonly warn = (m: string): void => this.runtime.plog.warn(`server ${this.name}: ${m}`);

  escaper(): Escaper {
    return this.runtime.escaper(this.config.escaper);
  }

  /** A task for a request on a client connection (or one refused before it could be read). */
  newHttpTask(c: { readonly info: ClientInfo }): HttpForwardTask {
    const t = new HttpForwardTask('HttpForward', this.name, this.logName, c.info.clientAddr, c.info.serverAddr);
    this.beginTask(t);
    return t;
  }

  beginTask(t: TaskContext): void {
    t.events = this.taskEvents;
    this.stats.taskTotal++;
    this.stats.taskAlive++;
  }

  endTask(t: TaskContext): void {
    if (finishTask(t, this.taskLogger)) this.stats.taskAlive--;
  }
}
