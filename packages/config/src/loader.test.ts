import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigError } from './errors.js';
import { findMainFile, loadConfig, loadObjectFromSource } from './loader.js';

let root: string;
let n = 0;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'sluice-config-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fresh directory holding the given files (nested paths allowed). */
async function tree(files: Record<string, string>): Promise<string> {
  const dir = join(root, `case-${n++}`);
  await mkdir(dir, { recursive: true });
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(join(dir, rel, '..'), { recursive: true });
    await writeFile(join(dir, rel), text);
  }
  return dir;
}

async function configError(p: Promise<unknown>): Promise<ConfigError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  assert.fail('expected a ConfigError');
}

describe('findMainFile', () => {
  test('takes the first existing name in the documented order', async () => {
    const dir = await tree({ 'sluice.yaml': '', 'g3proxy.conf': '', 'g3proxy.yaml': '', 'other.yaml': '' });
    assert.equal(await findMainFile(dir), join(dir, 'g3proxy.yaml'));
    const dir2 = await tree({ 'main.conf': '', 'g3proxy.yaml': '' });
    assert.equal(await findMainFile(dir2), join(dir2, 'main.conf'));
  });

  test('uses a file as is, whatever its name', async () => {
    const dir = await tree({ 'custom.cfg': 'log: journal\n' });
    assert.equal(await findMainFile(join(dir, 'custom.cfg')), join(dir, 'custom.cfg'));
  });

  test('a directory named main.yaml is not a main file', async () => {
    const dir = await tree({ 'main.yaml/x': '', 'sluice.yml': '' });
    assert.equal(await findMainFile(dir), join(dir, 'sluice.yml'));
  });

  test('errors name the directory and the names tried', async () => {
    const dir = await tree({ 'readme.txt': '' });
    const e = await configError(findMainFile(dir));
    assert.equal(e.file, dir);
    assert.match(e.why, /no main config file .*main\.yaml, main\.yml, main\.conf, g3proxy\.yaml/);
    const missing = await configError(findMainFile(join(dir, 'nope')));
    assert.match(missing.why, /no such file or directory/);
  });
});

