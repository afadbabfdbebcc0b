/**
 * A real OpenLDAP slapd for the tests: a temp slapd.conf and mdb database filled with slapadd, run in the
 * foreground on 127.0.0.1 (plain + STARTTLS on one port, ldaps on another), stopped by the test.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Slapd {
  port: number;
  tlsPort: number;
  stop(): Promise<void>;
}

export const BASE_DN = 'ou=people,dc=example,dc=com';

async function freeTcpPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function people(users: Record<string, string>): string {
  const entries = Object.entries(users).map(([uid, pw]) =>
    `dn: uid=${uid},${BASE_DN}\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: ${uid}\nsn: ${uid}\nuserPassword: ${pw}\n`);
  return [
    'dn: dc=example,dc=com\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n',
    `dn: ${BASE_DN}\nobjectClass: organizationalUnit\nou: people\n`,
    ...entries,
  ].join('\n');
}

export async function startSlapd(users: Record<string, string>, tls: { cert: string; key: string; ca: string }): Promise<Slapd> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-slapd-'));
  mkdirSync(join(dir, 'db'));
  const conf = join(dir, 'slapd.conf');
  writeFileSync(conf, [
    'include /etc/ldap/schema/core.schema',
    'include /etc/ldap/schema/cosine.schema',
    'include /etc/ldap/schema/inetorgperson.schema',
    'modulepath /usr/lib/ldap',
    'moduleload back_mdb',
    `pidfile ${join(dir, 'slapd.pid')}`,
    `TLSCACertificateFile ${tls.ca}`,
    `TLSCertificateFile ${tls.cert}`,
    `TLSCertificateKeyFile ${tls.key}`,
    'database mdb',
    'maxsize 10485760',
    'suffix "dc=example,dc=com"',
    'rootdn "cn=admin,dc=example,dc=com"',
    `directory ${join(dir, 'db')}`,
    '',
  ].join('\n'));
  writeFileSync(join(dir, 'data.ldif'), people(users));
  execFileSync('slapadd', ['-f', conf, '-l', join(dir, 'data.ldif')], { stdio: 'pipe', timeout: 10_000 });
  const port = await freeTcpPort();
  const tlsPort = await freeTcpPort();
  const proc: ChildProcess = spawn('slapd', ['-f', conf, '-h', `ldap://127.0.0.1:${port}/ ldaps://127.0.0.1:${tlsPort}/`, '-d', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  // ready once the plain port accepts connections
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`slapd did not start:\n${out}`);
    }
    const up = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (up) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    tlsPort,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

