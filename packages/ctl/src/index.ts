export { runCli, resolveCommand, helpText, type CliIo } from './cli.js';
export { COMMANDS, COMMAND_ALIASES, OBJECT_COMMANDS, type CommandDef, type CommandInput } from './commands.js';
export { parseGlobalArgs, resolveSocketPath, type GlobalOptions } from './global-args.js';
export { CliError, UsageError } from './errors.js';
