import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { parseClientHello, TlsHelloError, type TlsHelloErrorKind } from './client-hello.js';

const MAX = 65536;

/**
 * Capture the first TLS record a real client sends to a loopback port: a plain TCP server reads until the
 * first record is complete and hangs up (the client's handshake then fails, which is expected).
 */
async function capture(connectClient: (port: number) => void): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      srv.close();
      reject(new Error('no ClientHello captured within 5s'));
    }, 5000);
    const srv = createServer((s) => {
      let got = Buffer.alloc(0);
      s.on('data', (d: Buffer) => {
        got = Buffer.concat([got, d]);
        if (got.length >= 5 && got.length >= 5 + got.readUInt16BE(3)) {
          clearTimeout(timer);
          s.destroy();
          srv.close();
          resolve(got.subarray(0, 5 + got.readUInt16BE(3)));
        }
      });
      s.on('error', () => {});
    });
    srv.listen(0, '127.0.0.1', () => connectClient((srv.address() as AddressInfo).port));
  });
}

function nodeHello(servername: string | undefined): Promise<Buffer> {
  return capture((port) => {
    const t = tlsConnect({ host: '127.0.0.1', port, ...(servername !== undefined ? { servername } : {}), rejectUnauthorized: false });
    t.on('error', () => {});
  });
}

function curlHello(name: string): Promise<Buffer> {
  return capture((port) => {
    execFile('curl', ['-sk', '--max-time', '3', '--resolve', `${name}:${port}:127.0.0.1`, `https://${name}:${port}/`], () => {});
  });
}

/** Re-frame one single-record hello into records of `sizes` handshake bytes each (the last takes the rest). */
function resplit(hello: Buffer, sizes: number[]): Buffer {
  const hs = hello.subarray(5);
  const out: Buffer[] = [];
  let at = 0;
  for (let i = 0; at < hs.length; i++) {
    const n = Math.min(sizes[Math.min(i, sizes.length - 1)]!, hs.length - at);
    const h = Buffer.from([0x16, 0x03, 0x01, n >> 8, n & 0xff]);
    out.push(h, hs.subarray(at, at + n));
    at += n;
  }
  return Buffer.concat(out);
}

/** Feed `b` one byte at a time: null until the last byte, then the result. */
function byteByByte(b: Buffer) {
  for (let i = 1; i < b.length; i++) assert.equal(parseClientHello(b.subarray(0, i), MAX), null, `prefix of ${i} bytes`);
  return parseClientHello(b, MAX);
}

function expectError(b: Uint8Array, kind: TlsHelloErrorKind, re: RegExp, max = MAX): void {
  assert.throws(() => parseClientHello(b, max), (e: unknown) => e instanceof TlsHelloError && e.kind === kind && re.test(e.message));
}

// ---- a hand-built hello, to break one field at a time ---------------------------------------------------

interface HelloParts {
  version?: number[];
  sessionId?: Buffer;
  ciphers?: Buffer;
  /** raw cipher suites length field (default: the real length) */
  ciphersLen?: number;
  compression?: Buffer;
  /** raw extensions block (length prefix included); default built from `exts` */
  extBlock?: Buffer;
  exts?: Array<[number, Buffer]>;
  hsType?: number;
}

const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);

function sniExt(...names: string[]): [number, Buffer] {
  const entries = Buffer.concat(names.map((n) => Buffer.concat([Buffer.from([0]), u16(n.length), Buffer.from(n, 'latin1')])));
  return [0, Buffer.concat([u16(entries.length), entries])];
}

function buildHello(p: HelloParts = {}): Buffer {
  const ciphers = p.ciphers ?? Buffer.from([0x13, 0x01, 0x13, 0x02]);
  const exts = p.exts ?? [sniExt('example.org'), [0x002b, Buffer.from([0x02, 0x03, 0x04])]];
  const extBody = Buffer.concat(exts.map(([t, d]) => Buffer.concat([u16(t), u16(d.length), d])));
  const body = Buffer.concat([
    Buffer.from(p.version ?? [0x03, 0x03]),
    Buffer.alloc(32, 7),
    Buffer.concat([Buffer.from([(p.sessionId ?? Buffer.alloc(0)).length]), p.sessionId ?? Buffer.alloc(0)]),
    u16(p.ciphersLen ?? ciphers.length), ciphers,
    p.compression ?? Buffer.from([1, 0]),
    p.extBlock ?? Buffer.concat([u16(extBody.length), extBody]),
  ]);
  const hs = Buffer.concat([Buffer.from([p.hsType ?? 1, body.length >> 16, (body.length >> 8) & 0xff, body.length & 0xff]), body]);
  return Buffer.concat([Buffer.from([0x16, 0x03, 0x01]), u16(hs.length), hs]);
}

