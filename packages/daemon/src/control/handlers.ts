/** What the daemon answers on its control socket (sluice-ctl and g3proxy-ctl's command set). */
import type { Daemon } from '../daemon.js';
import type { BasicUserGroup } from '../auth/group.js';
import type { Server } from '../serve/types.js';
import type { RoleName } from '../runtime/object-def.js';

const KIND_TO_ROLE: Record<string, RoleName> = {
  user_group: 'user_group', 'user-group': 'user_group', usergroup: 'user_group',
  resolver: 'resolver', auditor: 'auditor', escaper: 'escaper', server: 'server',
};

function role(kind: unknown): RoleName {
  const r = KIND_TO_ROLE[String(kind ?? '').toLowerCase()];
  if (!r) throw new Error(`unknown kind '${String(kind)}' (user_group, resolver, auditor, escaper, server)`);
  return r;
}

function serverNamed(d: Daemon, name: unknown): Server {
  const s = d.runtime.server(String(name));
  if (!s) throw new Error(`no server named '${String(name)}'`);
  return s;
}

function userGroupNamed(d: Daemon, name: unknown): BasicUserGroup {
  const g = d.runtime.gen?.maps.user_group.get(String(name)) as BasicUserGroup | undefined;
  if (!g) throw new Error(`no user group named '${String(name)}'`);
  return g;
}

export function controlHandlers(d: Daemon): Record<string, (params: any) => unknown> {
  return {
    version: () => d.version,
    list: (p: { kind: string }) => d.runtime.objects(role(p.kind)).map((o) => o.name).sort(),
    server_status: (p: { name: string }) => {
      const s = serverNamed(d, p.name);
      return {
        online: s.online,
        alive_task_count: s.stats.taskAlive,
        total_conn_count: s.stats.connTotal,
        total_task_count: s.stats.taskTotal,
      };
    },
    server_listeners: (p: { name?: string }) => {
      const servers = p?.name ? [serverNamed(d, p.name)] : d.runtime.servers();
      return servers.flatMap((s) => s.listening().map((a) => ({ server: s.name, type: 'tcp', address: a.address, port: a.port })));
    },
    reload: async (p: { kind: string; name: string }) => {
      await d.reloadObject(role(p.kind), String(p.name));
      return 'success';
    },
    reload_config: async () => {
      await d.reload();
      return 'success';
    },
    offline: () => {
      void d.offline();
      return 'success';
    },
    cancel_shutdown: () => {
      throw new Error('no graceful shutdown is waiting for a successor');
    },
    force_quit: (p: { name: string }) => {
      serverNamed(d, p.name).destroy();
      return 'success';
    },
    force_quit_all: () => {
      for (const s of d.runtime.servers()) if (!s.online) s.destroy();
      return 'success';
    },
    escaper_publish: async (p: { name: string; data: unknown }) => {
      const e = d.runtime.gen?.maps.escaper.get(String(p.name)) as import('../escape/types.js').Escaper | undefined;
      if (!e) throw new Error(`no escaper named '${String(p.name)}'`);
      if (!e.publish) throw new Error(`escaper '${String(p.name)}' (${e.logName}) does not take published data`);
      // the data may arrive as JSON text (g3proxy-ctl sends a string) or already parsed
      await e.publish(typeof p.data === 'string' ? JSON.parse(p.data) : p.data);
      return 'success';
    },
    user_group_list_static_user: (p: { name: string }) => userGroupNamed(d, p.name).listStatic(),
    user_group_list_dynamic_user: (p: { name: string }) => userGroupNamed(d, p.name).listDynamic(),
    user_group_publish_user: async (p: { name: string; contents: string }) => {
      await userGroupNamed(d, p.name).publish(String(p.contents ?? ''));
      return 'success';
    },
    resolver_query: async (p: { name: string; domain: string; strategy?: string }) => {
      const r = d.runtime.gen?.maps.resolver.get(String(p.name));
      if (!r) throw new Error(`no resolver named '${String(p.name)}'`);
      const res = r as unknown as import('../resolve/types.js').Resolver;
      // g3 spells these Ipv4Only, ipv4_only or ipv4-only alike
      const strategy = String(p.strategy ?? 'ipv4first').toLowerCase().replace(/[-_]/g, '');
      const fams: Array<4 | 6> = strategy === 'ipv4only' ? [4] : strategy === 'ipv6only' ? [6] : strategy === 'ipv6first' ? [6, 4] : [4, 6];
      const ips: string[] = [];
      let err: string | undefined;
      for (const f of fams) {
        try {
          ips.push(...(await res.resolveFamily(String(p.domain), f)));
        } catch (e) {
          err = (e as Error).message;
        }
      }
      return ips.length ? { ip: ips } : { err: err ?? 'no address found' };
    },
  };
}
