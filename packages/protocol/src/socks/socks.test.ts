import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  chooseMethod, encodeMethodSelection, encodeSocks4Reply, encodeSocks4Request, encodeSocks5Greeting, encodeSocks5Reply,
  encodeSocks5Request, encodeUdpDatagram, encodeUdpHeader, socks5ReplyText, encodeUserPassAuth, encodeUserPassStatus, peekVersion, readMethodSelection,
  readSocks4Reply, readSocks4Request, readSocks5Greeting, readSocks5Reply, readSocks5Request, readUdpHeader,
  readUserPassAuth, readUserPassStatus, SocksParseError, AUTH_NONE, AUTH_USERPASS, AUTH_NO_ACCEPTABLE, CMD_CONNECT,
  CMD_UDP_ASSOCIATE,
} from './index.js';

const B = (...b: number[]) => Buffer.from(b);

/** Feeds `msg` one byte at a time: every proper prefix must ask for more, the whole must parse. */
function byteByByte<T>(read: (b: Buffer) => T | null, msg: Buffer): T {
  for (let i = 0; i < msg.length; i++) assert.equal(read(msg.subarray(0, i)), null, `prefix of ${i} bytes`);
  const r = read(msg);
  assert.notEqual(r, null);
  return r!;
}

function refuses(fn: () => unknown, kind: string, reply: number | null): void {
  assert.throws(fn, (e: unknown) => e instanceof SocksParseError && e.kind === kind && e.reply === reply);
}

describe('socks5 greeting', () => {
  it('parses incrementally and picks a method', () => {
    const g = byteByByte(readSocks5Greeting, B(5, 2, 0, 2));
    assert.equal(g.size, 4);
    assert.deepEqual([...g.methods], [0, 2]);
    assert.equal(chooseMethod(g.methods, false), AUTH_NONE);
    assert.equal(chooseMethod(g.methods, true), AUTH_USERPASS);
    assert.equal(chooseMethod(B(0), true), AUTH_NO_ACCEPTABLE);
    assert.deepEqual(encodeMethodSelection(0xff), B(5, 0xff));
  });
  it('refuses a wrong version at the first byte and 0 methods at the second', () => {
    refuses(() => readSocks5Greeting(B(4)), 'version', null);
    refuses(() => peekVersion(B(0x47)), 'version', null);
    refuses(() => readSocks5Greeting(B(5, 0)), 'methods', null);
  });
  it('accepts 255 methods only once all of them arrived', () => {
    const msg = Buffer.alloc(257, 3);
    msg[0] = 5;
    msg[1] = 255;
    assert.equal(readSocks5Greeting(msg.subarray(0, 200)), null);
    const g = readSocks5Greeting(msg)!;
    assert.equal(g.methods.length, 255);
    assert.equal(chooseMethod(g.methods, false), AUTH_NO_ACCEPTABLE);
  });
});

describe('socks5 request', () => {
  it('parses IPv4, IPv6 and domain targets', () => {
    assert.deepEqual(byteByByte(readSocks5Request, B(5, 1, 0, 1, 127, 0, 0, 1, 0, 80)), { command: 1, addr: { host: '127.0.0.1', port: 80, ipFamily: 4 }, size: 10 });
    const v6 = Buffer.concat([B(5, 1, 0, 4), Buffer.alloc(15), B(1), B(1, 0xbb)]);
    assert.deepEqual(byteByByte(readSocks5Request, v6).addr, { host: '::1', port: 443, ipFamily: 6 });
    const dom = Buffer.concat([B(5, 3, 0, 3, 11), Buffer.from('Example.COM'), B(0, 53)]);
    assert.deepEqual(byteByByte(readSocks5Request, dom), { command: CMD_UDP_ASSOCIATE, addr: { host: 'example.com', port: 53, ipFamily: 0 }, size: 18 });
  });
  it('treats a domain that is an IP literal as the IP', () => {
    const dom = Buffer.concat([B(5, 1, 0, 3, 9), Buffer.from('127.0.0.1'), B(0, 80)]);
    assert.deepEqual(readSocks5Request(dom)!.addr, { host: '127.0.0.1', port: 80, ipFamily: 4 });
  });
  it('refuses unknown commands (07), address types (08), bad domains and RSV (01) early', () => {
    refuses(() => readSocks5Request(B(5, 9)), 'command', 0x07);
    refuses(() => readSocks5Request(B(5, 1, 0, 2)), 'address-type', 0x08);
    refuses(() => readSocks5Request(B(5, 1, 7)), 'reserved', 0x01);
    refuses(() => readSocks5Request(B(5, 1, 0, 3, 0)), 'domain', 0x01);
    refuses(() => readSocks5Request(B(5, 1, 0, 3, 20, 0x61, 0x00)), 'domain', 0x01); // NUL before the rest arrived
    refuses(() => readSocks5Request(B(5, 1, 0, 3, 3, 0x61, 0x0a, 0x62, 0, 80)), 'domain', 0x01);
    refuses(() => readSocks5Request(B(5, 1, 0, 3, 2, 0x61, 0xc3, 0, 80)), 'domain', 0x01);
    refuses(() => readSocks5Request(B(4, 1)), 'version', 0x01);
  });
  it('encodes replies with and without a bound address', () => {
    assert.deepEqual(encodeSocks5Reply(9), B(5, 9, 0, 1, 0, 0, 0, 0, 0, 0));
    assert.deepEqual(encodeSocks5Reply(0, '10.1.2.3', 1080), B(5, 0, 0, 1, 10, 1, 2, 3, 4, 0x38));
    const r6 = encodeSocks5Reply(0, '2001:db8::1', 2);
    assert.equal(r6.length, 22);
    assert.deepEqual(readSocks5Reply(r6)!.bound, { host: '2001:db8::1', port: 2, ipFamily: 6 });
  });
});

