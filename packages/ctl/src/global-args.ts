/**
 * g3proxy-ctl's global options: `-C/--control-dir`, `-G/--daemon-group`, `-p/--daemon-pid`, plus sluice's
 * `--socket PATH`. Hand-parsed because they may appear before or after the command words (systemd units put
 * them first; people append them), while each subcommand parses its own options.
 */
import { controlSocketPath, defaultCtlControlDir } from '@sluice/control';

import { UsageError } from './errors.js';

export interface GlobalOptions {
  controlDir?: string;
  group?: string;
  pid?: number;
  socket?: string;
  help: boolean;
}

type ValueKey = 'controlDir' | 'group' | 'pid' | 'socket';

const SHORT: Record<string, ValueKey> = { '-C': 'controlDir', '-G': 'group', '-p': 'pid' };
const LONG: Record<string, ValueKey> = {
  '--control-dir': 'controlDir',
  '--daemon-group': 'group',
  '--daemon-pid': 'pid',
  '--socket': 'socket',
};

/** Pull the global options out of argv; what is left are the command words and their own options. */
export function parseGlobalArgs(argv: readonly string[]): { options: GlobalOptions; rest: string[] } {
  const options: GlobalOptions = { help: false };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      rest.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-h' || arg === '--help') {
      options.help = true;
      continue;
    }
    let key: ValueKey | undefined;
    let value: string | undefined;
    let flag = arg;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    if (eq !== -1) {
      flag = arg.slice(0, eq);
      key = LONG[flag];
      value = arg.slice(eq + 1);
    } else if (Object.hasOwn(LONG, arg)) {
      key = LONG[arg];
    } else if (arg.length > 2 && Object.hasOwn(SHORT, arg.slice(0, 2))) {
      flag = arg.slice(0, 2); // attached value: -Gedge
      key = SHORT[flag];
      value = arg.slice(2);
    } else if (Object.hasOwn(SHORT, arg)) {
      key = SHORT[arg];
    }
    if (key === undefined) {
      rest.push(arg);
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new UsageError(`${flag} needs a value`);
    }
    if (key === 'pid') {
      if (!/^[1-9]\d{0,9}$/.test(value)) throw new UsageError(`invalid daemon pid: ${value}`);
      options.pid = Number(value);
    } else {
      options[key] = value;
    }
  }
  return { options, rest };
}

/** The socket to talk to: `--socket`, else `<dir>/<group>_<pid>.sock` or `<dir>/<group>.sock`. */
export function resolveSocketPath(options: GlobalOptions): string {
  if (options.socket !== undefined) return options.socket;
  if (options.group === undefined && options.pid === undefined) {
    throw new UsageError('one of -G/--daemon-group, -p/--daemon-pid or --socket is required');
  }
  return controlSocketPath(options.controlDir ?? defaultCtlControlDir(), options.group ?? '', options.pid);
}
