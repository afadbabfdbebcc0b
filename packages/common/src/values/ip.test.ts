import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IpNetworkTable } from './ip-table.js';
import { formatIpv6, ipBytes, ipFamily, normalizeIp, parseIpAddr, parseIpNetwork, parseIpv4 } from './ip.js';
import { assertValueError } from './test-helpers.js';

describe('normalizeIp', () => {
  it('returns canonical text for IPv4 and IPv6 literals', () => {
    const cases: [string, string][] = [
      ['192.168.1.10', '192.168.1.10'],
      ['0.0.0.0', '0.0.0.0'],
      ['255.255.255.255', '255.255.255.255'],
      ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
      ['2001:0db8::0001', '2001:db8::1'],
      ['::', '::'],
      ['::1', '::1'],
      ['1::', '1::'],
      ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
      ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
      ['fe80::1:2', 'fe80::1:2'],
      ['[2001:db8::1]', '2001:db8::1'],
      ['64:ff9b::1.2.3.4', '64:ff9b::102:304'],
    ];
    for (const [input, out] of cases) assert.equal(normalizeIp(input), out, input);
  });
  it('maps IPv4-mapped IPv6 to IPv4', () => {
    assert.equal(normalizeIp('::ffff:127.0.0.1'), '127.0.0.1');
    assert.equal(normalizeIp('::FFFF:7f00:1'), '127.0.0.1');
    assert.equal(ipFamily('::ffff:10.0.0.1'), 4);
  });
  it('returns null for anything else', () => {
    for (const s of ['', 'example.com', '1.2.3', '1.2.3.4.5', '01.2.3.4', '256.0.0.1', '1.2.3.4 ', ':1', '1:', '1:::2',
      '1::2::3', '12345::', '1:2:3:4:5:6:7:8:9', 'fe80::1%eth0', '[1.2.3.4]', '::1.2.3', 'g::1', '1.2.3.-4']) {
      assert.equal(normalizeIp(s), null, s);
    }
  });
  it('parses IPv4 to a uint32', () => {
    assert.equal(parseIpv4('10.0.0.1'), 0x0a000001);
    assert.equal(parseIpv4('255.255.255.255'), 0xffffffff);
    assert.equal(parseIpv4('1.2.3.4', 2, 7), -1);
    assert.equal(formatIpv6([0x20010db8, 0, 0, 1]), '2001:db8::1');
  });
});