describe('parseClientHello with real clients', () => {
  let nodeSni: Buffer;
  let nodeNoSni: Buffer;
  let curlSni: Buffer;
  before(async () => {
    nodeSni = await nodeHello('Www.Example.COM');
    nodeNoSni = await nodeHello(undefined);
    curlSni = await curlHello('sni.test');
  });

  it('reads the SNI of a node tls ClientHello, lowercased', () => {
    const r = parseClientHello(nodeSni, MAX);
    assert.equal(r?.serverName, 'www.example.com');
    assert.equal(r?.legacyVersion, 0x0303);
    assert.equal(r?.recordBytes, nodeSni.length);
  });

  it('reads the SNI of a curl ClientHello', () => {
    assert.equal(parseClientHello(curlSni, MAX)?.serverName, 'sni.test');
  });

  it('gives no name for a hello without server_name (node to an IP address)', () => {
    const r = parseClientHello(nodeNoSni, MAX);
    assert.ok(r);
    assert.equal(r.serverName, undefined);
  });

  it('waits for every byte when TCP delivers one at a time', () => {
    assert.equal(byteByByte(curlSni)?.serverName, 'sni.test');
  });

  it('joins a hello split over records, even with its 4-byte handshake header split', () => {
    const split = resplit(nodeSni, [1, 2, 7, 100]);
    assert.ok(split.length > nodeSni.length + 15);
    const r = byteByByte(split);
    assert.equal(r?.serverName, 'www.example.com');
    assert.equal(r?.recordBytes, split.length);
  });

  it('stops at the end of the hello and leaves what follows (a ChangeCipherSpec record)', () => {
    const ccs = Buffer.from([0x14, 0x03, 0x03, 0x00, 0x01, 0x01]);
    const r = parseClientHello(Buffer.concat([curlSni, ccs]), MAX);
    assert.equal(r?.recordBytes, curlSni.length);
  });

  it('refuses a real hello larger than the limit as soon as its header is in', () => {
    const hsLen = nodeSni.length - 5;
    expectError(nodeSni.subarray(0, 9), 'oversize', /exceeds the limit/, hsLen - 1);
    assert.equal(parseClientHello(nodeSni, hsLen)?.serverName, 'www.example.com');
  });
});

describe('parseClientHello with hostile input', () => {
  it('parses the hand-built baseline', () => {
    assert.equal(parseClientHello(buildHello(), MAX)?.serverName, 'example.org');
  });

  it('refuses bytes that are not a TLS handshake record', () => {
    expectError(Buffer.from('GET / HTTP/1.1\r\n'), 'not_tls', /not a TLS handshake/);
    expectError(Buffer.from([0x16, 0x47]), 'not_tls', /record version/);
    expectError(Buffer.from([0x16, 0x03, 0x09]), 'not_tls', /record version/);
  });

  it('refuses bad record framing', () => {
    expectError(Buffer.from([0x16, 0x03, 0x01, 0x40, 0x01]), 'invalid', /exceeds 2\^14/);
    expectError(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x00]), 'invalid', /empty handshake record/);
    const split = resplit(buildHello(), [10]);
    const alert = Buffer.from(split);
    alert[15] = 0x15; // the second record becomes an alert
    expectError(alert, 'invalid', /content type 21 inside/);
  });

  it('refuses a handshake message that is not a ClientHello', () => {
    expectError(buildHello({ hsType: 2 }), 'invalid', /not ClientHello/);
  });

  it('refuses a hello cut into absurdly many records', () => {
    const split = resplit(buildHello(), [1]);
    expectError(split, 'invalid', /more than \d+ records/, 100);
  });

  it('refuses a record that holds more than the hello', () => {
    const h = buildHello();
    const extra = Buffer.concat([h, Buffer.from([0x16])]);
    extra.writeUInt16BE(h.length - 5 + 1, 3);
    expectError(extra, 'invalid', /data after the ClientHello/);
  });

  it('refuses lengths that run past their container', () => {
    expectError(buildHello({ sessionId: Buffer.alloc(33) }), 'invalid', /session id of 33/);
    expectError(buildHello({ ciphersLen: 3 }), 'invalid', /cipher suites length 3/);
    expectError(buildHello({ ciphersLen: 4000 }), 'invalid', /compression|extensions|cipher/);
    expectError(buildHello({ compression: Buffer.from([200, 0]) }), 'invalid', /run past|ends before/);
    expectError(buildHello({ extBlock: Buffer.from([0x00, 0x30, 0x00, 0x00]) }), 'invalid', /disagrees/);
    expectError(buildHello({ extBlock: Buffer.from([0x00, 0x04, 0x00, 0x00, 0x00, 0x10]) }), 'invalid', /runs past/);
    expectError(buildHello({ exts: [[0, Buffer.from([0x00, 0x09, 0x00, 0x00, 0x03, 0x61, 0x2e, 0x62])]] }), 'invalid', /list length/);
    expectError(buildHello({ exts: [[0, Buffer.from([0x00, 0x06, 0x00, 0x00, 0x09, 0x61, 0x62, 0x63])]] }), 'invalid', /runs past its list/);
  });

  it('refuses duplicate extensions and two host names, and forgets them for the next hello', () => {
    expectError(buildHello({ exts: [[0x10, Buffer.from([0, 0])], [0x10, Buffer.from([0, 0])]] }), 'invalid', /appears twice/);
    expectError(buildHello({ exts: [sniExt('a.example', 'b.example')] }), 'invalid', /two host names/);
    assert.equal(parseClientHello(buildHello({ exts: [[0x10, Buffer.from([0, 0])], sniExt('ok.example')] }), MAX)?.serverName, 'ok.example');
  });

  it('refuses server names that are not host names', () => {
    expectError(buildHello({ exts: [sniExt('bad name.example')] }), 'invalid', /byte 0x20/);
    expectError(buildHello({ exts: [sniExt('trailing.example.')] }), 'invalid', /ends with a dot/);
    expectError(buildHello({ exts: [sniExt('a..b')] }), 'invalid', /empty label/);
    expectError(buildHello({ exts: [sniExt('192.0.2.1')] }), 'invalid', /IP literal/);
    expectError(buildHello({ exts: [sniExt(`${'a'.repeat(64)}.example`)] }), 'invalid', /longer than 63/);
    expectError(buildHello({ exts: [sniExt('\u00e9.example')] }), 'invalid', /byte 0xe9/);
  });

  it('accepts a TLS 1.2 hello without extensions', () => {
    const h = buildHello({ extBlock: Buffer.alloc(0) });
    const r = parseClientHello(h, MAX);
    assert.ok(r);
    assert.equal(r.serverName, undefined);
  });
});
