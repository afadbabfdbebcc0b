import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c, encodeProxyHeader, encodeProxyV1, encodeProxyV2, PP2_TYPE, ProxyHeaderDecoder, ProxyProtocolError } from './codec.js';

const v4 = { source: { ip: '192.0.2.10', port: 51234 }, destination: { ip: '198.51.100.1', port: 8080 } };
const v6 = { source: { ip: '2001:db8::1', port: 1 }, destination: { ip: '::ffff:10.0.0.1', port: 65535 } };

/** feed `b` one byte at a time; the header must come out exactly at its last byte */
function byteByByte(b: Buffer, extra = Buffer.alloc(0)) {
  const d = new ProxyHeaderDecoder();
  const all = Buffer.concat([b, extra]);
  for (let i = 0; i < b.length - 1; i++) assert.equal(d.push(all.subarray(i, i + 1)), null, `byte ${i}`);
  const r = d.push(all.subarray(b.length - 1));
  assert.ok(r);
  return r;
}

describe('PROXY protocol v1', () => {
  it('decodes TCP4 and TCP6 lines, incrementally, leaving the rest', () => {
    const r = byteByByte(Buffer.from('PROXY TCP4 192.0.2.10 198.51.100.1 51234 8080\r\n'), Buffer.from('GET / HTTP/1.1\r\n'));
    assert.deepEqual(r.header.source, v4.source);
    assert.deepEqual(r.header.destination, v4.destination);
    assert.equal(r.header.version, 1);
    assert.equal(r.header.command, 'proxy');
    assert.equal(r.rest.toString(), 'GET / HTTP/1.1\r\n');
    const r6 = new ProxyHeaderDecoder().push(Buffer.from('PROXY TCP6 2001:db8::1 ::1 1 2\r\n'))!;
    assert.equal(r6.header.family, 'inet6');
    assert.equal(r6.header.source!.ip, '2001:db8::1');
    assert.equal(r6.rest.length, 0);
  });

  it('treats UNKNOWN as local', () => {
    const r = new ProxyHeaderDecoder().push(Buffer.from('PROXY UNKNOWN ffff::1 ::1 1 2\r\nX'))!;
    assert.equal(r.header.command, 'local');
    assert.equal(r.header.source, undefined);
    assert.equal(r.rest.toString(), 'X');
  });

  it('rejects malformed lines at once', () => {
    const bad = [
      'GET / HTTP/1.1\r\n', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n', 'PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n',
      'PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n', 'PROXY TCP4 ::1 5.6.7.8 1 2\r\n',
      'PROXY TCP6 1.2.3.4 ::1 1 2\r\n', 'PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n',
      'PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n', 'PROXX TCP4',
    ];
    for (const s of bad) assert.throws(() => new ProxyHeaderDecoder().push(Buffer.from(s)), ProxyProtocolError, s);
    assert.throws(() => new ProxyHeaderDecoder().push(Buffer.from(`PROXY ${'x'.repeat(120)}`)), /too long/);
    assert.throws(() => new ProxyHeaderDecoder({ versions: [2] }).push(Buffer.from('PROXY TCP4')), /v1/);
  });

  it('encodes what it decodes', () => {
    assert.equal(encodeProxyV1(v4).toString(), 'PROXY TCP4 192.0.2.10 198.51.100.1 51234 8080\r\n');
    assert.equal(encodeProxyV1(null).toString(), 'PROXY UNKNOWN\r\n');
    const r = new ProxyHeaderDecoder().push(encodeProxyV1(v6))!;
    assert.deepEqual(r.header.source, v6.source);
    assert.throws(() => encodeProxyV1({ source: v4.source, destination: v6.destination }), ProxyProtocolError);
  });
});

