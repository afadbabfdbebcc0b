#!/usr/bin/env node
/**
 * `sluice`: the daemon. Flags follow g3proxy's:
 *   -c, --config-file PATH   config file, or a directory holding main.yaml / g3proxy.yaml / sluice.yaml
 *   -t, --test-config        load and check everything, then exit (0 = ok)
 *   -V, --version            print the version
 *   -v, --verbose            more process log (repeat: -vv, -vvv)
 *   -G, --group-name NAME    daemon group (control socket name, `daemon_name` log field)
 *   -C, --control-dir DIR    where the control socket goes (default /tmp/sluice)
 *   -s, --systemd            process log with journald priority prefixes
 *   -p, --pid-file FILE      write the pid to FILE
 *   -g, --dep-graph [FORMAT] print the object dependency graph (graphviz (default), mermaid, plantuml) and exit
 */
import { writeFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, findMainFile, formatConfigError } from '@sluice/config';
import { Daemon, daemonVersion, loadAndCheck } from '../daemon.js';
import { depGraph, type GraphFormat } from '../runtime/dep-graph.js';

const USAGE = `usage: sluice -c <config file or dir> [-t] [-g [graphviz|mermaid|plantuml]] [-v...] [-G group] [-C control-dir] [-s] [-p pid-file]
       sluice -V`;

const GRAPH_FORMATS = ['graphviz', 'mermaid', 'plantuml'] as const;

/** `-g` takes an optional value: pull it out before parseArgs, which has no optional-value options. */
function takeGraphFlag(argv: string[]): { argv: string[]; graph: GraphFormat | null } {
  const out: string[] = [];
  let graph: GraphFormat | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.startsWith('--dep-graph=') ? a.slice('--dep-graph='.length) : null;
    if (a === '-g' || a === '--dep-graph' || eq !== null) {
      const next = eq ?? argv[i + 1];
      if (next !== undefined && (GRAPH_FORMATS as readonly string[]).includes(next)) {
        graph = next as GraphFormat;
        if (eq === null) i++;
      } else if (eq !== null) throw new Error(`unknown graph format '${eq}' (graphviz, mermaid, plantuml)`);
      else graph = 'graphviz';
    } else out.push(a);
  }
  return { argv: out, graph };
}

async function main(): Promise<number> {
  let args;
  let graph: GraphFormat | null;
  try {
    const g = takeGraphFlag(process.argv.slice(2));
    graph = g.graph;
    args = parseArgs({
      args: g.argv,
      options: {
        'config-file': { type: 'string', short: 'c' },
        'test-config': { type: 'boolean', short: 't' },
        version: { type: 'boolean', short: 'V' },
        verbose: { type: 'boolean', short: 'v', multiple: true },
        'group-name': { type: 'string', short: 'G' },
        'control-dir': { type: 'string', short: 'C' },
        systemd: { type: 'boolean', short: 's' },
        'pid-file': { type: 'string', short: 'p' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const verbose = args.verbose?.length ?? 0;
  if (args.version) {
    process.stdout.write(`sluice ${daemonVersion()}\n`);
    if (verbose > 0) process.stdout.write(`Node.js ${process.version}, OpenSSL ${process.versions.openssl}\n`);
    return 0;
  }
  const cfgArg = args['config-file'];
  if (!cfgArg) {
    process.stderr.write(`missing -c <config>\n${USAGE}\n`);
    return 2;
  }
  const controlDir = args['control-dir'] ?? '/tmp/sluice';
  if (!isAbsolute(controlDir)) {
    process.stderr.write('the control dir must be an absolute path\n');
    return 2;
  }
  let configPath: string;
  try {
    configPath = await findMainFile(resolve(cfgArg));
  } catch (e) {
    process.stderr.write(`failed to load config, opts: ${cfgArg}\nCaused by: ${(e as Error).message}\n`);
    return 1;
  }
  if (graph) {
    try {
      process.stdout.write(depGraph(await loadAndCheck(configPath, false, () => {}), graph));
      return 0;
    } catch (e) {
      const text = e instanceof ConfigError ? formatConfigError(e) : (e as Error).stack ?? String(e);
      process.stderr.write(`failed to load config, opts: ${configPath}\nCaused by: ${text}\n`);
      return 1;
    }
  }
  if (args['test-config']) {
    try {
      await loadAndCheck(configPath, true, () => {});
      if (verbose > 0) process.stderr.write('the format of the config file is ok\n');
      return 0;
    } catch (e) {
      const text = e instanceof ConfigError ? formatConfigError(e) : (e as Error).stack ?? String(e);
      process.stderr.write(`failed to load config, opts: ${configPath}\nCaused by: ${text}\n`);
      return 1;
    }
  }
  const daemon = new Daemon({
    configPath,
    groupName: args['group-name'] ?? '',
    controlDir,
    verbose,
    journal: args.systemd === true,
  });
  try {
    await daemon.start();
  } catch (e) {
    const text = e instanceof ConfigError ? formatConfigError(e) : (e as Error).stack ?? String(e);
    process.stderr.write(`failed to start: ${text}\n`);
    return 1;
  }
  if (args['pid-file']) writeFileSync(args['pid-file'], `${process.pid}\n`);
  return -1; // keep running
}

process.on('uncaughtException', (e) => {
  // A bug must not take down every client's tunnel silently: log loudly and keep serving.
  process.stderr.write(`uncaught exception (kept running): ${e.stack ?? e}\n`);
});

main().then((code) => {
  if (code >= 0) process.exit(code);
});
