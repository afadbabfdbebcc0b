import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DNS_RCODE, DNS_TYPE, DnsFormatError, encodeQuery, extractAddresses, parseMessage, peekHeader, readName, responseMismatch,
} from './message.js';

/** Builds a response by hand, byte by byte, so the tests do not depend on the encoder under test. */
function header(id: number, flags: number, qd: number, an: number, ns: number, ar: number): number[] {
  const w = (v: number) => [v >> 8, v & 0xff];
  return [...w(id), ...w(flags), ...w(qd), ...w(an), ...w(ns), ...w(ar)];
}
function labels(...parts: string[]): number[] {
  return [...parts.flatMap((p) => [p.length, ...Buffer.from(p)]), 0];
}
function rr(owner: number[], type: number, ttl: number, data: number[]): number[] {
  return [...owner, type >> 8, type & 0xff, 0, 1, (ttl >>> 24) & 0xff, (ttl >> 16) & 0xff, (ttl >> 8) & 0xff, ttl & 0xff,
    data.length >> 8, data.length & 0xff, ...data];
}
const QNAME = labels('www', 'example', 'com'); // at offset 12
const PTR_QNAME = [0xc0, 12];

describe('encodeQuery', () => {
  it('writes header, question and an EDNS OPT record', () => {
    const q = encodeQuery(0x1234, 'www.Example.com.', DNS_TYPE.AAAA, { ednsUdpSize: 1232 });
    assert.deepEqual([...q.subarray(0, 12)], header(0x1234, 0x0100, 1, 0, 0, 1));
    assert.deepEqual([...q.subarray(12, 12 + 17)], labels('www', 'Example', 'com'));
    assert.deepEqual([...q.subarray(29, 33)], [0, 28, 0, 1]);
    assert.deepEqual([...q.subarray(33)], [0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
    // and our own parser reads it back
    const m = parseMessage(q);
    assert.equal(m.response, false);
    assert.deepEqual(m.questions, [{ name: 'www.example.com', type: 28, class: 1 }]);
    assert.equal(m.additionals[0]!.type, DNS_TYPE.OPT);
  });

  it('rejects names no server could hold', () => {
    assert.throws(() => encodeQuery(1, 'a..b', 1), DnsFormatError);
    assert.throws(() => encodeQuery(1, `${'x'.repeat(64)}.com`, 1), /longer than 63/);
    assert.throws(() => encodeQuery(1, Array(130).fill('ab').join('.'), 1), /longer than 255/);
    assert.throws(() => encodeQuery(1, 'bad name.com', 1), /cannot have/);
    assert.throws(() => encodeQuery(1, 'ü.com', 1), /cannot have/);
    assert.throws(() => encodeQuery(0x10000, 'a.com', 1), /out of range/);
  });
});

describe('parseMessage', () => {
  it('reads compressed answers, a CNAME chain, TTLs and flags', () => {
    const cnameTarget = labels('edge', 'cdn', 'net');
    const msg = Buffer.from([
      ...header(7, 0x8180, 1, 3, 0, 0),
      ...QNAME, 0, 1, 0, 1,
      ...rr(PTR_QNAME, DNS_TYPE.CNAME, 300, cnameTarget),
      // owner is the CNAME target, compressed as a pointer into the previous record's data
      ...rr([0xc0, 12 + 17 + 4 + 12], DNS_TYPE.A, 60, [192, 0, 2, 1]),
      ...rr([0xc0, 12 + 17 + 4 + 12], DNS_TYPE.A, 45, [192, 0, 2, 2]),
    ]);
    const m = parseMessage(msg);
    assert.equal(m.id, 7);
    assert.equal(m.response, true);
    assert.equal(m.recursionAvailable, true);
    assert.equal(m.truncated, false);
    assert.equal(m.rcode, DNS_RCODE.NOERROR);
    assert.equal(m.answers[0]!.value, 'edge.cdn.net');
    assert.equal(m.answers[1]!.name, 'edge.cdn.net');
    assert.equal(responseMismatch(m, 7, 'WWW.example.com.', DNS_TYPE.A), null);
    assert.deepEqual(extractAddresses(m, 'www.example.com', DNS_TYPE.A), { addresses: ['192.0.2.1', '192.0.2.2'], ttl: 45 });
    assert.deepEqual(extractAddresses(m, 'www.example.com', DNS_TYPE.AAAA).addresses, []);
  });

  it('reads AAAA text in RFC 5952 form and treats a TTL with the top bit set as 0', () => {
    const v6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    const m = parseMessage(Buffer.from([
      ...header(9, 0x8180, 1, 2, 0, 0), ...QNAME, 0, 28, 0, 1,
      ...rr(PTR_QNAME, DNS_TYPE.AAAA, 0x80000000, v6),
      ...rr(PTR_QNAME, DNS_TYPE.AAAA, 10, [0, 1, 0, 0, 0, 0, 0, 2, 0, 3, 0, 0, 0, 0, 0, 4]),
    ]));
    assert.equal(m.answers[0]!.value, '2001:db8::1');
    assert.equal(m.answers[0]!.ttl, 0);
    // two equal zero runs: the first one is shortened (RFC 5952 §4.2.3)
    assert.equal(m.answers[1]!.value, '1::2:3:0:0:4');
  });

  it('gives NXDOMAIN with the SOA negative TTL and the TC bit', () => {
    const soaData = [...labels('ns', 'example'), ...labels('admin', 'example'), 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 120];
    const m = parseMessage(Buffer.from([
      ...header(3, 0x8383, 1, 0, 1, 0), ...QNAME, 0, 1, 0, 1,
      ...rr(labels('example', 'com'), DNS_TYPE.SOA, 900, soaData),
    ]));
    assert.equal(m.rcode, DNS_RCODE.NXDOMAIN);
    assert.equal(m.truncated, true);
    assert.deepEqual(extractAddresses(m, 'www.example.com', DNS_TYPE.A), { addresses: [], ttl: 120 });
    assert.deepEqual(peekHeader(Buffer.from(header(3, 0x8383, 0, 0, 0, 0))), { id: 3, response: true, truncated: true });
  });

  it('names the mismatch of a stray answer', () => {
    const m = parseMessage(Buffer.from([...header(5, 0x8180, 1, 0, 0, 0), ...QNAME, 0, 1, 0, 1]));
    assert.match(responseMismatch(m, 6, 'www.example.com', 1)!, /id 5/);
    assert.match(responseMismatch(m, 5, 'other.example.com', 1)!, /does not match/);
    assert.match(responseMismatch(m, 5, 'www.example.com', 28)!, /does not match/);
    const q = parseMessage(encodeQuery(5, 'www.example.com', 1));
    assert.equal(responseMismatch(q, 5, 'www.example.com', 1), 'not a response');
  });

  it('stops a CNAME loop inside the answer', () => {
    const a = labels('a', 'test');
    const b = labels('b', 'test');
    const m = parseMessage(Buffer.from([
      ...header(1, 0x8180, 0, 2, 0, 0),
      ...rr(a, DNS_TYPE.CNAME, 5, b),
      ...rr(b, DNS_TYPE.CNAME, 5, a),
    ]));
    assert.deepEqual(extractAddresses(m, 'a.test', DNS_TYPE.A).addresses, []);
  });
});

describe('parseMessage on hostile input', () => {
  const bad = (bytes: number[], why: RegExp) => assert.throws(() => parseMessage(Buffer.from(bytes)), (e: unknown) => e instanceof DnsFormatError && why.test(e.message));

  it('rejects a pointer to itself and a forward pointer (loops)', () => {
    bad([...header(1, 0x8000, 1, 0, 0, 0), 0xc0, 12, 0, 1, 0, 1], /backwards/);
    bad([...header(1, 0x8000, 1, 0, 0, 0), 0xc0, 14, 0, 1, 0, 1, 0], /backwards/);
    // two names pointing at each other: the second jump would go forward again
    const buf = Buffer.from([...header(1, 0x8000, 0, 0, 0, 0), 1, 0x61, 0xc0, 16, 1, 0x62, 0xc0, 12]);
    assert.throws(() => readName(buf, 16), /backwards/);
  });

  it('rejects lengths past the end', () => {
    bad([1, 2, 3], /shorter than a header/);
    bad([...header(1, 0x8000, 1, 0, 0, 0), 5, 0x61, 0x62, 0, 1, 0, 1], /label runs past/);
    bad([...header(1, 0x8000, 1, 0, 0, 0), 0, 0, 1, 0], /question runs past|exceed/);
    bad([...header(1, 0x8000, 1, 1, 0, 0), ...QNAME, 0, 1, 0, 1, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 9, 1, 2, 3, 4], /record data runs past|exceed/);
    bad([...header(1, 0x8000, 0, 0, 0, 0), 0xc0], /after the last record/);
    bad([...header(1, 0x8000, 0, 0xffff, 0, 0)], /counts exceed/);
  });

  it('rejects malformed record data, reserved label types, overlong names and trailing bytes', () => {
    bad([...header(1, 0x8000, 0, 1, 0, 0), ...rr([0], DNS_TYPE.A, 1, [1, 2, 3])], /A record with 3/);
    bad([...header(1, 0x8000, 0, 1, 0, 0), ...rr([0], DNS_TYPE.AAAA, 1, [1, 2, 3, 4])], /AAAA record with 4/);
    bad([...header(1, 0x8000, 0, 1, 0, 0), ...rr([0], DNS_TYPE.CNAME, 1, [...labels('a'), 9])], /does not fill/);
    bad([...header(1, 0x8000, 1, 0, 0, 0), 0x41, 0, 1, 0, 1], /reserved label type/);
    const long = Array.from({ length: 5 }, () => [63, ...Array(63).fill(0x61)]).flat();
    bad([...header(1, 0x8000, 1, 0, 0, 0), ...long, 0, 0, 1, 0, 1], /longer than 255/);
    bad([...header(1, 0x8000, 1, 0, 0, 0), ...QNAME, 0, 1, 0, 1, 0xff], /after the last record/);
  });

  it('survives random bytes without anything but DnsFormatError', () => {
    let seed = 12345;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const base = encodeQuery(42, 'www.example.com', 1, { ednsUdpSize: 512 });
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.from(base);
      b[2] = 0x81;
      for (let k = 0; k < 4; k++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
      try {
        parseMessage(b);
      } catch (e) {
        assert.ok(e instanceof DnsFormatError, String(e));
      }
    }
  });
});