describe('PROXY protocol v2', () => {
  it('round-trips IPv4 with TLVs and a CRC, fed byte by byte', () => {
    const tlvs = [{ type: PP2_TYPE.AUTHORITY, value: Buffer.from('example.com') }, { type: 0xe0, value: Buffer.from([1, 2, 3]) }];
    const b = encodeProxyV2(v4, tlvs, true);
    const r = byteByByte(b, Buffer.from([0x16, 0x03]));
    assert.equal(r.header.version, 2);
    assert.equal(r.header.command, 'proxy');
    assert.equal(r.header.family, 'inet');
    assert.equal(r.header.transport, 'stream');
    assert.deepEqual(r.header.source, v4.source);
    assert.deepEqual(r.header.destination, v4.destination);
    assert.equal(r.header.tlvs.length, 3);
    assert.equal(r.header.tlvs[0]!.value.toString(), 'example.com');
    assert.equal(r.header.tlvs[2]!.type, PP2_TYPE.CRC32C);
    assert.equal(r.header.length, b.length);
    assert.deepEqual([...r.rest], [0x16, 0x03]);
  });

  it('round-trips IPv6 and prints addresses compressed', () => {
    const r = new ProxyHeaderDecoder().push(encodeProxyV2(v6))!;
    assert.equal(r.header.family, 'inet6');
    assert.equal(r.header.source!.ip, '2001:db8::1');
    assert.equal(r.header.destination!.ip, '::ffff:a00:1');
    assert.equal(r.header.destination!.port, 65535);
  });

  it('decodes LOCAL without addresses', () => {
    const r = new ProxyHeaderDecoder().push(encodeProxyV2(null))!;
    assert.equal(r.header.command, 'local');
    assert.equal(r.header.family, 'unspec');
    assert.equal(r.header.source, undefined);
  });

  it('rejects bad signatures, versions, commands, families, truncated TLVs, CRC mismatches and oversize headers', () => {
    const good = encodeProxyV2(v4, [{ type: 0xe1, value: Buffer.from('ab') }], true);
    const mutate = (i: number, v: number) => { const c = Buffer.from(good); c[i] = v; return c; };
    assert.throws(() => new ProxyHeaderDecoder().push(mutate(5, 0x0e)), /signature/);
    assert.throws(() => new ProxyHeaderDecoder().push(mutate(12, 0x31)), /version/);
    assert.throws(() => new ProxyHeaderDecoder().push(mutate(12, 0x22)), /command/);
    assert.throws(() => new ProxyHeaderDecoder().push(mutate(13, 0x41)), /family/);
    assert.throws(() => new ProxyHeaderDecoder().push(mutate(31, 0x62)), /CRC32C/); // a TLV value byte changed
    const trunc = Buffer.from(good);
    trunc.writeUInt16BE(good.length - 16 - 1, 14); // header ends inside the last TLV
    assert.throws(() => new ProxyHeaderDecoder().push(trunc), /TLV/);
    const short = encodeProxyV2(v4);
    short.writeUInt16BE(4, 14); // too short for an inet address block
    assert.throws(() => new ProxyHeaderDecoder().push(short), /too short/);
    const big = Buffer.from(good);
    big.writeUInt16BE(60000, 14);
    assert.throws(() => new ProxyHeaderDecoder().push(big), /larger than/);
    assert.throws(() => new ProxyHeaderDecoder({ versions: [1] }).push(good), /v2/);
  });

  it('computes CRC-32C like the reference vector', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  });
});

describe('encodeProxyHeader (towards a next hop)', () => {
  it('announces known same-family ends and decodes back to them', () => {
    for (const version of [1, 2] as const) {
      const h = new ProxyHeaderDecoder().push(encodeProxyHeader(version, v4.source, v4.destination))!.header;
      assert.equal(h.command, 'proxy');
      assert.deepEqual([h.source, h.destination], [v4.source, v4.destination]);
    }
    const b = encodeProxyHeader(2, { ip: '2001:db8::1', port: 1 }, { ip: '::1', port: 2 });
    assert.equal(b[13], 0x21);
    assert.equal(b.readUInt16BE(14), 36);
    assert.equal(b.subarray(16, 32).toString('hex'), '20010db8000000000000000000000001');
  });
  it('falls back to UNKNOWN / LOCAL when an end is unknown or the families differ', () => {
    assert.equal(encodeProxyHeader(1, undefined, v4.destination).toString(), 'PROXY UNKNOWN\r\n');
    assert.equal(encodeProxyHeader(1, v4.source, { ip: '::1', port: 2 }).toString(), 'PROXY UNKNOWN\r\n');
    const local = encodeProxyHeader(2, v4.source, undefined);
    assert.equal(local.subarray(12).toString('hex'), '20000000');
    assert.equal(new ProxyHeaderDecoder().push(local)!.header.command, 'local');
  });
});
