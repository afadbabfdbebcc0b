/**
 * The ldap user group against a real slapd: simple binds over plain LDAP, STARTTLS and ldaps; static users
 * keep their policy, the unmanaged_user template covers directory users the config does not list, and a
 * successful bind is cached (the group keeps answering for it while the directory is down).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { baseConfig, curl, makePki, removePki, startDaemon, startOrigin, type DaemonHandle, type Origin, type TestPki } from '@sluice/testkit';
import { BASE_DN, startSlapd, type Slapd } from './slapd.js';

function yaml(s: Slapd, pki: TestPki, originPort: number): string {
  const groups = [
    ['plain', `ldap://127.0.0.1:${s.port}/${BASE_DN}`, ''],
    ['starttls', `ldap://localhost:${s.port}/${BASE_DN}`, `    tls_client:\n      ca_certificate: ${pki.files.caCert}\n`],
    ['ldaps', `ldaps://127.0.0.1:${s.tlsPort}/${BASE_DN}`, `    tls_client:\n      ca_certificate: ${pki.files.caCert}\n    tls_name: localhost\n`],
  ];
  return `
${baseConfig()}user_group:
${groups.map(([name, url, tls]) => `  - name: ${name}
    type: ldap
    ldap_url: "${url}"
${tls}    cache_expire_time: 1h
    static_users:
      - name: alice
        dst_port_filter: [${originPort}]
${name === 'plain' ? `    unmanaged_user:
      name: template
      dst_port_filter: [${originPort}]
` : ''}`).join('')}
server:
${groups.map(([name]) => `  - name: http_${name}
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
    user_group: ${name}
`).join('')}`;
}

describe('ldap user group', () => {
  let slapd: Slapd;
  let pki: TestPki;
  let origin: Origin;
  let d: DaemonHandle;

  const status = async (server: string, user: string) =>
    (await curl(['-x', `http://127.0.0.1:${await d.port(server)}`, '-U', user, `${origin.url}/hello`])).status;

  before(async () => {
    pki = makePki(['localhost'], ['127.0.0.1']);
    slapd = await startSlapd({ alice: 'alice-secret', bob: 'bob-secret', carol: 'carol-secret' }, { cert: pki.files.cert, key: pki.files.key, ca: pki.files.caCert });
    origin = await startOrigin();
    d = await startDaemon({ files: { 'main.yaml': yaml(slapd, pki, origin.port) } });
  });
  after(async () => {
    await d?.stop();
    await slapd?.stop();
    await origin?.close();
    if (pki) removePki(pki);
  });

  for (const mode of ['plain', 'starttls', 'ldaps']) {
    it(`binds over ${mode}: right password 200, wrong password 407`, async () => {
      assert.equal(await status(`http_${mode}`, 'alice:alice-secret'), 200);
      assert.equal(await status(`http_${mode}`, 'alice:not-her-password'), 407);
      assert.equal(await status(`http_${mode}`, 'nobody:x'), 407);
      const log = await d.waitForLog((l) => l.fields.server_name === `http_${mode}` && l.fields.user === 'alice' && l.fields.rsp_status === '200');
      assert.equal(log.fields.task_type, 'HttpForward');
    });
  }

  it('accepts a directory user the config does not list only through unmanaged_user', async () => {
    assert.equal(await status('http_plain', 'bob:bob-secret'), 200);
    await d.waitForLog((l) => l.fields.server_name === 'http_plain' && l.fields.user === 'bob');
    assert.equal(await status('http_starttls', 'bob:bob-secret'), 407, 'no unmanaged_user: unknown users are refused');
  });

  it('an empty password is refused without asking the directory (no anonymous bind)', async () => {
    assert.equal(await status('http_plain', 'alice:'), 407);
  });

  it('answers cached binds while the directory is down, refuses the rest', async () => {
    await slapd.stop();
    assert.equal(await status('http_plain', 'alice:alice-secret'), 200);
    assert.equal(await status('http_plain', 'carol:carol-secret'), 407);
    const all = d.stdoutLines.join('\n') + d.stderr;
    for (const secret of ['alice-secret', 'bob-secret', 'carol-secret']) assert.ok(!all.includes(secret), `a log holds ${secret}`);
  });
});
