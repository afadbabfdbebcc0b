import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, type Position } from './errors.js';
import { normalizeKey, normalizeTypeName } from './names.js';
import { testParsers } from './test-parsers.js';
import type { RawNode, RawObject } from './types.js';
import { createValidator, registerValueParsers } from './validator.js';
import { locateIn, parseYamlText } from './yaml-positions.js';

registerValueParsers(testParsers);

/** A RawObject straight from YAML text, as the loader would build it for an object in `file`. */
function objectFrom(yaml: string, file = '/conf/escaper.d/direct.yaml'): RawObject {
  const [doc] = parseYamlText(yaml, file);
  const value = doc!.value as Record<string, unknown>;
  return {
    kind: 'escaper',
    name: String(value['name']),
    type: typeof value['type'] === 'string' ? normalizeTypeName(value['type']) : undefined,
    value,
    file,
    docIndex: 0,
    inline: false,
    baseDir: '/conf/escaper.d',
    keyPathPrefix: [],
    locate: (p): Position => locateIn(doc!.tree, p),
  };
}

function failure(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  assert.fail('expected a ConfigError');
}

const netSchema = {
  type: 'object',
  additionalProperties: false,
  'x-aliases': { egress_net_filter: 'egress_network_filter' },
  properties: {
    name: { type: 'string' },
    type: { const: 'direct_fixed' },
    egress_network_filter: {
      type: 'object',
      additionalProperties: false,
      properties: {
        default: { enum: ['allow', 'deny'] },
        allow: { type: 'array', items: { type: 'string', g3value: 'ip_network' } },
      },
    },
    tcp_sock_speed_limit: { g3value: 'speed_limit' },
    resolve_redirection: { type: 'object', additionalProperties: { type: 'string' } },
  },
};

describe('normalizeKey / normalizeTypeName', () => {
  test('lowercase and dashes to underscores', () => {
    assert.equal(normalizeKey('Egress-Net-Filter'), 'egress_net_filter');
    assert.equal(normalizeTypeName('c-ares'), 'c_ares');
    assert.equal(normalizeTypeName('Direct-Fixed'), 'direct_fixed');
  });
});

