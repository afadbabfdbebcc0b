/** `dummy_deny`: refuses every task. Also the stand-in for an escaper name that does not exist. */
import { SluiceError } from '@sluice/common';
import type { BaseConfig, ObjectTypeDef } from '../../runtime/object-def.js';
import { commonEscaperFields, objectSchema } from '../../runtime/schema-util.js';
import type { TaskContext } from '../../task/task.js';
import { newEscaperStats, type Escaper } from '../types.js';

export class DummyDenyEscaper implements Escaper {
  readonly logName = 'DummyDeny';
  readonly stats = newEscaperStats();
  constructor(public config: BaseConfig, private readonly why = 'escaper is dummy_deny') {}
  get name(): string {
    return this.config.name;
  }
  private deny(task: TaskContext): Promise<never> {
    this.stats.taskTotal++;
    task.escaper ??= this.name;
    return Promise.reject(new SluiceError('ESCAPER_NOT_USABLE', `${this.name}: ${this.why}`));
  }
  tcpConnect(task: TaskContext): Promise<never> {
    return this.deny(task);
  }
  httpForwardConnect(task: TaskContext): Promise<never> {
    return this.deny(task);
  }
  udpSetupConnection(task: TaskContext): Promise<never> {
    return this.deny(task);
  }
  udpSetupRelay(task: TaskContext): Promise<never> {
    return this.deny(task);
  }
  reload(cfg: BaseConfig): void {
    this.config = cfg;
  }
  async close(): Promise<void> {}
  destroy(): void {}
}

export const dummyDenyType: ObjectTypeDef<BaseConfig, DummyDenyEscaper> = {
  type: 'dummy_deny',
  logName: 'DummyDeny',
  schema: objectSchema(['dummy_deny'], { ...commonEscaperFields }),
  parse: (v, ctx) => Object.freeze({ name: v.name as string, type: 'dummy_deny', raw: v, baseDir: ctx.baseDir }),
  create: (cfg) => new DummyDenyEscaper(cfg),
};
