/**
 * A small, strict DNS message codec (RFC 1035) for a stub resolver: it encodes one-question A/AAAA queries and
 * parses responses. Parsing trusts nothing: every length is checked against the buffer, compression pointers
 * must point backwards (so they cannot loop), names are bounded to 255 octets, and record data of A/AAAA/CNAME/SOA
 * must have the exact shape its type demands.
 */

export const DNS_TYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, AAAA: 28, OPT: 41 } as const;
export const DNS_CLASS_IN = 1;
export const DNS_RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

const HEADER_LEN = 12;
const MAX_NAME_LEN = 255;
const MAX_LABEL_LEN = 63;
/** a name has at most 127 labels, so more pointer hops than that cannot be a real name */
const MAX_POINTER_HOPS = 127;

export class DnsFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DnsFormatError';
  }
}

export interface DnsQuestion {
  name: string;
  type: number;
  class: number;
}

export interface DnsRecord {
  /** owner name, lower-cased, without the trailing dot */
  name: string;
  type: number;
  class: number;
  ttl: number;
  /** A/AAAA: the address text; CNAME/NS: the target name; other types: undefined */
  value?: string;
  /** SOA only: the MINIMUM field, the negative-caching TTL of RFC 2308 */
  soaMinimum?: number;
}

export interface DnsMessage {
  id: number;
  /** QR bit: a response */
  response: boolean;
  opcode: number;
  authoritative: boolean;
  /** TC bit: the answer did not fit (UDP); ask again over TCP */
  truncated: boolean;
  recursionDesired: boolean;
  recursionAvailable: boolean;
  rcode: number;
  questions: DnsQuestion[];
  answers: DnsRecord[];
  authorities: DnsRecord[];
  additionals: DnsRecord[];
}

export interface QueryOptions {
  /** ask the server to recurse (default true) */
  recursionDesired?: boolean;
  /** add an EDNS(0) OPT record advertising this UDP payload size (RFC 6891); 0 ⇒ no OPT */
  ednsUdpSize?: number;
}

/** Writes `name` as DNS labels; rejects names a server could not have. */
function encodeName(name: string, out: number[]): void {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  if (trimmed.length === 0) {
    out.push(0);
    return;
  }
  let total = 1;
  for (const label of trimmed.split('.')) {
    const bytes = Buffer.from(label, 'latin1');
    if (bytes.length === 0) throw new DnsFormatError(`empty label in name '${name}'`);
    if (bytes.length > MAX_LABEL_LEN) throw new DnsFormatError(`label longer than ${MAX_LABEL_LEN} octets in '${name}'`);
    for (let i = 0; i < label.length; i++) {
      if (label.charCodeAt(i) > 0x7e || label.charCodeAt(i) < 0x21) throw new DnsFormatError(`name '${name}' has a byte a hostname cannot have`);
    }
    total += bytes.length + 1;
    if (total > MAX_NAME_LEN) throw new DnsFormatError(`name longer than ${MAX_NAME_LEN} octets: '${name}'`);
    out.push(bytes.length);
    for (const b of bytes) out.push(b);
  }
  out.push(0);
}

/** A one-question query, IN class. `id` is the 16-bit transaction id (0 for DNS-over-HTTPS, RFC 8484 §4.1). */
export function encodeQuery(id: number, name: string, type: number, opts: QueryOptions = {}): Buffer {
  if (!Number.isInteger(id) || id < 0 || id > 0xffff) throw new DnsFormatError(`query id ${id} out of range`);
  const bytes: number[] = [];
  const rd = opts.recursionDesired ?? true;
  const edns = opts.ednsUdpSize ?? 0;
  bytes.push(id >> 8, id & 0xff, rd ? 0x01 : 0x00, 0x00, 0, 1, 0, 0, 0, 0, 0, edns > 0 ? 1 : 0);
  encodeName(name, bytes);
  bytes.push(type >> 8, type & 0xff, 0, DNS_CLASS_IN);
  if (edns > 0) {
    // OPT pseudo-record: root owner, TYPE 41, CLASS = UDP payload size, TTL = ext-rcode/version/flags 0, no options
    bytes.push(0, 0, DNS_TYPE.OPT, (edns >> 8) & 0xff, edns & 0xff, 0, 0, 0, 0, 0, 0);
  }
  return Buffer.from(bytes);
}

