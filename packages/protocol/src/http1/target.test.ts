import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HttpParseError, parseAbsoluteTarget, parseAuthorityForm, parseHostHeader } from './index.js';

function rejects(fn: () => unknown, detail: string, status = 400): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof HttpParseError, `expected HttpParseError, got ${String(e)}`);
    assert.equal(e.detail, detail);
    assert.equal(e.status, status);
    return true;
  });
}

// --- absolute-form

test('http with no path gets "/" and port 80', () => {
  assert.deepEqual(parseAbsoluteTarget('http://example.com'), {
    scheme: 'http',
    host: 'example.com',
    hostKind: 'domain',
    port: 80,
    path: '/',
  });
});

test('scheme and host are case-insensitive; path case is kept', () => {
  const t = parseAbsoluteTarget('HTTP://Example.COM:8080/A/b?C=d');
  assert.equal(t.scheme, 'http');
  assert.equal(t.host, 'example.com');
  assert.equal(t.port, 8080);
  assert.equal(t.path, '/A/b?C=d');
});

test('https and ftp default ports', () => {
  assert.equal(parseAbsoluteTarget('https://example.com/').port, 443);
  assert.equal(parseAbsoluteTarget('ftp://example.com/pub').port, 21);
});

test('userinfo is split off', () => {
  const t = parseAbsoluteTarget('ftp://user:p%40ss@ftp.example.com/pub/file');
  assert.equal(t.userinfo, 'user:p%40ss');
  assert.equal(t.host, 'ftp.example.com');
  assert.equal(t.path, '/pub/file');
});

test('no userinfo property without userinfo', () => {
  assert.equal('userinfo' in parseAbsoluteTarget('http://a.example/'), false);
});

test('query right after the authority', () => {
  assert.equal(parseAbsoluteTarget('http://example.com?x=1').path, '/?x=1');
});

test('IPv6 literal', () => {
  const t = parseAbsoluteTarget('http://[2001:DB8::1]:8080/x');
  assert.equal(t.host, '2001:db8::1');
  assert.equal(t.hostKind, 'ipv6');
  assert.equal(t.port, 8080);
  assert.equal(parseAbsoluteTarget('http://[::1]').port, 80);
});

test('IPv4 address', () => {
  const t = parseAbsoluteTarget('http://192.168.0.1/');
  assert.equal(t.hostKind, 'ipv4');
  assert.equal(t.host, '192.168.0.1');
  assert.equal(parseAbsoluteTarget('http://0.0.0.0/').hostKind, 'ipv4');
});

test('an empty port means the default', () => {
  assert.equal(parseAbsoluteTarget('http://example.com:/').port, 80);
});

test('trailing dot, underscore, hyphen, digits in labels', () => {
  assert.equal(parseAbsoluteTarget('http://example.com./').host, 'example.com.');
  assert.equal(parseAbsoluteTarget('http://_srv.my-host1.example/').host, '_srv.my-host1.example');
  assert.equal(parseAbsoluteTarget('http://1password.com/').hostKind, 'domain');
  assert.equal(parseAbsoluteTarget('http://localhost:65535/').port, 65535);
});

test('rejects a fragment', () => rejects(() => parseAbsoluteTarget('http://example.com/a#frag'), 'fragment in request-target'));
test('rejects a fragment right after the host', () =>
  rejects(() => parseAbsoluteTarget('http://example.com#frag'), 'fragment in request-target'));
test('rejects an unsupported scheme with 501', () =>
  rejects(() => parseAbsoluteTarget('gopher://example.com/'), 'unsupported scheme', 501));
test('rejects ws: with 501', () => rejects(() => parseAbsoluteTarget('ws://example.com/'), 'unsupported scheme', 501));
test('rejects a scheme starting with a digit', () => rejects(() => parseAbsoluteTarget('1http://x/'), 'invalid scheme'));
test('rejects a target without //', () => rejects(() => parseAbsoluteTarget('http:/x'), 'invalid absolute-form target'));
test('rejects origin-form', () => rejects(() => parseAbsoluteTarget('/path'), 'invalid absolute-form target'));
test('rejects an empty host', () => rejects(() => parseAbsoluteTarget('http:///path'), 'empty host'));
test('rejects an empty host with port', () => rejects(() => parseAbsoluteTarget('http://:80/'), 'empty host'));
test('rejects port 0', () => rejects(() => parseAbsoluteTarget('http://example.com:0/'), 'invalid port'));
test('rejects port 65536', () => rejects(() => parseAbsoluteTarget('http://example.com:65536/'), 'invalid port'));
test('rejects a port with a leading zero', () => rejects(() => parseAbsoluteTarget('http://example.com:080/'), 'invalid port'));
test('rejects a non-numeric port', () => rejects(() => parseAbsoluteTarget('http://example.com:8a/'), 'invalid port'));
test('rejects a six-digit port', () => rejects(() => parseAbsoluteTarget('http://example.com:100000/'), 'invalid port'));
test('rejects an unclosed IPv6 literal', () => rejects(() => parseAbsoluteTarget('http://[::1/'), 'invalid IPv6 literal'));
test('rejects an IPv6 zone id', () =>
  rejects(() => parseAbsoluteTarget('http://[fe80::1%25eth0]/'), 'invalid IPv6 literal'));
