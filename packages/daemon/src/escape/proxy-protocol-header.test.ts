import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeProxyHeader, ipBytes, splitSockAddr } from './proxy-protocol-header.js';

describe('PROXY protocol header', () => {
  it('v1 TCP4 and UNKNOWN', () => {
    const h = encodeProxyHeader(1, splitSockAddr('192.0.2.1:5000'), splitSockAddr('198.51.100.2:8080'));
    assert.equal(h.toString(), 'PROXY TCP4 192.0.2.1 198.51.100.2 5000 8080\r\n');
    assert.equal(encodeProxyHeader(1, undefined, undefined).toString(), 'PROXY UNKNOWN\r\n');
  });
  it('v2 TCP6 bytes', () => {
    const h = encodeProxyHeader(2, splitSockAddr('[2001:db8::1]:1'), splitSockAddr('[::1]:2'));
    assert.equal(h.subarray(0, 12).toString('hex'), '0d0a0d0a000d0a515549540a');
    assert.equal(h[12], 0x21);
    assert.equal(h[13], 0x21);
    assert.equal(h.readUInt16BE(14), 36);
    assert.equal(h.subarray(16, 32).toString('hex'), '20010db8000000000000000000000001');
    assert.equal(h.readUInt16BE(48), 1);
    assert.equal(h.readUInt16BE(50), 2);
  });
  it('v2 TCP4 and LOCAL', () => {
    const h = encodeProxyHeader(2, { ip: '10.0.0.1', port: 1 }, { ip: '10.0.0.2', port: 2 });
    assert.equal(h.length, 16 + 12);
    assert.equal(h[13], 0x11);
    assert.equal(encodeProxyHeader(2, undefined, undefined).subarray(12).toString('hex'), '20000000');
  });
  it('ipBytes handles dotted tails and ::', () => {
    assert.equal(ipBytes('::ffff:1.2.3.4').toString('hex'), '00000000000000000000ffff01020304');
    assert.equal(ipBytes('fe80::').toString('hex'), 'fe800000000000000000000000000000');
  });
});