/** Reads a possibly compressed name at `start`; returns it and the offset just after it in the record. */
export function readName(buf: Buffer, start: number): { name: string; next: number } {
  const labels: string[] = [];
  let pos = start;
  let next = -1;
  let hops = 0;
  let total = 1;
  // a pointer must go strictly before the place the current run of labels began: that forbids loops
  let floor = start;
  for (;;) {
    if (pos >= buf.length) throw new DnsFormatError('name runs past the end of the message');
    const len = buf[pos]!;
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= buf.length) throw new DnsFormatError('compression pointer runs past the end of the message');
      const target = ((len & 0x3f) << 8) | buf[pos + 1]!;
      if (target >= floor) throw new DnsFormatError('compression pointer does not point backwards');
      if (++hops > MAX_POINTER_HOPS) throw new DnsFormatError('too many compression pointers');
      if (next < 0) next = pos + 2;
      pos = target;
      floor = target;
      continue;
    }
    if (kind !== 0) throw new DnsFormatError(`reserved label type 0x${kind.toString(16)}`);
    if (len === 0) {
      if (next < 0) next = pos + 1;
      break;
    }
    if (pos + 1 + len > buf.length) throw new DnsFormatError('label runs past the end of the message');
    total += len + 1;
    if (total > MAX_NAME_LEN) throw new DnsFormatError(`name longer than ${MAX_NAME_LEN} octets`);
    labels.push(buf.toString('latin1', pos + 1, pos + 1 + len).toLowerCase());
    pos += 1 + len;
  }
  return { name: labels.join('.'), next };
}

function need(buf: Buffer, pos: number, n: number, what: string): void {
  if (pos + n > buf.length) throw new DnsFormatError(`${what} runs past the end of the message`);
}

function ipv6Text(buf: Buffer, at: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(at + i * 2).toString(16));
  // the longest run (≥2) of zero groups becomes '::' (RFC 5952)
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestAt < 0) return groups.join(':');
  return `${groups.slice(0, bestAt).join(':')}::${groups.slice(bestAt + bestLen).join(':')}`;
}

function readRecord(buf: Buffer, start: number): { rr: DnsRecord; next: number } {
  const { name, next: afterName } = readName(buf, start);
  need(buf, afterName, 10, 'record header');
  const type = buf.readUInt16BE(afterName);
  const klass = buf.readUInt16BE(afterName + 2);
  // TTLs are unsigned 31-bit; a set top bit means 0 (RFC 2181 §8)
  const rawTtl = buf.readUInt32BE(afterName + 4);
  const ttl = rawTtl > 0x7fffffff ? 0 : rawTtl;
  const rdLen = buf.readUInt16BE(afterName + 8);
  const rdAt = afterName + 10;
  need(buf, rdAt, rdLen, 'record data');
  const rdEnd = rdAt + rdLen;
  const rr: DnsRecord = { name, type, class: klass, ttl };
  if (klass === DNS_CLASS_IN || type === DNS_TYPE.SOA) {
    switch (type) {
      case DNS_TYPE.A:
        if (rdLen !== 4) throw new DnsFormatError(`A record with ${rdLen} octets of data`);
        rr.value = `${buf[rdAt]}.${buf[rdAt + 1]}.${buf[rdAt + 2]}.${buf[rdAt + 3]}`;
        break;
      case DNS_TYPE.AAAA:
        if (rdLen !== 16) throw new DnsFormatError(`AAAA record with ${rdLen} octets of data`);
        rr.value = ipv6Text(buf, rdAt);
        break;
      case DNS_TYPE.CNAME:
      case DNS_TYPE.NS: {
        const target = readName(buf, rdAt);
        if (target.next !== rdEnd) throw new DnsFormatError('name in record data does not fill it');
        rr.value = target.name;
        break;
      }
      case DNS_TYPE.SOA: {
        const mname = readName(buf, rdAt);
        const rname = readName(buf, mname.next);
        if (rname.next + 20 !== rdEnd) throw new DnsFormatError('SOA record data has the wrong length');
        rr.soaMinimum = buf.readUInt32BE(rname.next + 16);
        break;
      }
    }
  }
  return { rr, next: rdEnd };
}

