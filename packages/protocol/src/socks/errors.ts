/**
 * Why a SOCKS message was refused. `reply` is the SOCKS5 reply code a server answers with (RFC 1928 §6), or
 * null when the message came before any reply is defined for it (a greeting, a SOCKS4 request: the server
 * closes, or answers with the protocol's own rejection form).
 */
export type SocksParseErrorKind =
  | 'version' // wrong protocol version byte
  | 'methods' // greeting with an impossible method count
  | 'command' // unknown or unsupported CMD
  | 'address-type' // unknown ATYP
  | 'domain' // domain of length 0, or with NUL / control / non-ASCII bytes
  | 'reserved' // RSV byte not zero
  | 'field' // a length-prefixed or NUL-terminated field out of bounds
  | 'reply'; // (client side) a reply that is not what the protocol allows

export class SocksParseError extends Error {
  constructor(
    readonly kind: SocksParseErrorKind,
    message: string,
    /** SOCKS5 reply code the server should send, or null to close without one */
    readonly reply: number | null,
  ) {
    super(message);
  }
  override get name(): string {
    return 'SocksParseError';
  }
}
