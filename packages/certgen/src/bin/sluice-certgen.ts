#!/usr/bin/env node
/**
 * sluice-certgen: g3fcgen's command line. `-c <file|dir>` the config, `-G port<N>` listens on [::]:N (the
 * systemd instance-name convention), env UDP_LISTEN_ADDR overrides both, default 127.0.0.1:2999 (the
 * address g3proxy's tls_cert_agent queries by default). `-t` checks the config and exits.
 */
import { parseArgs } from 'node:util';
import { CertIssuer } from '../issuer.js';
import { loadCertgenConfig } from '../config.js';
import { CertgenServer } from '../server.js';

const VERSION = '0.1.0';
const log = (line: string) => process.stderr.write(`sluice-certgen: ${line}\n`);

/** `host:port` or `[v6]:port` */
function splitAddr(s: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw new Error(`invalid UDP listen address '${s}'`);
  return { host: m[1]!, port };
}

function listenAddr(group: string | undefined): { host: string; port: number } {
  const env = process.env.UDP_LISTEN_ADDR;
  if (env) return splitAddr(env);
  const m = group ? /^port(\d+)$/.exec(group) : null;
  if (m) return { host: '::', port: Number(m[1]) };
  return { host: '127.0.0.1', port: 2999 };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      'config-file': { type: 'string', short: 'c' },
      'group-name': { type: 'string', short: 'G' },
      'test-config': { type: 'boolean', short: 't' },
      verbose: { type: 'boolean', short: 'v', multiple: true },
      version: { type: 'boolean', short: 'V' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.version) {
    process.stdout.write(`sluice-certgen ${VERSION}\n`);
    return 0;
  }
  if (values.help || !values['config-file']) {
    process.stdout.write('usage: sluice-certgen -c <config file|dir> [-G port<N>] [-t] [-v]\n');
    return values.help ? 0 : 2;
  }
  const cfg = await loadCertgenConfig(values['config-file']);
  const issuer = await CertIssuer.create({ caCertPem: cfg.caCertPem, caKeyPem: cfg.caKeyPem, appendCa: cfg.appendCa, keepSerial: cfg.keepSerial, validitySecs: cfg.maxTtl });
  if (values['test-config']) {
    // issue once so a CA key that cannot sign fails here rather than on the first request
    await issuer.issue('config-test.invalid');
    process.stdout.write(`${cfg.file}: ok\n`);
    return 0;
  }
  const at = listenAddr(values['group-name']);
  const server = new CertgenServer({ issuer, ttl: cfg.maxTtl, log, verbose: (values.verbose?.length ?? 0) > 0 });
  const bound = await server.listen(at.host, at.port);
  log(`listening on udp ${bound.address.includes(':') ? `[${bound.address}]` : bound.address}:${bound.port}`);
  const stop = () => {
    server.close();
    log('stopped');
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return -1;
}

main().then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (e: Error) => {
    log(e.message);
    process.exitCode = 1;
  },
);
