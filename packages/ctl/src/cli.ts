/**
 * sluice-ctl: g3proxy-ctl's command line over sluice's JSON control protocol.
 */
import { parseArgs } from 'node:util';

import { ControlApiError, ControlClient, ControlRpcError } from '@sluice/control';

import { COMMAND_ALIASES, COMMANDS, OBJECT_COMMANDS, type CommandDef, type CommandInput } from './commands.js';
import { CliError, UsageError } from './errors.js';
import { parseGlobalArgs, resolveSocketPath } from './global-args.js';

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** Run one sluice-ctl invocation; resolves with the exit code. Never throws. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const { options, rest } = parseGlobalArgs(argv);
    if (options.help) {
      io.stdout(helpText());
      return 0;
    }
    if (rest.length === 0) {
      io.stderr(helpText());
      return 2;
    }
    const { def, input } = resolveCommand(rest);
    const socketPath = resolveSocketPath(options);
    const params = await def.params(input);
    const client = await ControlClient.connect(socketPath);
    try {
      const result = await client.call<unknown>(def.method, params as Record<string, unknown>);
      const lines = def.print(result);
      if (lines.length > 0) io.stdout(lines.join('\n') + '\n');
    } finally {
      await client.close();
    }
    return 0;
  } catch (err) {
    return report(err, io);
  }
}

/** Find the table entry for the command words and parse the command's own arguments. */
export function resolveCommand(words: readonly string[]): { def: CommandDef; input: CommandInput } {
  const [first, ...tail] = words as [string, ...string[]];
  let key: string;
  let name = '';
  let args: string[];
  if ((OBJECT_COMMANDS as readonly string[]).includes(first)) {
    const [objectName, sub] = tail;
    if (objectName === undefined) throw new UsageError(`${first}: missing <name>`);
    if (sub === undefined) {
      throw new UsageError(`${first} <name>: missing subcommand, one of: ${subcommandsOf(first).join(', ')}`);
    }
    name = objectName;
    key = `${first} ${sub}`;
    args = tail.slice(2);
  } else {
    key = first;
    args = tail;
  }
  key = COMMAND_ALIASES[key] ?? key;
  if (!Object.hasOwn(COMMANDS, key)) {
    throw new UsageError(
      name === '' ? `unknown command '${first}'` : `unknown ${first} subcommand '${key.slice(first.length + 1)}'`,
    );
  }
  const def = COMMANDS[key]!;
  let parsed;
  try {
    parsed = parseArgs({ args, options: def.options ?? {}, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${key}: ${(err as Error).message}`);
  }
  const required = def.args.filter((a) => !a.endsWith('?')).length;
  const { positionals } = parsed;
  if (positionals.length < required) {
    throw new UsageError(`${key}: missing <${def.args[positionals.length]}>; usage: ${def.usage}`);
  }
  if (positionals.length > def.args.length) {
    throw new UsageError(`${key}: unexpected argument '${positionals[def.args.length]}'; usage: ${def.usage}`);
  }
  return { def, input: { name, positionals, values: parsed.values } };
}

function subcommandsOf(objectCommand: string): string[] {
  const prefix = `${objectCommand} `;
  return [...Object.keys(COMMANDS), ...Object.keys(COMMAND_ALIASES)]
    .filter((k) => k.startsWith(prefix))
    .map((k) => k.slice(prefix.length));
}

/** g3proxy-ctl's error lines, on stderr. */
function report(err: unknown, io: CliIo): number {
  if (err instanceof ControlApiError) {
    io.stderr(`api error (code: ${err.code}, reason: ${err.reason})\n`);
    return 1;
  }
  if (err instanceof ControlRpcError) {
    io.stderr(`rpc error: ${err.message}\n`);
    return 1;
  }
  if (err instanceof CliError) {
    const hint = err instanceof UsageError ? '\n(see sluice-ctl --help)' : '';
    io.stderr(`cli error: ${err.message}${hint}\n`);
    return err.exitCode;
  }
  io.stderr(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  return 1;
}

export function helpText(): string {
  const rows = Object.values(COMMANDS).map((def) => [def.usage, def.summary] as const);
  const width = Math.min(48, Math.max(...rows.map(([usage]) => usage.length)));
  const commands = rows
    .map(([usage, summary]) =>
      usage.length > width ? `  ${usage}\n  ${' '.repeat(width)}  ${summary}` : `  ${usage.padEnd(width)}  ${summary}`,
    )
    .join('\n');
  const aliases = Object.entries(COMMAND_ALIASES)
    .map(([alias, target]) => `  ${alias} = ${target}`)
    .join('\n');
  return `usage: sluice-ctl [-C DIR] (-G GROUP | -p PID | --socket PATH) <command> [args]

Talks to a running sluice daemon over its control socket.

Global options:
  -C, --control-dir DIR    directory of the control sockets (default: /run/sluice if it exists, else /tmp/sluice)
  -G, --daemon-group NAME  daemon group (the daemon's -G); selects <DIR>/<NAME>.sock
  -p, --daemon-pid PID     daemon pid; selects <DIR>/<NAME>_<PID>.sock
      --socket PATH        control socket path, instead of -C/-G/-p
  -h, --help               show this help

Commands:
${commands}

Aliases:
${aliases}
`;
}
