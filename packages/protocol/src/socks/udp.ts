/**
 * The SOCKS5 UDP request header (RFC 1928 §7): RSV(2)=0 FRAG ATYP DST.ADDR DST.PORT DATA. Fragmentation is
 * optional in the RFC and not implemented: a datagram with FRAG != 0 is reported so the caller drops it.
 */
import { addressSize, readAddress, writeAddress, type SocksAddress } from './address.js';
import { SocksParseError } from './errors.js';

export interface UdpHeader {
  addr: SocksAddress;
  frag: number;
  /** offset of the payload in the datagram */
  dataOffset: number;
}

/** Parses the header of a whole datagram; throws when it is malformed or truncated. */
export function readUdpHeader(dgram: Buffer): UdpHeader {
  if (dgram.length < 4) throw new SocksParseError('field', `UDP datagram of ${dgram.length} bytes has no SOCKS header`, null);
  if (dgram[0] !== 0 || dgram[1] !== 0) throw new SocksParseError('reserved', 'UDP header reserved bytes are not 0', null);
  const a = readAddress(dgram, 3);
  if (!a) throw new SocksParseError('field', 'UDP header truncated', null);
  return { addr: a.addr, frag: dgram[2]!, dataOffset: a.end };
}

/** Header size for `host`. */
export function udpHeaderSize(host: string): number {
  return 3 + addressSize(host);
}

/** Writes the header for `host:port` at the start of `out` (FRAG 0); returns the payload offset. */
export function writeUdpHeader(out: Buffer, host: string, port: number): number {
  out[0] = 0;
  out[1] = 0;
  out[2] = 0;
  return writeAddress(out, 3, host, port);
}

/** A whole datagram: header for `host:port` followed by `data` (one allocation). */
export function encodeUdpDatagram(host: string, port: number, data: Uint8Array): Buffer {
  const hl = udpHeaderSize(host);
  const out = Buffer.allocUnsafe(hl + data.length);
  writeUdpHeader(out, host, port);
  out.set(data, hl);
  return out;
}

/**
 * The header alone, for a sender with one fixed destination: it is built once and sent ahead of each payload as
 * a two-buffer datagram, so no datagram is copied.
 */
export function encodeUdpHeader(host: string, port: number): Buffer {
  const out = Buffer.allocUnsafe(udpHeaderSize(host));
  writeUdpHeader(out, host, port);
  return out;
}
