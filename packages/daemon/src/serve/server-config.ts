/** Parsing of the keys every listening server shares (listen, ingress filter, idle checks). */
import { parseDuration, parseListen, parseNetworkAcl } from '@sluice/common';
import type { ParseContext } from '../runtime/object-def.js';
import { g3, int } from '../runtime/schema-util.js';
import type { ListeningServerConfig } from './base-server.js';

export const listeningServerFields = {
  listen: g3('listen', 'Address to listen on: a port, `ip:port`, `$ENV`, or a map (address, backlog, ipv6_only, ...).'),
  ingress_network_filter: g3('network_acl_ingress', 'Which client addresses may connect (127.0.0.1 and ::1 are always allowed).'),
  task_idle_check_interval: g3('duration', 'How often a relaying task is checked for idleness (default 60s, 2s..30min).'),
  task_idle_max_count: int('A task with no traffic for this many checks in a row is closed as Idle (default 5).', { minimum: 1 }),
};

export const listeningServerAliases = { ingress_net_filter: 'ingress_network_filter' };

export function parseListeningServerBase(v: Record<string, unknown>, ctx: ParseContext, type: string): ListeningServerConfig {
  const listen = v.listen === undefined ? undefined : parseListen(v.listen);
  const idleCheckIntervalMs = v.task_idle_check_interval === undefined ? 60_000 : parseDuration(v.task_idle_check_interval);
  if (idleCheckIntervalMs < 2000 || idleCheckIntervalMs > 1_800_000) {
    ctx.fail(['task_idle_check_interval'], 'must be between 2s and 30min');
  }
  return {
    name: v.name as string,
    type,
    raw: v,
    baseDir: ctx.baseDir,
    listen: listen ? { host: listen.host, port: listen.port, backlog: listen.backlog, ipv6Only: listen.ipv6Only } : undefined,
    ingress: v.ingress_network_filter === undefined ? undefined : parseNetworkAcl(v.ingress_network_filter, 'ingress'),
    idleCheckIntervalMs,
    idleMaxCount: (v.task_idle_max_count as number | undefined) ?? 5,
  };
}