describe('socks4 / socks4a request', () => {
  it('parses SOCKS4 with a user id', () => {
    const msg = Buffer.concat([B(4, 1, 0, 80, 10, 0, 0, 9), Buffer.from('bob'), B(0)]);
    assert.deepEqual(byteByByte(readSocks4Request, msg), { version: 4, command: 1, addr: { host: '10.0.0.9', port: 80, ipFamily: 4 }, userId: 'bob', is4a: false, size: 12 });
  });
  it('parses SOCKS4a with a domain', () => {
    const msg = Buffer.concat([B(4, 1, 1, 0xbb, 0, 0, 0, 1, 0), Buffer.from('Host.Test'), B(0)]);
    const r = byteByByte(readSocks4Request, msg);
    assert.equal(r.is4a, true);
    assert.deepEqual(r.addr, { host: 'host.test', port: 443, ipFamily: 0 });
  });
  it('refuses bad commands, empty or control-byte domains and endless fields', () => {
    refuses(() => readSocks4Request(B(4, 3)), 'command', null);
    refuses(() => readSocks4Request(B(4, 1, 0, 80, 0, 0, 0, 1, 0, 0)), 'domain', null);
    refuses(() => readSocks4Request(B(4, 1, 0, 80, 0, 0, 0, 1, 0, 0x61, 0x01)), 'domain', null);
    refuses(() => readSocks4Request(Buffer.concat([B(4, 1, 0, 80, 1, 2, 3, 4), Buffer.alloc(300, 0x61)])), 'field', null);
  });
  it('round-trips the client encoders and the 8-byte reply', () => {
    assert.deepEqual(readSocks4Request(encodeSocks4Request(CMD_CONNECT, '1.2.3.4', 8080, 'me'))!.addr, { host: '1.2.3.4', port: 8080, ipFamily: 4 });
    assert.deepEqual(readSocks4Request(encodeSocks4Request(CMD_CONNECT, 'a.test', 81))!.addr, { host: 'a.test', port: 81, ipFamily: 0 });
    assert.deepEqual(readSocks4Reply(encodeSocks4Reply(true)), { granted: true, code: 0x5a, size: 8 });
    assert.deepEqual(readSocks4Reply(encodeSocks4Reply(false)), { granted: false, code: 0x5b, size: 8 });
    assert.equal(readSocks4Reply(B(0, 0x5a, 0)), null);
  });
});

