/**
 * `sluice -t`: exits 0 on the shipped default config and every example, and non-zero on bad configs with the
 * file, the line, the object and the key path in the message.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runSluice, scenarioDir } from '@sluice/testkit';

const here = scenarioDir(import.meta.url);
const repo = join(here, '..', '..', '..');

describe('sluice -t on shipped configs', () => {
  it('accepts conf/', async () => {
    const r = await runSluice(['-t', '-c', join(repo, 'conf')]);
    assert.equal(r.code, 0, r.stderr);
  });
  const examples = join(repo, 'examples');
  for (const name of readdirSync(examples).sort()) {
    const dir = join(examples, name);
    if (!statSync(dir).isDirectory() || name === 'grafana') continue;
    it(`accepts examples/${name}`, async () => {
      const r = await runSluice(['-t', '-c', dir]);
      assert.equal(r.code, 0, r.stderr);
    });
  }
});

describe('sluice -t on bad configs', () => {
  const check = async (dir: string, expect: RegExp[]) => {
    const r = await runSluice(['-t', '-c', join(here, dir)]);
    assert.notEqual(r.code, 0, `expected failure for ${dir}`);
    for (const re of expect) assert.match(r.stderr, re);
  };

  it('rejects an unknown key, naming file, line, object and key, with a suggestion', () =>
    check('bad-key', [/bad-key\/main\.yaml:13/, /server 'http'/, /req_header_max_sise/, /did you mean 'req_header_max_size'/]));

  it('rejects a bad value inside an included file, naming the exact list item', () =>
    check('bad-value', [/escaper\.d\/direct\.yaml:8/, /escaper 'direct'/, /\/egress_network_filter\/allow\/1/, /not-an-ip/]));

  it('rejects an unknown type and lists the known ones', () =>
    check('unknown-type', [/unknown-type\/main\.yaml:3/, /unknown escaper type 'direct_fixxed'/, /direct_fixed/, /dummy_deny/]));

  it('rejects an escaper cycle', () => check('cycle', [/cycle/, /a -> b -> a|b -> a -> b/]));

  it('rejects a dangling escaper reference, naming both ends', () =>
    check('dangling', [/dangling\/main\.yaml:12/, /server 'http'/, /escaper 'drect' does not exist/]));

  it('fails on a missing config path', async () => {
    const r = await runSluice(['-t', '-c', join(here, 'no-such-dir')]);
    assert.notEqual(r.code, 0);
  });
});

describe('doc/', () => {
  it('has an up-to-date reference page for every registered type', async () => {
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(process.execPath, [join(repo, 'scripts', 'gen-docs.mjs'), '--check'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });
});
