import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BodyPump } from './body-pump.js';
import { forwardedLine, parseForwardedMode, parseServerId, viaHasPseudonym } from './forwarded.js';

function collect(): { out: Buffer[]; sink: (b: Buffer) => boolean; text: () => string } {
  const out: Buffer[] = [];
  return { out, sink: (b) => (out.push(Buffer.from(b)), true), text: () => Buffer.concat(out).toString('latin1') };
}

describe('BodyPump', () => {
  it('pushAfterHead writes the head before the first body bytes, and nothing when they are broken', () => {
    const c = collect();
    const p = new BodyPump('chunked', 0, true, c.sink, { maxLineLength: 16 });
    const end = p.pushAfterHead(Buffer.from('HEAD\r\n\r\n'), Buffer.from('3\r\nabc\r\n0\r\n\r\nX'));
    assert.equal(c.text(), 'HEAD\r\n\r\n3\r\nabc\r\n0\r\n\r\n');
    assert.equal(end, 13, 'the offset just after the body');
    assert.ok(p.done);
    const bad = collect();
    const q = new BodyPump('chunked', 0, true, bad.sink, { maxLineLength: 16 });
    assert.throws(() => q.pushAfterHead(Buffer.from('HEAD'), Buffer.from(`1${';x'.repeat(20)}\r\n`)));
    assert.equal(bad.out.length, 0, 'nothing was written');
    const more = collect();
    const r = new BodyPump('length', 10, false, more.sink);
    assert.equal(r.pushAfterHead(Buffer.from('H|'), Buffer.from('abc')), -1);
    assert.ok(r.push(Buffer.from('defghij')) === 7 && r.done);
    assert.equal(more.text(), 'H|abcdefghij');
  });

  it('re-frames a chunked body canonically (extensions and trailers dropped) and finds its end', () => {
    const c = collect();
    const p = new BodyPump('chunked', 0, true, c.sink);
    const input = Buffer.from('5;ext=1\r\nhello\r\n0\r\nX-Trailer: y\r\n\r\nNEXT');
    const end = p.push(input);
    assert.equal(input.subarray(end).toString(), 'NEXT');
    assert.ok(p.done);
    assert.equal(c.text(), '5\r\nhello\r\n0\r\n\r\n');
  });

  it('counts off a Content-Length body across pushes', () => {
    const c = collect();
    const p = new BodyPump('length', 6, false, c.sink);
    assert.equal(p.push(Buffer.from('abc')), -1);
    assert.equal(p.push(Buffer.from('defGET')), 3);
    assert.equal(c.text(), 'abcdef');
  });

  it('turns a close-delimited body into chunks ending at close', () => {
    const c = collect();
    const p = new BodyPump('close', 0, true, c.sink);
    p.push(Buffer.from('abc'));
    p.end();
    assert.equal(c.text(), '3\r\nabc\r\n0\r\n\r\n');
  });

  it('reports backpressure through flowing', () => {
    const p = new BodyPump('length', 4, false, () => false);
    p.push(Buffer.from('ab'));
    assert.equal(p.flowing, false);
  });

  it('throws on broken chunk framing', () => {
    const p = new BodyPump('chunked', 0, true, () => true);
    assert.throws(() => p.push(Buffer.from('zz\r\n')));
  });
});

describe('forwarded headers', () => {
  it('parses the forwarded header type like g3', () => {
    assert.equal(parseForwardedMode(undefined), 'classic');
    assert.equal(parseForwardedMode(true), 'classic');
    assert.equal(parseForwardedMode(false), 'none');
    assert.equal(parseForwardedMode('Standard'), 'standard');
    assert.equal(parseForwardedMode('none'), 'none');
    assert.throws(() => parseForwardedMode('sometimes'));
  });

  it('builds X-Forwarded-For and RFC 7239 Forwarded (IPv6 quoted)', () => {
    assert.equal(forwardedLine('classic', '10.0.0.1', '10.0.0.1:5000', '10.0.0.2:80'), 'X-Forwarded-For: 10.0.0.1\r\n');
    assert.equal(forwardedLine('standard', '::1', '[::1]:5000', '10.0.0.2:80'), 'Forwarded: for="[::1]:5000"; by=10.0.0.2:80\r\n');
    assert.equal(forwardedLine('none', '::1', '[::1]:5000', '10.0.0.2:80'), '');
  });

  it('checks server ids and finds a pseudonym in Via', () => {
    assert.equal(parseServerId('gw-1'), 'gw-1');
    assert.throws(() => parseServerId('a;b'));
    assert.throws(() => parseServerId('a\r\nb'));
    assert.ok(viaHasPseudonym('1.0 fred, HTTP/1.1 gw1 (sluice)', 'gw1'));
    assert.ok(!viaHasPseudonym('1.1 gw10', 'gw1'));
  });
});