describe('RFC 1929 username/password', () => {
  it('round-trips and parses incrementally', () => {
    const msg = encodeUserPassAuth('alice', 'pässword');
    assert.deepEqual(byteByByte(readUserPassAuth, msg), { username: 'alice', password: 'pässword', size: msg.length });
    assert.deepEqual(readUserPassAuth(encodeUserPassAuth('u', '')), { username: 'u', password: '', size: 4 });
  });
  it('refuses a wrong sub-negotiation version and an empty username', () => {
    refuses(() => readUserPassAuth(B(5, 1)), 'version', null);
    refuses(() => readUserPassAuth(B(1, 0)), 'field', null);
    assert.throws(() => encodeUserPassAuth('', 'x'));
    assert.throws(() => encodeUserPassAuth('x', 'p'.repeat(256)));
  });
  it('encodes and reads the status', () => {
    assert.deepEqual(encodeUserPassStatus(true), B(1, 0));
    assert.deepEqual(encodeUserPassStatus(false), B(1, 1));
    assert.deepEqual(readUserPassStatus(B(1, 0)), { ok: true, size: 2 });
    assert.deepEqual(readUserPassStatus(B(1, 1)), { ok: false, size: 2 });
    assert.equal(readUserPassStatus(B(1)), null);
    refuses(() => readUserPassStatus(B(5, 0)), 'reply', null);
  });
});

describe('client side', () => {
  it('encodes greetings and requests that the server side reads back', () => {
    assert.deepEqual([...readSocks5Greeting(encodeSocks5Greeting([AUTH_NONE, AUTH_USERPASS]))!.methods], [0, 2]);
    assert.deepEqual(readSocks5Request(encodeSocks5Request(CMD_CONNECT, 'a.example', 443))!.addr, { host: 'a.example', port: 443, ipFamily: 0 });
    assert.deepEqual(readSocks5Request(encodeSocks5Request(CMD_CONNECT, '::ffff:1.2.3.4', 1))!.addr, { host: '1.2.3.4', port: 1, ipFamily: 4 });
    assert.deepEqual(readMethodSelection(B(5, 2)), { method: 2, size: 2 });
    refuses(() => readMethodSelection(B(4)), 'reply', null);
    assert.throws(() => encodeSocks5Greeting([]));
  });
  it('reads replies incrementally, with every address type', () => {
    const r = byteByByte(readSocks5Reply, Buffer.concat([B(5, 0, 0, 3, 4), Buffer.from('b.cd'), B(1, 0)]));
    assert.deepEqual(r, { reply: 0, bound: { host: 'b.cd', port: 256, ipFamily: 0 }, size: 11 });
    refuses(() => readSocks5Reply(B(5, 0, 1)), 'reserved', null);
  });
});

describe('UDP header', () => {
  it('round-trips datagrams to IPs and names', () => {
    const d = encodeUdpDatagram('127.0.0.1', 7, Buffer.from('ping'));
    const h = readUdpHeader(d);
    assert.deepEqual(h.addr, { host: '127.0.0.1', port: 7, ipFamily: 4 });
    assert.equal(h.frag, 0);
    assert.equal(d.subarray(h.dataOffset).toString(), 'ping');
    const n = readUdpHeader(encodeUdpDatagram('echo.test', 9, Buffer.alloc(0)));
    assert.deepEqual(n.addr, { host: 'echo.test', port: 9, ipFamily: 0 });
  });
  it('refuses short, non-zero RSV and truncated headers, and reports FRAG', () => {
    refuses(() => readUdpHeader(B(0, 0, 0)), 'field', null);
    refuses(() => readUdpHeader(B(0, 1, 0, 1, 1, 2, 3, 4, 0, 1)), 'reserved', null);
    refuses(() => readUdpHeader(B(0, 0, 0, 1, 1, 2)), 'field', null);
    assert.equal(readUdpHeader(B(0, 0, 3, 1, 1, 2, 3, 4, 0, 1)).frag, 3);
  });
});

describe('client helpers', () => {
  it('names reply codes as RFC 1928 does, and unknown ones by number', () => {
    assert.equal(socks5ReplyText(5), 'connection refused');
    assert.equal(socks5ReplyText(8), 'address type not supported');
    assert.equal(socks5ReplyText(0x2a), 'reply 0x2a');
  });
  it('a fixed UDP header followed by a payload reads back as that destination', () => {
    for (const [host, port] of [['192.0.2.1', 53], ['2001:db8::1', 443], ['example.com', 8080]] as const) {
      const head = encodeUdpHeader(host, port);
      const dgram = Buffer.concat([head, B(1, 2, 3)]);
      const h = readUdpHeader(dgram);
      assert.deepEqual([h.addr.host, h.addr.port, h.frag, h.dataOffset], [host, port, 0, head.length]);
      assert.deepEqual(dgram, encodeUdpDatagram(host, port, B(1, 2, 3)));
    }
  });
});
