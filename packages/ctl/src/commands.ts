/**
 * sluice-ctl's commands: the one table mapping g3proxy-ctl's command line onto control methods, and how
 * each result is printed. Object commands (`server <name> status`) are keyed as `server status`.
 */
import { readFile } from 'node:fs/promises';
import type { ParseArgsConfig } from 'node:util';

import {
  API_ERROR_CODE,
  ControlApiError,
  ControlRpcError,
  DEFAULT_RESOLUTION_DELAY_MS,
  parseQueryStrategy,
  QUERY_STRATEGIES,
  type ControlMethodName,
  type ControlObjectKind,
  type ControlParams,
  type ControlResult,
} from '@sluice/control';

import { CliError, UsageError } from './errors.js';

/** What a command's parser sees after the command words. */
export interface CommandInput {
  /** the object name of an object command (`server <name> ...`), else '' */
  name: string;
  positionals: string[];
  values: Record<string, string | boolean | Array<string | boolean> | undefined>;
}

export interface CommandDef {
  /** shown in help, after `sluice-ctl [options]` */
  usage: string;
  summary: string;
  method: ControlMethodName;
  /** names of the positionals after the command words; a trailing `?` marks an optional one */
  args: readonly string[];
  options?: ParseArgsConfig['options'];
  params(input: CommandInput): object | Promise<object>;
  /** stdout lines for the result */
  print(result: unknown): string[];
}

interface TypedCommandDef<M extends ControlMethodName> {
  usage: string;
  summary: string;
  method: M;
  args?: readonly string[];
  options?: ParseArgsConfig['options'];
  params?(input: CommandInput): ControlParams<M> | Promise<ControlParams<M>>;
  print(result: ControlResult<M>): string[];
}

/** Type-check one entry against its method, then store it type-erased in the table. */
function command<M extends ControlMethodName>(def: TypedCommandDef<M>): CommandDef {
  return {
    usage: def.usage,
    summary: def.summary,
    method: def.method,
    args: def.args ?? [],
    ...(def.options === undefined ? {} : { options: def.options }),
    params: def.params ?? (() => ({})),
    print: def.print as (result: unknown) => string[],
  };
}

// ---- printers: the daemon is trusted for meaning, not for shape --------------------------------------------

function unexpected(result: unknown): ControlRpcError {
  const text = JSON.stringify(result) ?? String(result);
  return new ControlRpcError(`unexpected result from daemon: ${text.length > 200 ? `${text.slice(0, 200)}...` : text}`);
}

/** Operations: g3proxy-ctl prints the OperationResult text as a notice. */
function printNotice(result: unknown): string[] {
  if (typeof result !== 'string') throw unexpected(result);
  return [`notice: ${result}`];
}

function printText(result: unknown): string[] {
  if (typeof result !== 'string') throw unexpected(result);
  return [result];
}

function printList(result: unknown): string[] {
  if (!Array.isArray(result) || !result.every((v) => typeof v === 'string')) throw unexpected(result);
  return result;
}

function printServerStatus(status: ControlResult<'server_status'>): string[] {
  if (typeof status !== 'object' || status === null) throw unexpected(status);
  return [
    `online: ${status.online}`,
    `alive tasks: ${status.alive_task_count}`,
    `total conn: ${status.total_conn_count}`,
    `total task: ${status.total_task_count}`,
  ];
}

function printListeners(listeners: ControlResult<'server_listeners'>): string[] {
  if (!Array.isArray(listeners)) throw unexpected(listeners);
  return listeners.map((l) => {
    if (typeof l !== 'object' || l === null || typeof l.address !== 'string') throw unexpected(listeners);
    const host = l.address.includes(':') ? `[${l.address}]` : l.address;
    return `${l.type} ${host}:${l.port}`;
  });
}

function printQueryResult(result: ControlResult<'resolver_query'>): string[] {
  if (typeof result !== 'object' || result === null) throw unexpected(result);
  if ('err' in result) throw new ControlApiError(API_ERROR_CODE, result.err);
  return printList(result.ip);
}

// ---- parsers ----------------------------------------------------------------------------------------------

/** CLI spelling of the object kinds (`user-group`), case-insensitive as in g3proxy-ctl. */
const CLI_KINDS: Record<string, ControlObjectKind> = {
  'user-group': 'user_group',
  resolver: 'resolver',
  auditor: 'auditor',
  escaper: 'escaper',
  server: 'server',
};

function parseKind(text: string): ControlObjectKind {
  const kind = CLI_KINDS[text.toLowerCase().replace(/_/g, '-')];
  if (kind === undefined) {
    throw new UsageError(`invalid kind '${text}', expected one of: ${Object.keys(CLI_KINDS).join(', ')}`);
  }
  return kind;
}

/** Read a JSON document and check it parses: g3proxy-ctl validates before sending. */
async function readJsonFile(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError(`failed to read contents of file ${file}: ${(err as Error).message}`);
  }
  return checkJson(text);
}

function checkJson(text: string): string {
  try {
    JSON.parse(text);
  } catch (err) {
    throw new CliError(`the data to publish is not valid json: ${(err as Error).message}`);
  }
  return text;
}

function reloadCommand(cliKind: string, kind: ControlObjectKind): CommandDef {
  return command({
    usage: `reload-${cliKind} <name>`,
    summary: `reload ${cliKind.replace('-', ' ')} <name> from the config files`,
    method: 'reload',
    args: ['name'],
    params: ({ positionals }) => ({ kind, name: positionals[0]! }),
    print: printNotice,
  });
}

