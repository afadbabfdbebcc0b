/**
 * A small MaxMind DB (format 2.0) writer for tests: an IPv4 search tree with 24-bit records, a data section of
 * maps/strings/uints, and the metadata block. Enough to produce databases the `maxmind` reader opens like a
 * GeoLite2 one, so GeoIP routing is tested on real lookups.
 */
type Value = string | number | { [k: string]: Value } | Value[];

function ctrl(type: number, size: number): Buffer {
  const ext = type > 7;
  const head = (t: number, s: number) => (ext ? [(0 << 5) | s, t - 7] : [(t << 5) | s]);
  if (size < 29) return Buffer.from(head(type, size));
  if (size < 285) return Buffer.from([...head(type, 29), size - 29]);
  const n = size - 285;
  return Buffer.from([...head(type, 30), n >> 8, n & 0xff]);
}

function encode(v: Value): Buffer {
  if (typeof v === 'string') {
    const b = Buffer.from(v);
    return Buffer.concat([ctrl(2, b.length), b]);
  }
  if (typeof v === 'number') {
    // uint32 (type 6), big-endian with leading zero bytes dropped
    const bytes: number[] = [];
    for (let x = v; x > 0; x = Math.floor(x / 256)) bytes.unshift(x & 0xff);
    return Buffer.concat([ctrl(6, bytes.length), Buffer.from(bytes)]);
  }
  if (Array.isArray(v)) return Buffer.concat([ctrl(11, v.length), ...v.map(encode)]);
  const entries = Object.entries(v);
  return Buffer.concat([ctrl(7, entries.length), ...entries.flatMap(([k, x]) => [encode(k), encode(x)])]);
}

function uint16(v: number): Buffer {
  return Buffer.concat([ctrl(5, 2), Buffer.from([v >> 8, v & 0xff])]);
}

interface TreeNode {
  kids: [TreeNode | number | null, TreeNode | number | null];
  index?: number;
}

/** Build a database: `networks` are IPv4 CIDRs mapped to records. */
export function buildMmdb(networks: Array<[string, Value]>, databaseType = 'GeoLite2-Country'): Buffer {
  const data: Buffer[] = [];
  let dataLen = 0;
  const root: TreeNode = { kids: [null, null] };
  for (const [cidr, rec] of networks) {
    const [ip, lenText] = cidr.split('/') as [string, string?];
    const prefix = lenText === undefined ? 32 : Number(lenText);
    const addr = ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
    const offset = dataLen;
    const enc = encode(rec);
    data.push(enc);
    dataLen += enc.length;
    let node = root;
    for (let bit = 0; bit < prefix; bit++) {
      const b = Math.floor(addr / 2 ** (31 - bit)) % 2 as 0 | 1;
      if (bit === prefix - 1) node.kids[b] = -1 - offset; // data marker (negative: offset)
      else {
        let next = node.kids[b];
        if (next === null || typeof next === 'number') {
          next = { kids: [null, null] };
          node.kids[b] = next;
        }
        node = next;
      }
    }
  }
  // number the nodes breadth-first
  const order: TreeNode[] = [];
  const queue: TreeNode[] = [root];
  while (queue.length) {
    const n = queue.shift()!;
    n.index = order.length;
    order.push(n);
    for (const k of n.kids) if (k && typeof k === 'object') queue.push(k);
  }
  const nodeCount = order.length;
  const tree = Buffer.alloc(nodeCount * 6);
  order.forEach((n, i) => {
    n.kids.forEach((k, side) => {
      let rec: number;
      if (k === null) rec = nodeCount; // no data
      else if (typeof k === 'number') rec = nodeCount + 16 + (-1 - k); // data section pointer
      else rec = k.index!;
      tree.writeUIntBE(rec, i * 6 + side * 3, 3);
    });
  });
  const meta = Buffer.concat([
    ctrl(7, 9),
    encode('node_count'), encode(nodeCount),
    encode('record_size'), uint16(24),
    encode('ip_version'), uint16(4),
    encode('database_type'), encode(databaseType),
    encode('languages'), encode(['en']),
    encode('binary_format_major_version'), uint16(2),
    encode('binary_format_minor_version'), uint16(0),
    encode('build_epoch'), encode(Math.floor(Date.now() / 1000)),
    encode('description'), encode({ en: 'sluice test database' }),
  ]);
  return Buffer.concat([tree, Buffer.alloc(16), ...data, Buffer.from([0xab, 0xcd, 0xef]), Buffer.from('MaxMind.com'), meta]);
}
