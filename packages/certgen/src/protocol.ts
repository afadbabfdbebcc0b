/**
 * g3's certificate generator wire format: one msgpack map per UDP datagram, keys given by name or by
 * numeric id (g3proxy itself sends ids). Request keys and response keys use different id tables.
 */
import { decode, encode } from '@msgpack/msgpack';

const REQ_ID: Record<number, string> = { 1: 'host', 2: 'service', 3: 'cert', 4: 'usage' };
const RSP_ID = { host: 1, service: 2, cert: 3, key: 4, ttl: 5, usage: 6 } as const;

/** service and usage travel as a name or as g3's u8 enum value; both forms are echoed back as received */
export type EnumValue = string | number;

export interface CertRequest {
  host: string;
  service: EnumValue;
  usage: EnumValue;
  /** the upstream's real leaf certificate, PEM text or DER bytes */
  cert?: string | Uint8Array;
  /** whether the request used numeric keys: the response mirrors it */
  byId: boolean;
}

export interface CertResponse {
  host: string;
  service: EnumValue;
  usage: EnumValue;
  /** leaf PEM, followed by the CA chain unless no_append_ca_cert */
  cert: string;
  /** PKCS#8 PEM */
  key: string;
  ttl: number;
}

export class BadRequest extends Error {}

const SERVICE_NAMES: Record<number, string> = { 0: 'http', 1: 'smtp', 2: 'imap' };
const USAGE_NAMES: Record<number, string> = { 0: 'tls_server', 1: 'tls_server_tongsuo', 11: 'tlcp_server_signature', 12: 'tlcp_server_encryption' };

/** the canonical name of a service value, for cache keys (`0` and `"http"` are the same service) */
export function serviceName(v: EnumValue): string {
  return typeof v === 'number' ? (SERVICE_NAMES[v] ?? `#${v}`) : v;
}
export function usageName(v: EnumValue): string {
  return typeof v === 'number' ? (USAGE_NAMES[v] ?? `#${v}`) : v;
}

function enumValue(v: unknown, key: string): EnumValue {
  if (typeof v === 'string' && v.length > 0 && v.length <= 64) return v.toLowerCase();
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 255) return v;
  throw new BadRequest(`invalid ${key} value`);
}

/** Decode one request datagram; throws BadRequest (or msgpack's own error) on anything malformed. */
export function decodeRequest(buf: Uint8Array): CertRequest {
  const root = decode(buf, { useBigInt64: false });
  if (root === null || typeof root !== 'object' || Array.isArray(root) || root instanceof Uint8Array) {
    throw new BadRequest('request root is not a map');
  }
  const out: CertRequest = { host: '', service: 'http', usage: 'tls_server', byId: false };
  for (const [rawKey, v] of Object.entries(root as Record<string, unknown>)) {
    // msgpack maps with integer keys decode into object keys "1", "2", ...
    let key = rawKey;
    if (/^\d+$/.test(rawKey)) {
      key = REQ_ID[Number(rawKey)] ?? '';
      out.byId = true;
    }
    switch (key) {
      case 'host':
        if (typeof v !== 'string' || v.length === 0 || v.length > 255) throw new BadRequest('invalid host value');
        out.host = v;
        break;
      case 'service':
        out.service = enumValue(v, 'service');
        break;
      case 'usage':
        out.usage = enumValue(v, 'usage');
        break;
      case 'cert':
        if (typeof v === 'string' || v instanceof Uint8Array) out.cert = v;
        else throw new BadRequest('invalid cert value');
        break;
      default:
        throw new BadRequest(`unknown key ${rawKey}`);
    }
  }
  if (!out.host) throw new BadRequest('no host value set');
  return out;
}

/** Encode a response with the same key style the request used. */
export function encodeResponse(r: CertResponse, byId: boolean): Uint8Array {
  if (!byId) return encode({ host: r.host, service: r.service, usage: r.usage, cert: r.cert, key: r.key, ttl: r.ttl });
  return encodeIdMap([
    [RSP_ID.host, r.host], [RSP_ID.service, r.service], [RSP_ID.usage, r.usage],
    [RSP_ID.cert, r.cert], [RSP_ID.key, r.key], [RSP_ID.ttl, r.ttl],
  ]);
}

/**
 * A msgpack map with integer keys. @msgpack/msgpack only encodes plain objects (string keys), so the map
 * header is written here and each key and value is encoded on its own.
 */
export function encodeIdMap(entries: ReadonlyArray<readonly [number, unknown]>): Uint8Array {
  if (entries.length > 15) throw new RangeError('id map too large for a fixmap');
  const parts: Uint8Array[] = [Uint8Array.of(0x80 | entries.length)];
  for (const [k, v] of entries) parts.push(encode(k), encode(v));
  return Buffer.concat(parts);
}
