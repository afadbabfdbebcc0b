/** Test certificates made with the openssl CLI: a CA and a leaf signed by it (SANs as given). */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  caCert: string;
  caKey: string;
  cert: string;
  key: string;
  /** where the PEM files are, for configs that take paths */
  dir: string;
  files: { caCert: string; cert: string; key: string };
}

export function makePki(names: string[] = ['localhost'], ips: string[] = ['127.0.0.1']): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-pki-'));
  const f = (n: string) => join(dir, n);
  const ossl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  ossl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=sluice test CA', '-keyout', f('ca.key'), '-out', f('ca.pem'),
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  ossl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${names[0]}`,
    '-keyout', f('leaf.key'), '-out', f('leaf.csr'));
  const san = [...names.map((n) => `DNS:${n}`), ...ips.map((i) => `IP:${i}`)].join(',');
  writeFileSync(f('ext.cnf'), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\n`);
  ossl('x509', '-req', '-in', f('leaf.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2',
    '-extfile', f('ext.cnf'), '-out', f('leaf.pem'));
  return {
    caCert: readFileSync(f('ca.pem'), 'utf8'),
    caKey: readFileSync(f('ca.key'), 'utf8'),
    cert: readFileSync(f('leaf.pem'), 'utf8'),
    key: readFileSync(f('leaf.key'), 'utf8'),
    dir,
    files: { caCert: f('ca.pem'), cert: f('leaf.pem'), key: f('leaf.key') },
  };
}

export function removePki(p: TestPki): void {
  rmSync(p.dir, { recursive: true, force: true });
}