describe('parseIpAddr and parseIpNetwork', () => {
  it('reads addresses', () => {
    assert.equal(parseIpAddr(' 10.0.0.1 '), '10.0.0.1');
    assertValueError(() => parseIpAddr('10.0.0.256'), /'10.0.0.256' is not a valid IP address/);
    assertValueError(() => parseIpAddr(10), /must be a string/);
  });
  it('reads networks and bare addresses', () => {
    const n = parseIpNetwork('10.0.0.0/8');
    assert.deepEqual({ ...n }, { family: 4, address: '10.0.0.0', prefix: 8, words: [0x0a000000], text: '10.0.0.0/8' });
    assert.equal(parseIpNetwork('192.168.1.1').text, '192.168.1.1/32');
    assert.equal(parseIpNetwork('2001:db8::/32').text, '2001:db8::/32');
    assert.equal(parseIpNetwork('::1').text, '::1/128');
    assert.equal(parseIpNetwork('0.0.0.0/0').text, '0.0.0.0/0');
    assert.equal(parseIpNetwork('::ffff:10.0.0.0/104').text, '10.0.0.0/8');
    assert.ok(Object.isFrozen(n));
  });
  it('refuses host bits, long prefixes and junk', () => {
    assertValueError(() => parseIpNetwork('10.0.0.1/8'), /host bits set \(did you mean 10.0.0.0\/8\?\)/);
    assertValueError(() => parseIpNetwork('2001:db8::1/32'), /did you mean 2001:db8::\/32/);
    assertValueError(() => parseIpNetwork('10.0.0.0/33'), /too long \(max 32/);
    assertValueError(() => parseIpNetwork('10.0.0.0/x'), /invalid prefix length 'x'/);
    assertValueError(() => parseIpNetwork('example.com/8'), /'example.com' in 'example.com\/8' is not a valid IP address/);
    assertValueError(() => parseIpNetwork('x'), /'x' is not a valid IP address or network/);
  });
});

describe('IpNetworkTable', () => {
  it('finds the longest matching prefix for both families', () => {
    const t = new IpNetworkTable<string>();
    for (const n of ['0.0.0.0/0', '10.0.0.0/8', '10.1.0.0/16', '10.1.2.3/32', '2001:db8::/32', '2001:db8:1::/48', '::/0']) {
      t.insert(parseIpNetwork(n), n);
    }
    assert.equal(t.lookup('10.1.2.3'), '10.1.2.3/32');
    assert.equal(t.lookup('10.1.2.4'), '10.1.0.0/16');
    assert.equal(t.lookup('10.2.0.1'), '10.0.0.0/8');
    assert.equal(t.lookup('11.0.0.1'), '0.0.0.0/0');
    assert.equal(t.lookup('2001:db8:1:2::5'), '2001:db8:1::/48');
    assert.equal(t.lookup('2001:db8:2::5'), '2001:db8::/32');
    assert.equal(t.lookup('2001:db9::5'), '::/0');
    // IPv4-mapped IPv6 is looked up as IPv4
    assert.equal(t.lookup('::ffff:10.1.2.3'), '10.1.2.3/32');
    assert.equal(t.lookup('not-an-ip'), undefined);
    assert.equal(t.lookupV4(0x0a010203), '10.1.2.3/32');
  });
  it('replaces the value of a network inserted twice', () => {
    const t = new IpNetworkTable<number>();
    t.insert(parseIpNetwork('10.0.0.0/8'), 1);
    t.insert(parseIpNetwork('10.0.0.0/8'), 2);
    assert.equal(t.size, 1);
    assert.equal(t.lookup('10.9.9.9'), 2);
    assert.equal(t.lookup('9.9.9.9'), undefined);
  });
  it('agrees with a linear scan on random data', () => {
    let seed = 12345;
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    const t = new IpNetworkTable<number>();
    const nets: { net: number; prefix: number }[] = [];
    for (let i = 0; i < 300; i++) {
      const prefix = 4 + (rnd() % 29);
      const net = prefix === 0 ? 0 : ((rnd() >>> (32 - prefix)) << (32 - prefix)) >>> 0;
      const text = `${net >>> 24}.${(net >>> 16) & 255}.${(net >>> 8) & 255}.${net & 255}/${prefix}`;
      t.insert(parseIpNetwork(text), nets.length);
      nets.push({ net, prefix });
    }
    for (let i = 0; i < 2000; i++) {
      // half the probes inside a known network, half random
      const base = nets[rnd() % nets.length]!;
      const addr = i % 2 === 0 ? (base.net | (rnd() & (0xffffffff >>> base.prefix))) >>> 0 : rnd();
      let best = -1;
      let bestLen = -1;
      nets.forEach((n, idx) => {
        const mask = n.prefix === 0 ? 0 : (0xffffffff << (32 - n.prefix)) >>> 0;
        // a later duplicate replaces the earlier value but keeps its slot: compare by prefix only
        if (((addr & mask) >>> 0) === n.net && n.prefix >= bestLen) {
          if (n.prefix > bestLen || idx > best) best = idx;
          bestLen = n.prefix;
        }
      });
      const got = t.lookupV4(addr);
      if (best < 0) assert.equal(got, undefined);
      else assert.deepEqual(nets[got!], nets[best]);
    }
  });
});

describe('ipBytes', () => {
  it('gives network-order bytes: 4 for IPv4 (mapped too), 16 for IPv6 (embedded IPv4 too)', () => {
    assert.deepEqual([...ipBytes('10.1.2.3')!], [10, 1, 2, 3]);
    assert.deepEqual([...ipBytes('::ffff:10.1.2.3')!], [10, 1, 2, 3]);
    assert.equal(ipBytes('2001:db8::1')!.toString('hex'), '20010db8000000000000000000000001');
    assert.equal(ipBytes('64:ff9b::1.2.3.4')!.toString('hex'), '0064ff9b000000000000000001020304');
    assert.equal(ipBytes('[::1]')!.length, 16);
    assert.equal(ipBytes('example.com'), null);
  });
});
