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

const DOC = `An auditor inspects the tunnels of the servers that name it (\`auditor:\` on http_proxy, socks_proxy,
tcp_stream, tls_stream, sni_proxy), or of the tasks a \`comply_audit\` escaper carries. Auditors have no \`type:\`.

Which tasks: without a user group on the server, the auditor's \`task_audit_ratio\` decides; with users, the
user's \`audit.enable_protocol_inspection\` must be true and the user's \`task_audit_ratio\` (else the
auditor's) decides (see [users.md](../users.md#audit)). A task that is not audited is relayed as if the server
had no auditor. A name that no auditor has gets, as in g3, an auditor with every default (inspection on g3's
portmaps, no TLS interception, ratio 1); \`sluice -t\` warns about it.

What happens to an audited tunnel, in g3's order:

1. Wait for the first bytes of either side (\`data0_wait_timeout\`; none: the task ends as Idle). The side that
   spoke first is read until its protocol is known: the client's first bytes for TLS, HTTP/1, HTTP/2 preface,
   SSH, SMPP, BitTorrent and the protocols the server port suggests (\`server_tcp_portmap\`, over g3's default map:
   DNS, LDAP, MQTT, STOMP, RTSP, RTMP...), the server's for SSH, FTP, NATS, BitTorrent and by port SMTP, POP3,
   IMAP, NNTP. When a server's first bytes fit no server-first protocol the client's bytes decide.
   \`data0_read_timeout\` passing gives \`_timeout\`, a full \`data0_buffer_size\` or no match \`_unknown\`.
2. One Inspect record (\`la-<auditor>\` logger; fields in [logs.md](../logs.md)).
3. \`_unknown\` / \`_timeout\`: closed (ForbiddenByRule) when the task's user prohibits it, else relayed.
   HTTP/1: intercepted (one HttpForward record per request; CONNECT and Upgrade inside start a new stream
   inspected one level deeper; websocket by \`websocket_inspect_policy\`). HTTP/2: \`h2_inspect_policy\`
   (intercept: HTTP/2 interception with H2 records; block: closed; bypass / detour: relayed). SMTP / IMAP:
   \`block\` answers 554 / \`* BYE\` and closes, otherwise relayed (sluice has no SMTP/IMAP interceptor).
   TLS (tls_modern) with \`tls_cert_agent\`: intercepted (TlsHandshake record), the cleartext goes back to step 1
   one level deeper, or straight to HTTP/1 or HTTP/2 by the ALPN both sides agreed on (source \`tls alpn\`); h2 is
   not offered when \`h2_inspect_policy\` blocks it. Everything else is relayed as is.
4. Past \`inspect_max_depth\` levels a stream is treated as \`_unknown\`.

The task log of the tunnel keeps its byte counts (wire bytes, TLS included). ICAP, stream detour and SMTP/IMAP
interception are not implemented: setting them fails the config check.`;

export const auditorType: ObjectTypeDef<AuditorConfig, StreamAuditor> = {
  type: 'auditor',
  logName: 'Auditor',
  doc: DOC,
  schema: auditorSchema,
  parse: parseAuditor,
  create: (cfg, runtime) => new StreamAuditor(cfg, runtime),
  diff: () => 'reload',
};

export type { AuditorConfig } from './config.js';