describe('createValidator', () => {
  test('is compiled once per schema object', () => {
    assert.equal(createValidator(netSchema), createValidator(netSchema));
    assert.notEqual(createValidator(netSchema), createValidator({ ...netSchema }));
  });

  test('normalises declared keys and aliases, keeps user-data keys, leaves the input alone', () => {
    const obj = objectFrom('name: d\ntype: direct_fixed\nEgress-Net-Filter:\n  Default: allow\nresolve_redirection:\n  Example.COM: 1.2.3.4\n');
    const before = structuredClone(obj.value);
    const out = createValidator(netSchema)(obj.value, obj);
    assert.deepEqual(out, {
      name: 'd',
      type: 'direct_fixed',
      egress_network_filter: { default: 'allow' },
      resolve_redirection: { 'Example.COM': '1.2.3.4' },
    });
    assert.deepEqual(obj.value, before);
  });

  test('a g3value failure names file, line, object, key path and the parser reason', () => {
    const obj = objectFrom('name: direct\ntype: direct_fixed\negress_net_filter:\n  default: allow\n  allow:\n    - 127.0.0.1\n    - x\n');
    const e = failure(() => createValidator(netSchema)(obj.value, obj));
    assert.equal(e.message, "/conf/escaper.d/direct.yaml:7:7: escaper 'direct' (direct_fixed): /egress_net_filter/allow/1: invalid IP network 'x'");
    assert.equal(e.file, '/conf/escaper.d/direct.yaml');
    assert.equal(e.line, 7);
    assert.equal(e.keyPath, '/egress_net_filter/allow/1');
    assert.equal(e.why, "invalid IP network 'x'");
    assert.equal(e.objectKind, 'escaper');
    assert.equal(e.objectName, 'direct');
    assert.equal(e.objectType, 'direct_fixed');
    assert.deepEqual(e.causes, []);
  });

  test("a parser's error path points below the value it was given", () => {
    const obj = objectFrom('name: d\ntype: direct_fixed\ntcp_sock_speed_limit:\n  shift: 10\n  upload: fast\n');
    const e = failure(() => createValidator(netSchema)(obj.value, obj));
    assert.equal(e.keyPath, '/tcp_sock_speed_limit/upload');
    assert.equal(e.line, 5);
    assert.equal(e.why, "invalid size 'fast'");
  });

  test('an unregistered g3value parser is a programming error, not a config error', () => {
    const schema = { type: 'object', properties: { x: { g3value: 'no_such_parser' } } };
    const obj = objectFrom('x: 1\n');
    assert.throws(() => createValidator(schema)(obj.value, obj), (e: unknown) => !(e instanceof ConfigError) && /no value parser registered for g3value 'no_such_parser'/.test(String(e)));
  });

  test('alias and target both given is refused; two spellings of one key too', () => {
    const schema = { type: 'object', 'x-aliases': { proxy_user: 'proxy_username' }, properties: { proxy_username: { type: 'string' } } };
    const both = objectFrom('proxy-user: a\nproxy_username: b\n');
    const e = failure(() => createValidator(schema)(both.value, both));
    assert.equal(e.line, 2);
    assert.equal(e.why, "'proxy-user' is an alias of 'proxy_username', and 'proxy_username' is given too; keep only one of them");
    const twice = objectFrom('Proxy-Username: a\nproxy_username: b\n');
    const e2 = failure(() => createValidator(schema)(twice.value, twice));
    assert.equal(e2.why, "key 'proxy_username' is given twice (as 'Proxy-Username' and 'proxy_username')");
  });

  test('all errors are reported, first by position, the rest as causes', () => {
    const schema = {
      type: 'object',
      additionalProperties: false,
      required: ['a'],
      properties: { a: { type: 'string' }, b: { type: 'integer' }, c: { enum: ['x', 'y'] } },
    };
    const obj = objectFrom('c: z\nb: two\nbogus: 1\n');
    const e = failure(() => createValidator(schema)(obj.value, obj));
    const all = [e, ...e.causes].map((x) => `${x.line} ${x.keyPath} ${x.why}`);
    assert.deepEqual([...all].sort(), [
      "1  missing required key 'a'",
      '1 /c must be one of x, y',
      '2 /b expected an integer, got a string',
      "3 /bogus unknown key 'bogus'",
    ]);
    assert.deepEqual(all.map((x) => Number(x.split(' ')[0])), [1, 1, 2, 3], 'ordered by position');
    assert.match(e.message, /\(and 3 more errors\)$/);
  });

  test('anyOf: the branch that fits the value speaks; none fitting gives one line', () => {
    const schema = {
      type: 'object',
      properties: {
        keepalive: {
          anyOf: [
            { type: 'boolean' },
            { type: 'string', g3value: 'duration' },
            { type: 'object', additionalProperties: false, properties: { enable: { type: 'boolean' }, idle_time: { g3value: 'duration' } } },
          ],
        },
      },
    };
    const validate = createValidator(schema);
    const wrongMap = objectFrom('keepalive:\n  Enable: true\n  idle_time: soon\n');
    const e1 = failure(() => validate(wrongMap.value, wrongMap));
    assert.equal(e1.keyPath, '/keepalive/idle_time');
    assert.equal(e1.why, "invalid duration 'soon'");
    assert.deepEqual(e1.causes, []);
    const wrongString = objectFrom('keepalive: soon\n');
    assert.equal(failure(() => validate(wrongString.value, wrongString)).why, "invalid duration 'soon'");
    const list = objectFrom('keepalive: [1]\n');
    assert.equal(failure(() => validate(list.value, list)).why, 'expected a boolean, a string or a map, got a list');
    const ok = objectFrom('keepalive:\n  ENABLE: false\n');
    assert.deepEqual(validate(ok.value, ok), { keepalive: { enable: false } });
  });

  test('oneOf that matches twice says so', () => {
    const schema = { type: 'object', properties: { v: { oneOf: [{ type: 'integer' }, { type: 'number' }] } } };
    const obj = objectFrom('v: 3\n');
    assert.match(failure(() => createValidator(schema)(obj.value, obj)).why, /matches more than one of the allowed forms/);
  });

  test('main sections report key paths from the main file', () => {
    const [doc] = parseYamlText('log:\n  default: journal\n  levle: info\n', '/conf/main.yaml');
    const tree = doc!.tree.keys!.get('log')!;
    const node: RawNode = {
      value: (doc!.value as Record<string, unknown>)['log'],
      file: '/conf/main.yaml',
      docIndex: 0,
      baseDir: '/conf',
      keyPathPrefix: ['log'],
      locate: (p) => locateIn(tree, p),
    };
    const schema = { type: 'object', additionalProperties: false, properties: { default: { type: 'string' }, level: { type: 'string' } } };
    const e = failure(() => createValidator(schema)(node.value, node));
    assert.equal(e.message, "/conf/main.yaml:3:3: /log/levle: unknown key 'levle' (did you mean 'level'?)");
    assert.equal(e.objectKind, undefined);
  });
});
