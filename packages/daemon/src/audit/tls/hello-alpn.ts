/**
 * The ALPN protocol names of a ClientHello (RFC 7301). @sluice/protocol's parser gives SNI and the hello's
 * extent; this walks the same bytes for the application_layer_protocol_negotiation extension. The hello may
 * span several records: their handshake fragments are joined first. Anything malformed yields [].
 */
const RECORD_HEADER = 5;
const EXT_ALPN = 0x0010;

function handshakeBytes(buf: Uint8Array, recordBytes: number): Uint8Array | undefined {
  const parts: Uint8Array[] = [];
  let at = 0;
  while (at + RECORD_HEADER <= recordBytes) {
    const len = (buf[at + 3]! << 8) | buf[at + 4]!;
    if (buf[at] !== 0x16 || at + RECORD_HEADER + len > buf.length) return undefined;
    parts.push(buf.subarray(at + RECORD_HEADER, at + RECORD_HEADER + len));
    at += RECORD_HEADER + len;
  }
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

export function clientHelloAlpn(buf: Uint8Array, recordBytes: number): string[] {
  const hs = handshakeBytes(buf, recordBytes);
  if (!hs || hs.length < 4 || hs[0] !== 0x01) return [];
  const end = Math.min(hs.length, 4 + ((hs[1]! << 16) | (hs[2]! << 8) | hs[3]!));
  // header(4) legacy_version(2) random(32)
  let at = 4 + 2 + 32;
  const u8 = () => (at < end ? hs[at++]! : -1);
  const u16 = () => (at + 2 <= end ? ((hs[at++]! << 8) | hs[at++]!) : -1);
  const sessionIdLen = u8();
  if (sessionIdLen < 0) return [];
  at += sessionIdLen;
  const suitesLen = u16();
  if (suitesLen < 0) return [];
  at += suitesLen;
  const compressionLen = u8();
  if (compressionLen < 0) return [];
  at += compressionLen;
  const extsLen = u16();
  if (extsLen < 0) return [];
  const extsEnd = Math.min(end, at + extsLen);
  while (at + 4 <= extsEnd) {
    const type = u16();
    const len = u16();
    if (type !== EXT_ALPN) {
      at += len;
      continue;
    }
    const listEnd = Math.min(extsEnd, at + 2 + ((hs[at]! << 8) | hs[at + 1]!));
    at += 2;
    const out: string[] = [];
    while (at < listEnd) {
      const n = hs[at++]!;
      if (n === 0 || at + n > listEnd) return [];
      out.push(Buffer.from(hs.buffer, hs.byteOffset + at, n).toString('latin1'));
      at += n;
    }
    return out;
  }
  return [];
}
