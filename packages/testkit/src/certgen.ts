/**
 * Start the real `sluice-certgen` process on a loopback UDP port for a test: the CA goes into a temp
 * g3fcgen-style config, the port comes from the process's "listening on" line.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestPki } from './certs.js';

export const CERTGEN_BIN = join(dirname(fileURLToPath(import.meta.url)), '../../certgen/dist/bin/sluice-certgen.js');

export interface CertgenHandle {
  port: number;
  /** everything the process wrote to stderr so far */
  stderr(): string;
  stop(): Promise<void>;
}

export async function startCertgen(
  ca: { caCertPem: string; caKeyPem: string } | TestPki,
  opts: { maxTtl?: number; timeoutMs?: number } = {},
): Promise<CertgenHandle> {
  const caCertPem = 'caCertPem' in ca ? ca.caCertPem : ca.caCert;
  const caKeyPem = 'caKeyPem' in ca ? ca.caKeyPem : ca.caKey;
  const dir = mkdtempSync(join(tmpdir(), 'sluice-certgen-'));
  writeFileSync(join(dir, 'ca.crt'), caCertPem);
  writeFileSync(join(dir, 'ca.key'), caKeyPem);
  writeFileSync(join(dir, 'g3fcgen.yaml'),
    `backend:\n  ca_certificate: ca.crt\n  ca_private_key: ca.key\n${opts.maxTtl !== undefined ? `  max_ttl: ${opts.maxTtl}\n` : ''}`);
  const proc = spawn(process.execPath, [CERTGEN_BIN, '-c', dir], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, UDP_LISTEN_ADDR: '127.0.0.1:0' },
  });
  let err = '';
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`sluice-certgen did not start: ${err}`)), opts.timeoutMs ?? 10_000);
    const fail = (e: Error) => {
      clearTimeout(timer);
      proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      reject(e);
    };
    proc.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      const m = /listening on udp 127\.0\.0\.1:(\d+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    proc.once('exit', (code) => fail(new Error(`sluice-certgen exited with ${code}: ${err}`)));
  });
  return {
    port,
    stderr: () => err,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