function userListCommand(sub: string, method: 'user_group_list_static_user' | 'user_group_list_dynamic_user', what: string): CommandDef {
  return command({
    usage: `user-group <name> ${sub}`,
    summary: `list the ${what} users of a user group`,
    method,
    params: ({ name }) => ({ name }),
    print: printList,
  });
}

// ---- the table --------------------------------------------------------------------------------------------

/** Commands that address a named object: `<command> <name> <subcommand> ...`. */
export const OBJECT_COMMANDS = ['server', 'escaper', 'resolver', 'user-group'] as const;

export const COMMANDS: Readonly<Record<string, CommandDef>> = {
  version: command({ usage: 'version', summary: 'print the daemon version', method: 'version', print: printText }),
  offline: command({
    usage: 'offline',
    summary: 'put the daemon into offline mode (graceful shutdown, as SIGTERM)',
    method: 'offline',
    print: printNotice,
  }),
  'cancel-shutdown': command({
    usage: 'cancel-shutdown',
    summary: 'cancel a pending graceful shutdown',
    method: 'cancel_shutdown',
    print: printNotice,
  }),
  reload: command({
    usage: 'reload',
    summary: 'reload the whole configuration, as SIGHUP (sluice)',
    method: 'reload_config',
    print: printNotice,
  }),
  list: command({
    usage: 'list <user-group|resolver|auditor|escaper|server>',
    summary: 'list the names of loaded objects of a kind',
    method: 'list',
    args: ['kind'],
    params: ({ positionals }) => ({ kind: parseKind(positionals[0]!) }),
    print: printList,
  }),
  'reload-user-group': reloadCommand('user-group', 'user_group'),
  'reload-resolver': reloadCommand('resolver', 'resolver'),
  'reload-auditor': reloadCommand('auditor', 'auditor'),
  'reload-escaper': reloadCommand('escaper', 'escaper'),
  'reload-server': reloadCommand('server', 'server'),
  'force-quit': command({
    usage: 'force-quit <server>',
    summary: 'force quit the offline server of that name and its tasks',
    method: 'force_quit',
    args: ['server'],
    params: ({ positionals }) => ({ name: positionals[0]! }),
    print: printNotice,
  }),
  'force-quit-all': command({
    usage: 'force-quit-all',
    summary: 'force quit all offline servers',
    method: 'force_quit_all',
    print: printNotice,
  }),
  'server status': command({
    usage: 'server <name> status',
    summary: 'show a server: online, alive tasks, total connections and tasks',
    method: 'server_status',
    params: ({ name }) => ({ name }),
    print: printServerStatus,
  }),
  'server listeners': command({
    usage: 'server <name> listeners',
    summary: 'show the addresses a server is bound to (sluice)',
    method: 'server_listeners',
    params: ({ name }) => ({ name }),
    print: printListeners,
  }),
  'escaper publish': command({
    usage: 'escaper <name> publish <json> | -f <file>',
    summary: 'publish JSON data to a float escaper',
    method: 'escaper_publish',
    args: ['json?'],
    options: { file: { type: 'string', short: 'f' } },
    params: async ({ name, positionals, values }) => {
      const file = values['file'];
      const inline = positionals[0];
      if ((typeof file === 'string') === (inline !== undefined)) {
        throw new UsageError('escaper publish takes either <json> or -f <file>');
      }
      const data = typeof file === 'string' ? await readJsonFile(file) : checkJson(inline!);
      return { name, data };
    },
    print: printNotice,
  }),
  'resolver query': command({
    usage: `resolver <name> query <domain> [-s ${QUERY_STRATEGIES.map((s) => s.toLowerCase()).join('|')}] [--resolution-delay MS]`,
    summary: `query a resolver; IPs are printed one per line (resolution delay default ${DEFAULT_RESOLUTION_DELAY_MS} ms)`,
    method: 'resolver_query',
    args: ['domain'],
    options: {
      strategy: { type: 'string', short: 's' },
      'query-strategy': { type: 'string' },
      'resolution-delay': { type: 'string' },
    },
    params: ({ name, positionals, values }) => {
      const strategyText = values['strategy'] ?? values['query-strategy'];
      const delayText = values['resolution-delay'] ?? String(DEFAULT_RESOLUTION_DELAY_MS);
      if (typeof delayText !== 'string' || !/^\d{1,5}$/.test(delayText) || Number(delayText) > 0xffff) {
        throw new UsageError(`invalid resolution delay: ${String(delayText)}`);
      }
      const params: ControlParams<'resolver_query'> = {
        name,
        domain: positionals[0]!,
        resolution_delay: Number(delayText),
      };
      if (typeof strategyText === 'string') {
        const strategy = parseQueryStrategy(strategyText);
        if (strategy === undefined) throw new UsageError(`invalid query strategy: ${strategyText}`);
        params.strategy = strategy;
      }
      return params;
    },
    print: printQueryResult,
  }),
  'user-group list-static-user': userListCommand('list-static-user', 'user_group_list_static_user', 'static'),
  'user-group list-dynamic-user': userListCommand('list-dynamic-user', 'user_group_list_dynamic_user', 'dynamic'),
  'user-group publish-user': command({
    usage: 'user-group <name> publish-user <file>',
    summary: 'replace the dynamic users of a user group with the JSON array in <file>',
    method: 'user_group_publish_user',
    args: ['file'],
    params: async ({ name, positionals }) => ({ name, contents: await readJsonFile(positionals[0]!) }),
    print: printNotice,
  }),
};

/** g3proxy-ctl's visible aliases. */
export const COMMAND_ALIASES: Readonly<Record<string, string>> = {
  'user-group publish': 'user-group publish-user',
  'user-group publish-dynamic-user': 'user-group publish-user',
};