test('rejects IPvFuture', () => rejects(() => parseAbsoluteTarget('http://[v1.fe]/'), 'invalid IPv6 literal'));
test('rejects an IPv4 literal in brackets', () => rejects(() => parseAbsoluteTarget('http://[1.2.3.4]/'), 'invalid IPv6 literal'));
test('rejects junk after an IPv6 literal', () => rejects(() => parseAbsoluteTarget('http://[::1]x/'), 'invalid host'));
test('rejects an unbracketed IPv6 address', () => rejects(() => parseAbsoluteTarget('http://::1/'), 'invalid host'));
test('rejects hex IPv4 shorthand', () => rejects(() => parseAbsoluteTarget('http://0x7f.1/'), 'invalid host'));
test('rejects short IPv4', () => rejects(() => parseAbsoluteTarget('http://127.1/'), 'invalid host'));
test('rejects a decimal IPv4', () => rejects(() => parseAbsoluteTarget('http://2130706433/'), 'invalid host'));
test('rejects an octet above 255', () => rejects(() => parseAbsoluteTarget('http://1.2.3.256/'), 'invalid host'));
test('rejects an octal-looking octet', () => rejects(() => parseAbsoluteTarget('http://010.0.0.1/'), 'invalid host'));
test('rejects five octets', () => rejects(() => parseAbsoluteTarget('http://1.2.3.4.5/'), 'invalid host'));
test('rejects a numeric last label', () => rejects(() => parseAbsoluteTarget('http://example.123/'), 'invalid host'));
test('rejects two @', () => rejects(() => parseAbsoluteTarget('http://a@b@example.com/'), 'invalid host'));
test('rejects a bad userinfo character', () => rejects(() => parseAbsoluteTarget('http://us"er@x.example/'), 'invalid userinfo'));
test('rejects a bad percent-escape in userinfo', () =>
  rejects(() => parseAbsoluteTarget('http://u%zz@x.example/'), 'invalid userinfo'));
test('rejects an empty label', () => rejects(() => parseAbsoluteTarget('http://a..example/'), 'invalid host'));
test('rejects a label over 63 bytes', () =>
  rejects(() => parseAbsoluteTarget(`http://${'a'.repeat(64)}.example/`), 'invalid host'));
test('rejects a name over 253 bytes', () =>
  rejects(() => parseAbsoluteTarget(`http://${'abcdefghi.'.repeat(26)}example/`), 'invalid host'));
test('rejects a backslash in the host', () => rejects(() => parseAbsoluteTarget('http://ex\\ample.com/'), 'invalid host'));
test('rejects a percent-escape in the host', () => rejects(() => parseAbsoluteTarget('http://ex%61mple.com/'), 'invalid host'));
test('rejects non-ASCII in the path', () =>
  rejects(() => parseAbsoluteTarget('http://example.com/caf\xe9'), 'invalid character in path'));
test('rejects a space in the path', () => rejects(() => parseAbsoluteTarget('http://example.com/a b'), 'invalid character in path'));

// --- authority-form

test('CONNECT host:port', () => {
  assert.deepEqual(parseAuthorityForm('Example.com:443'), { host: 'example.com', hostKind: 'domain', port: 443 });
  assert.deepEqual(parseAuthorityForm('10.0.0.1:22'), { host: '10.0.0.1', hostKind: 'ipv4', port: 22 });
  assert.deepEqual(parseAuthorityForm('[::1]:8443'), { host: '::1', hostKind: 'ipv6', port: 8443 });
});

test('authority-form rejects a missing port', () => rejects(() => parseAuthorityForm('example.com'), 'missing port'));
test('authority-form rejects an empty port', () => rejects(() => parseAuthorityForm('example.com:'), 'missing port'));
test('authority-form rejects an IPv6 literal without port', () => rejects(() => parseAuthorityForm('[::1]'), 'missing port'));
test('authority-form rejects an empty host', () => rejects(() => parseAuthorityForm(':443'), 'empty host'));
test('authority-form rejects an empty target', () => rejects(() => parseAuthorityForm(''), 'empty host'));
test('authority-form rejects userinfo', () => rejects(() => parseAuthorityForm('u@example.com:443'), 'invalid host'));
test('authority-form rejects a path', () => rejects(() => parseAuthorityForm('example.com:443/x'), 'invalid port'));
test('authority-form rejects absolute-form', () => rejects(() => parseAuthorityForm('http://example.com:443'), 'invalid host'));
test('authority-form rejects an unbracketed IPv6 address', () => rejects(() => parseAuthorityForm('::1:443'), 'invalid host'));
test('authority-form rejects numeric shorthand', () => rejects(() => parseAuthorityForm('0x7f.1:80'), 'invalid host'));
test('authority-form rejects port 0', () => rejects(() => parseAuthorityForm('example.com:0'), 'invalid port'));
test('authority-form rejects port 65536', () => rejects(() => parseAuthorityForm('example.com:65536'), 'invalid port'));

// --- Host field

test('Host with and without port', () => {
  assert.deepEqual(parseHostHeader('example.com', 80), { host: 'example.com', hostKind: 'domain', port: 80 });
  assert.deepEqual(parseHostHeader('example.com:8080', 80), { host: 'example.com', hostKind: 'domain', port: 8080 });
  assert.deepEqual(parseHostHeader('[::1]', 443), { host: '::1', hostKind: 'ipv6', port: 443 });
});

test('Host rejects junk', () => rejects(() => parseHostHeader('exa mple', 80), 'invalid host'));
