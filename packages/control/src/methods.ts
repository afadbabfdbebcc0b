/**
 * The control RPC surface: every method the daemon answers in JSON mode, with its params and result.
 *
 * This is the one place the names and shapes live; the daemon implements `ControlHandlerTable`, sluice-ctl
 * and the testkit call through `ControlClient.call`. The methods restate g3proxy's ProcControl capnp
 * interface (and its per-object sub-interfaces) as flat names, plus a few sluice additions.
 */

/** What operations return on success; sluice-ctl prints it as `notice: success`, as g3proxy-ctl does. */
export const SUCCESS = 'success';
export type Success = typeof SUCCESS;

/** Object kinds as the RPC spells them (the CLI spells them with `-`: `user-group`). */
export const CONTROL_OBJECT_KINDS = ['user_group', 'resolver', 'auditor', 'escaper', 'server'] as const;
export type ControlObjectKind = (typeof CONTROL_OBJECT_KINDS)[number];

/** Resolver query strategies, spelled as in g3's config (`resolve_strategy: {query: Ipv4First}`). */
export const QUERY_STRATEGIES = ['Ipv4Only', 'Ipv4First', 'Ipv6Only', 'Ipv6First'] as const;
export type QueryStrategy = (typeof QUERY_STRATEGIES)[number];

/**
 * Accept the spellings operators type (`ipv4first`, `ipv4_first`, `Ipv4First`, `ipv4-first`) and return the
 * canonical one, or undefined when it is none of the four.
 */
export function parseQueryStrategy(text: string): QueryStrategy | undefined {
  const folded = text.toLowerCase().replace(/[-_]/g, '');
  return QUERY_STRATEGIES.find((s) => s.toLowerCase() === folded);
}

/** g3's default `resolution_delay` (ms) for a resolver query, also the CLI default. */
export const DEFAULT_RESOLUTION_DELAY_MS = 50;

export interface ServerStatus {
  online: boolean;
  alive_task_count: number;
  total_conn_count: number;
  total_task_count: number;
}

/** One bound listener (sluice addition, so tests that listen on port 0 can find the port). */
export interface ListenerInfo {
  /** server name */
  server: string;
  /** transport of the listening socket */
  type: 'tcp' | 'udp';
  /** bound IP address, as Node reports it (`127.0.0.1`, `::1`) */
  address: string;
  port: number;
}

export type ResolverQueryResult = { ip: string[] } | { err: string };

type NoParams = Record<string, never>;

/** Method name → params and result. */
export interface ControlMethods {
  version: { params: NoParams; result: string };
  /** graceful shutdown, as SIGTERM */
  offline: { params: NoParams; result: Success };
  /** abort a pending graceful shutdown (hot-upgrade successor failed to load) */
  cancel_shutdown: { params: NoParams; result: Success };
  list: { params: { kind: ControlObjectKind }; result: string[] };
  /** re-read one object from the config files */
  reload: { params: { kind: ControlObjectKind; name: string }; result: Success };
  server_status: { params: { name: string }; result: ServerStatus };
  /** sluice addition: bound addresses of one server's listeners, or of every server when name is absent */
  server_listeners: { params: { name?: string }; result: ListenerInfo[] };
  /** force quit the offline server(s) of that name and their tasks */
  force_quit: { params: { name: string }; result: Success };
  force_quit_all: { params: NoParams; result: Success };
  /** publish runtime data (a JSON document, as text) to a float escaper */
  escaper_publish: { params: { name: string; data: string }; result: Success };
  resolver_query: {
    params: { name: string; domain: string; strategy?: QueryStrategy; resolution_delay?: number };
    result: ResolverQueryResult;
  };
  user_group_list_static_user: { params: { name: string }; result: string[] };
  user_group_list_dynamic_user: { params: { name: string }; result: string[] };
  /** replace the group's dynamic users with the JSON array in `contents` */
  user_group_publish_user: { params: { name: string; contents: string }; result: Success };
  /** sluice addition: full config reload, as SIGHUP */
  reload_config: { params: NoParams; result: Success };
}

export type ControlMethodName = keyof ControlMethods;
export type ControlParams<M extends ControlMethodName> = ControlMethods[M]['params'];
export type ControlResult<M extends ControlMethodName> = ControlMethods[M]['result'];

/** Every method name, for code that needs the list at run time (help, checks that a table is complete). */
export const CONTROL_METHOD_NAMES = [
  'version', 'offline', 'cancel_shutdown', 'list', 'reload', 'server_status', 'server_listeners',
  'force_quit', 'force_quit_all', 'escaper_publish', 'resolver_query', 'user_group_list_static_user',
  'user_group_list_dynamic_user', 'user_group_publish_user', 'reload_config',
] as const satisfies readonly ControlMethodName[];

// Fails to compile if a method is added to ControlMethods but not to the list above.
type MissingFromList = Exclude<ControlMethodName, (typeof CONTROL_METHOD_NAMES)[number]>;
const listIsComplete: [MissingFromList] extends [never] ? true : never = true;
void listIsComplete;

/** The daemon's side: one function per method. Throw `ControlApiError` to choose the error code. */
export type ControlHandlerTable = {
  [M in ControlMethodName]: (params: ControlParams<M>) => ControlResult<M> | Promise<ControlResult<M>>;
};

/** What `ControlServer` accepts: any method names, loosely typed (a `ControlHandlerTable` fits). */
export type ControlHandlers = {
  // `any` so that typed tables with narrower params are assignable.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [method: string]: (params: any) => unknown;
};

/** Parameter list for a typed call: optional when the method takes no required params. */
export type ControlCallArgs<M extends ControlMethodName> =
  Record<string, never> extends ControlParams<M> ? [params?: ControlParams<M>] : [params: ControlParams<M>];