describe('loadConfig', () => {
  test('a main file without extension loads every file of an included directory', async () => {
    const dir = await tree({
      g3proxy: 'escaper: escaper.d\n',
      'escaper.d/a.yaml': 'name: a\ntype: dummy_deny\n',
      'escaper.d/b': 'name: b\ntype: dummy_deny\n',
    });
    const cfg = await loadConfig(join(dir, 'g3proxy'));
    assert.equal(cfg.ext, '');
    assert.deepEqual(cfg.objects.escaper.map((o) => o.name), ['a', 'b']);
  });

  test('directory entries load in file-name order', async () => {
    const dir = await tree({
      'main.yaml': 'escaper: d\n',
      'd/b.yaml': 'name: b\ntype: dummy_deny\n',
      'd/C.yaml': 'name: C\ntype: dummy_deny\n',
      'd/a.yaml': 'name: a\ntype: dummy_deny\n',
      'd/a0.yaml': 'name: a0\ntype: dummy_deny\n',
    });
    const cfg = await loadConfig(dir);
    assert.deepEqual(cfg.objects.escaper.map((o) => o.name), ['C', 'a', 'a0', 'b']);
  });

  test('symlinks in a directory are followed; their base dir is where the file really is', async () => {
    const dir = await tree({
      'main.yaml': 'server: server.d\n',
      'shared/http.yaml': 'name: http\ntype: http_proxy\n',
      'shared/sub/other.yaml': 'name: other\ntype: dummy_close\n',
      'server.d/local.yaml': 'name: local\ntype: dummy_close\n',
    });
    await symlink(join(dir, 'shared/http.yaml'), join(dir, 'server.d/linked.yaml'));
    await symlink(join(dir, 'shared/sub'), join(dir, 'server.d/dir-link.yaml'));
    const cfg = await loadConfig(dir);
    const byName = new Map(cfg.objects.server.map((o) => [o.name, o]));
    assert.deepEqual([...byName.keys()], ['http', 'local']);
    assert.equal(byName.get('http')!.file, join(dir, 'server.d/linked.yaml'));
    assert.equal(byName.get('http')!.baseDir, join(dir, 'shared'));
    assert.equal(byName.get('local')!.baseDir, join(dir, 'server.d'));
  });

  test('a broken symlink in an included directory is an error at the include', async () => {
    const dir = await tree({ 'main.yaml': 'log: journal\nserver: server.d\n', 'server.d/.keep': '' });
    await symlink(join(dir, 'gone.yaml'), join(dir, 'server.d/dangling.yaml'));
    const e = await configError(loadConfig(dir));
    assert.equal(e.file, join(dir, 'main.yaml'));
    assert.equal(e.line, 2);
    assert.equal(e.keyPath, '/server');
    assert.match(e.why, /cannot include 'server\.d': symlink .*dangling\.yaml is broken/);
  });

  test('the same file included twice is reported with the first place', async () => {
    const dir = await tree({
      'main.yaml': 'escaper:\n  - e.d\n  - e.d/x.yaml\n',
      'e.d/x.yaml': 'name: x\ntype: dummy_deny\n',
    });
    const e = await configError(loadConfig(dir));
    assert.equal(e.line, 3);
    assert.equal(e.keyPath, '/escaper/1');
    assert.match(e.why, /e\.d\/x\.yaml is included twice \(first included at .*main\.yaml:2:5\)/);
  });

  test('an absolute include path is used as is', async () => {
    const other = await tree({ 'r.yaml': 'name: r\ntype: deny_all\n' });
    const dir = await tree({ 'main.yaml': `resolver: ${join(other, 'r.yaml')}\n` });
    const cfg = await loadConfig(dir);
    assert.equal(cfg.objects.resolver[0]!.file, join(other, 'r.yaml'));
    assert.equal(cfg.objects.resolver[0]!.baseDir, other);
  });

  test('a hybrid value that is neither a list nor a path is refused', async () => {
    const dir = await tree({ 'main.yaml': 'server:\n  name: x\n  type: dummy_close\n' });
    const e = await configError(loadConfig(dir));
    assert.equal(e.keyPath, '/server');
    assert.match(e.why, /expected a list of server definitions and\/or include paths, or one include path; got a map/);
    const dir2 = await tree({ 'main.yaml': 'server:\n  - 5\n' });
    const e2 = await configError(loadConfig(dir2));
    assert.equal(e2.keyPath, '/server/0');
    assert.equal(e2.line, 2);
  });

  test('YAML anchors and aliases are expanded; positions of aliased values stay usable', async () => {
    const dir = await tree({
      'main.yaml': [
        'escaper:',
        '  - name: a',
        '    type: direct_fixed',
        '    egress_net_filter: &filter',
        '      default: allow',
        '      allow: 127.0.0.1',
        '  - name: b',
        '    type: direct_fixed',
        '    egress_net_filter: *filter',
        '',
      ].join('\n'),
    });
    const cfg = await loadConfig(dir);
    const [a, b] = cfg.objects.escaper;
    assert.deepEqual(b!.value['egress_net_filter'], a!.value['egress_net_filter']);
    assert.notEqual(b!.value['egress_net_filter'], a!.value['egress_net_filter'], 'each object gets its own copy');
    assert.equal(b!.locate(['egress_net_filter']).line, 9);
    assert.equal(b!.locate(['egress_net_filter', 'allow']).line, 6, 'inside an alias, positions are those of the anchor');
  });

  test('a __proto__ key is kept as data, not turned into a prototype', async () => {
    const dir = await tree({ 'main.yaml': 'escaper:\n  - name: a\n    type: route_upstream\n    exact_match:\n      __proto__: [x]\n' });
    const cfg = await loadConfig(dir);
    const rules = cfg.objects.escaper[0]!.value['exact_match'] as Record<string, unknown>;
    assert.deepEqual(Object.keys(rules), ['__proto__']);
    assert.equal(Object.getPrototypeOf(rules), Object.prototype);
  });

  test('locate falls back to the deepest existing node, and matches keys by normalised spelling', async () => {
    const dir = await tree({
      'main.yaml': 'escaper:\n  - name: a\n    type: direct_fixed\n    TCP-Connect:\n      Max-Retry: 3\n',
    });
    const obj = (await loadConfig(dir)).objects.escaper[0]!;
    assert.deepEqual(obj.locate([]), { file: join(dir, 'main.yaml'), line: 2, column: 5 });
    assert.equal(obj.locate(['tcp_connect']).line, 4);
    assert.equal(obj.locate(['tcp_connect', 'max_retry']).line, 5);
    assert.equal(obj.locate(['tcp_connect', 'missing', 'deeper']).line, 4);
  });
});

describe('loadObjectFromSource', () => {
  test('re-reads exactly the document an object came from', async () => {
    const dir = await tree({
      'main.yaml': 'escaper: escaper.d\n',
      'escaper.d/all.yaml': 'name: one\ntype: dummy_deny\n---\n---\nname: two\ntype: Direct-Fixed\nresolver: r\n',
    });
    const cfg = await loadConfig(dir);
    const two = cfg.objects.escaper.find((o) => o.name === 'two')!;
    assert.equal(two.docIndex, 2);
    await writeFile(join(dir, 'escaper.d/all.yaml'), 'name: one\ntype: dummy_deny\n---\n---\nname: two\ntype: Direct-Fixed\nresolver: r2\n');
    const again = await loadObjectFromSource('escaper', two.file, two.docIndex, cfg.ext);
    assert.equal(again.name, 'two');
    assert.equal(again.type, 'direct_fixed');
    assert.equal(again.inline, false);
    assert.equal(again.baseDir, join(dir, 'escaper.d'));
    assert.equal(again.value['resolver'], 'r2');
    assert.equal(again.locate(['resolver']).line, 7);
  });

  test('a document that is gone or empty is a ConfigError naming the file', async () => {
    const dir = await tree({ 'x.yaml': 'name: one\ntype: dummy_deny\n---\n' });
    const gone = await configError(loadObjectFromSource('escaper', join(dir, 'x.yaml'), 5, '.yaml'));
    assert.equal(gone.file, join(dir, 'x.yaml'));
    assert.match(gone.why, /no document #5 in this file \(it has 2\)/);
    const empty = await configError(loadObjectFromSource('escaper', join(dir, 'x.yaml'), 1, '.yaml'));
    assert.match(empty.why, /document #1 must be a map defining one escaper; got an empty document/);
  });
});
