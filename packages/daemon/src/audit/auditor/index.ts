/**
 * The auditor object: its config and its logger (`la-<name>`, Inspect and Intercept records). Servers name an
 * auditor with `auditor:`; a comply_audit escaper replaces it for the tasks it carries.
 */
import type { Logger } from '../../log/hub.js';
import type { ObjectTypeDef } from '../../runtime/object-def.js';
import type { Runtime } from '../../runtime/runtime.js';
import { StreamDumper } from '../stream-dump.js';
import { TlsInterceptor } from '../tls/index.js';
import type { Auditor } from '../types.js';
import { parseAuditor, type AuditorConfig } from './config.js';
import { auditorSchema } from './schema.js';

export class StreamAuditor implements Auditor<AuditorConfig> {
  readonly logName = 'Auditor';
  readonly log: Logger;
  /** TLS interception (one per auditor: it owns the cert agent's cache); null without tls_cert_agent */
  tls: TlsInterceptor | null;
  /** tls_stream_dump's socket; null when not set (or without TLS interception) */
  dumper: StreamDumper | null;

  constructor(public config: AuditorConfig, runtime: Runtime) {
    this.log = runtime.logs.forAuditor(config.name);
    this.tls = config.tls ? new TlsInterceptor(config.tls) : null;
    this.dumper = config.tls && config.tlsStreamDump ? new StreamDumper(config.tlsStreamDump) : null;
  }

  get name(): string {
    return this.config.name;
  }

  /** One draw of task_audit_ratio (or a user's ratio in its place). */
  static sample(ratio: number): boolean {
    return ratio >= 1 || (ratio > 0 && Math.random() < ratio);
  }

  reload(cfg: AuditorConfig): void {
    // running tasks keep the config they started with; new tasks see this one
    if (JSON.stringify(cfg.tls) !== JSON.stringify(this.config.tls)) {
      // interceptions in flight keep the interceptor they hold; its cert agent socket goes with the old one
      const old = this.tls;
      this.tls = cfg.tls ? new TlsInterceptor(cfg.tls) : null;
      if (old) setTimeout(() => old.close(), 30_000).unref();
    }
    if (JSON.stringify(cfg.tlsStreamDump) !== JSON.stringify(this.config.tlsStreamDump) || !cfg.tls !== !this.config.tls) {
      this.dumper?.close();
      this.dumper = cfg.tls && cfg.tlsStreamDump ? new StreamDumper(cfg.tlsStreamDump) : null;
    }
    this.config = cfg;
  }

  async close(): Promise<void> {
    this.destroy();
  }

  destroy(): void {
    this.tls?.close();
    this.tls = null;
    this.dumper?.close();
    this.dumper = null;
  }
}

export const auditorType: ObjectTypeDef<AuditorConfig, StreamAuditor> = {
  type: 'auditor',
  logName: 'Auditor',
  schema: auditorSchema,
  parse: parseAuditor,
  create: (cfg, runtime) => new StreamAuditor(cfg, runtime),
  diff: () => 'reload',
};

export type { AuditorConfig } from './config.js';