/** Parses a whole message; throws DnsFormatError on anything malformed, including bytes after the last record. */
export function parseMessage(buf: Buffer): DnsMessage {
  if (buf.length < HEADER_LEN) throw new DnsFormatError(`message of ${buf.length} octets is shorter than a header`);
  const flags = buf.readUInt16BE(2);
  const counts = [buf.readUInt16BE(4), buf.readUInt16BE(6), buf.readUInt16BE(8), buf.readUInt16BE(10)] as const;
  // each question takes ≥5 octets and each record ≥11: counts that cannot fit are rejected before any loop
  if (HEADER_LEN + counts[0] * 5 + (counts[1] + counts[2] + counts[3]) * 11 > buf.length) {
    throw new DnsFormatError('section counts exceed the message length');
  }
  let pos = HEADER_LEN;
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < counts[0]; i++) {
    const { name, next } = readName(buf, pos);
    need(buf, next, 4, 'question');
    questions.push({ name, type: buf.readUInt16BE(next), class: buf.readUInt16BE(next + 2) });
    pos = next + 4;
  }
  const sections: DnsRecord[][] = [[], [], []];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s + 1]!; i++) {
      const { rr, next } = readRecord(buf, pos);
      sections[s]!.push(rr);
      pos = next;
    }
  }
  if (pos !== buf.length) throw new DnsFormatError(`${buf.length - pos} octets after the last record`);
  return {
    id: buf.readUInt16BE(0),
    response: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0x0f,
    authoritative: (flags & 0x0400) !== 0,
    truncated: (flags & 0x0200) !== 0,
    recursionDesired: (flags & 0x0100) !== 0,
    recursionAvailable: (flags & 0x0080) !== 0,
    rcode: flags & 0x000f,
    questions,
    answers: sections[0]!,
    authorities: sections[1]!,
    additionals: sections[2]!,
  };
}

/** Only the id and the TC bit, for a UDP reader deciding whether a datagram is its answer before parsing it. */
export function peekHeader(buf: Buffer): { id: number; response: boolean; truncated: boolean } | null {
  if (buf.length < HEADER_LEN) return null;
  return { id: buf.readUInt16BE(0), response: (buf[2]! & 0x80) !== 0, truncated: (buf[2]! & 0x02) !== 0 };
}

export interface AddressAnswer {
  addresses: string[];
  /**
   * With addresses: the smallest TTL along the CNAME chain and the address records. Without: the negative TTL
   * from the authority section's SOA (RFC 2308 §5: the smaller of its TTL and its MINIMUM), undefined if none.
   */
  ttl: number | undefined;
}

/**
 * The addresses a response gives for `name`/`type`, following CNAMEs within the answer section. The caller has
 * checked rcode and the question.
 */
export function extractAddresses(msg: DnsMessage, name: string, type: number): AddressAnswer {
  let owner = name.toLowerCase().replace(/\.$/, '');
  let ttl = Number.MAX_SAFE_INTEGER;
  // a chain longer than the records present would be a loop
  for (let hops = 0; hops <= msg.answers.length; hops++) {
    const alias = msg.answers.find((r) => r.type === DNS_TYPE.CNAME && r.class === DNS_CLASS_IN && r.name === owner);
    if (!alias) break;
    ttl = Math.min(ttl, alias.ttl);
    owner = alias.value!;
  }
  const addresses: string[] = [];
  for (const r of msg.answers) {
    if (r.type === type && r.class === DNS_CLASS_IN && r.name === owner && r.value !== undefined) {
      addresses.push(r.value);
      ttl = Math.min(ttl, r.ttl);
    }
  }
  if (addresses.length > 0) return { addresses, ttl };
  const soa = msg.authorities.find((r) => r.type === DNS_TYPE.SOA && r.soaMinimum !== undefined);
  return { addresses, ttl: soa ? Math.min(soa.ttl, soa.soaMinimum!) : undefined };
}

/**
 * Why `msg` is not the answer to our query (id, QR bit, opcode, echoed question), or null when it is. A stub
 * resolver drops such datagrams: they are late answers, strays or spoofing attempts.
 */
export function responseMismatch(msg: DnsMessage, id: number, name: string, type: number): string | null {
  if (!msg.response) return 'not a response';
  if (msg.id !== id) return `id ${msg.id} instead of ${id}`;
  if (msg.opcode !== 0) return `opcode ${msg.opcode}`;
  // FORMERR/NOTIMP answers may legitimately omit the question
  if (msg.questions.length === 0 && (msg.rcode === DNS_RCODE.FORMERR || msg.rcode === DNS_RCODE.NOTIMP)) return null;
  if (msg.questions.length !== 1) return `${msg.questions.length} questions`;
  const q = msg.questions[0]!;
  const want = name.toLowerCase().replace(/\.$/, '');
  if (q.name !== want || q.type !== type || q.class !== DNS_CLASS_IN) return `question ${q.name}/${q.type} does not match`;
  return null;
}
