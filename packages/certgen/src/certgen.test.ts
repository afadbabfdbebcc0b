import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { execFile } from 'node:child_process';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decode, encode } from '@msgpack/msgpack';
import { makePki, removePki, startCertgen, CERTGEN_BIN, type CertgenHandle, type TestPki } from '@sluice/testkit';
import { encodeIdMap } from './protocol.js';

/** send one datagram, wait for one answer (or undefined after waitMs) */
function query(sock: Socket, port: number, payload: Uint8Array, waitMs = 3000): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      sock.off('message', on);
      resolve(undefined);
    }, waitMs);
    const on = (m: Buffer) => {
      clearTimeout(t);
      sock.off('message', on);
      resolve(m);
    };
    sock.on('message', on);
    sock.send(payload, port, '127.0.0.1');
  });
}

function leafOf(chainPem: string): X509Certificate {
  return new X509Certificate(chainPem.slice(0, chainPem.indexOf('-----END CERTIFICATE-----') + 25));
}

describe('sluice-certgen (real process)', () => {
  let pki: TestPki;
  let other: TestPki;
  let cg: CertgenHandle;
  let sock: Socket;
  let ca: X509Certificate;

  before(async () => {
    pki = makePki();
    other = makePki(['origin.example', 'alt.example'], ['10.1.2.3']);
    ca = new X509Certificate(pki.caCert);
    cg = await startCertgen(pki, { maxTtl: 600 });
    sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  });
  after(async () => {
    sock.close();
    await cg.stop();
    removePki(pki);
    removePki(other);
  });

  it('answers a request with name keys: a leaf for the host, chaining to the CA, with its key and ttl', async () => {
    const raw = await query(sock, cg.port, encode({ host: 'www.example.net', service: 'http' }));
    assert.ok(raw, 'no answer');
    const rsp = decode(raw) as Record<string, unknown>;
    assert.equal(rsp.host, 'www.example.net');
    assert.equal(rsp.service, 'http');
    assert.equal(rsp.usage, 'tls_server');
    assert.ok(typeof rsp.ttl === 'number' && rsp.ttl > 0 && rsp.ttl <= 600, `ttl ${String(rsp.ttl)}`);
    const leaf = leafOf(rsp.cert as string);
    assert.ok(leaf.verify(ca.publicKey), 'leaf not signed by the CA');
    assert.ok(leaf.checkIssued(ca));
    assert.equal(leaf.subjectAltName, 'DNS:www.example.net');
    assert.match(leaf.subject, /CN=www\.example\.net/);
    assert.ok((rsp.cert as string).includes(pki.caCert.trim().split('\n')[1]!), 'CA not appended to the chain');
    // the key matches the leaf's public key and is EC P-256
    const key = createPrivateKey(rsp.key as string);
    assert.equal(key.asymmetricKeyType, 'ec');
    assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.ok(leaf.checkPrivateKey(key));
  });

  it('answers a request with numeric keys (as g3proxy sends) using response ids, IP host as IP SAN', async () => {
    const raw = await query(sock, cg.port, encodeIdMap([[1, '192.0.2.7'], [2, 0], [4, 0]]));
    assert.ok(raw, 'no answer');
    const rsp = decode(raw) as Record<string, unknown>;
    assert.deepEqual(Object.keys(rsp).sort(), ['1', '2', '3', '4', '5', '6']);
    assert.equal(rsp['1'], '192.0.2.7');
    assert.equal(rsp['2'], 0);
    assert.equal(rsp['6'], 0);
    const leaf = leafOf(rsp['3'] as string);
    assert.ok(leaf.verify(ca.publicKey));
    assert.equal(leaf.subjectAltName, 'IP Address:192.0.2.7');
    assert.ok(leaf.checkPrivateKey(createPrivateKey(rsp['4'] as string)));
  });

  it('mimics the real upstream certificate: its CN and SANs, but our CA as issuer (PEM and DER forms)', async () => {
    const real = new X509Certificate(other.cert);
    for (const [host, cert] of [['mimic-pem.test', other.cert], ['mimic-der.test', real.raw]] as const) {
      const raw = await query(sock, cg.port, encode({ host, cert }));
      assert.ok(raw, 'no answer');
      const leaf = leafOf((decode(raw) as { cert: string }).cert);
      assert.equal(leaf.subjectAltName, 'DNS:origin.example, DNS:alt.example, IP Address:10.1.2.3');
      assert.match(leaf.subject, /CN=origin\.example/);
      assert.match(leaf.issuer, /CN=sluice test CA/);
      assert.ok(leaf.verify(ca.publicKey));
      assert.ok(!leaf.verify(createPublicKey(other.caCert)));
    }
  });

  it('caches per host: the same request gets the same certificate', async () => {
    const a = decode((await query(sock, cg.port, encode({ host: 'cache.test' })))!) as { cert: string };
    const b = decode((await query(sock, cg.port, encode({ host: 'cache.test' })))!) as { cert: string };
    assert.equal(a.cert, b.cert);
  });

  it('ignores garbage datagrams and keeps answering', async () => {
    const junk: Uint8Array[] = [
      Buffer.from('not msgpack at all \xff\xfe'),
      encode([1, 2, 3]),
      encode({ nohost: 'x' }),
      encode({ host: 42 }),
      encode({ host: 'x.test', weird: 1 }),
      encode({ host: 'bad-cert.test', cert: 'not a certificate' }),
      Buffer.alloc(0),
      Buffer.from([0xc1]),
    ];
    for (const j of junk) assert.equal(await query(sock, cg.port, j, 150), undefined);
    const raw = await query(sock, cg.port, encode({ host: 'after-junk.test' }));
    assert.ok(raw, 'certgen stopped answering after garbage');
    assert.equal((decode(raw) as { host: string }).host, 'after-junk.test');
    assert.match(cg.stderr(), /drop bad request/);
  });
});

describe('sluice-certgen config', () => {
  const run = (args: string[]) => new Promise<{ code: number | null; out: string }>((resolve) => {
    execFile(process.execPath, [CERTGEN_BIN, ...args], { timeout: 10_000 }, (e, stdout, stderr) =>
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, out: stdout + stderr }));
  });

  it('accepts the shipped example (g3fcgen layout) with -t once its CA files exist', async () => {
    const pki = makePki();
    const dir = mkdtempSync(join(tmpdir(), 'certgen-example-'));
    try {
      copyFileSync(fileURLToPath(new URL('../examples/simple/g3fcgen.yaml', import.meta.url)), join(dir, 'g3fcgen.yaml'));
      writeFileSync(join(dir, 'ca.crt'), pki.caCert);
      writeFileSync(join(dir, 'ca.key'), pki.caKey);
      const r = await run(['-t', '-c', dir]);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /ok/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      removePki(pki);
    }
  });

  it('rejects an unknown backend key and a missing key file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'certgen-bad-'));
    try {
      writeFileSync(join(dir, 'a.yaml'), 'backend:\n  ca_certificate: nope.crt\n  ca_private_key: nope.key\n');
      const a = await run(['-t', '-c', join(dir, 'a.yaml')]);
      assert.notEqual(a.code, 0);
      assert.match(a.out, /nope\.crt/);
      writeFileSync(join(dir, 'b.yaml'), 'backend:\n  ca_certficate: x\n');
      const b = await run(['-t', '-c', join(dir, 'b.yaml')]);
      assert.notEqual(b.code, 0);
      assert.match(b.out, /invalid key backend\.ca_certficate/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
