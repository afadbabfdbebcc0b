/**
 * Errors and the one table that maps an error to what the client sees and what the task log says.
 *
 * Every failure that ends a task is a SluiceError with a stable `code`. The task boundary turns it into
 * exactly one task outcome: the task log's `reason` (g3proxy's brief names, so existing log pipelines keep
 * working), the HTTP status or SOCKS reply sent to the client, and the metric tag.
 */

/** g3proxy's ServerTaskError brief names, written to the task log's `reason` field. */
export type TaskReason =
  | 'InternalServerError' | 'InternalAdapterError' | 'InternalResolverError' | 'InternalTlsClientError'
  | 'EscaperNotUsable' | 'ForbiddenByRule' | 'InvalidClientProtocol' | 'UnimplementedProtocol'
  | 'ClientTcpReadFailed' | 'ClientTcpWriteFailed' | 'ClientUdpRecvFailed' | 'ClientUdpSendFailed'
  | 'ClientAuthFailed' | 'ClientAppTimeout' | 'ClientAppError'
  | 'UpstreamNotResolved' | 'UpstreamNotConnected' | 'UpstreamNotAvailable' | 'InvalidUpstreamProtocol'
  | 'UpstreamReadFailed' | 'UpstreamWriteFailed' | 'UpstreamTlsHandshakeTimeout' | 'UpstreamTlsHandshakeFailed'
  | 'UpstreamNotNegotiated' | 'UpstreamAppUnavailable' | 'UpstreamAppTimeout' | 'UpstreamAppError'
  | 'ClosedByUpstream' | 'ClosedByClient' | 'ClosedEarlyByClient'
  | 'CanceledAsUserBlocked' | 'CanceledAsServerQuit' | 'Idle' | 'InterceptionError' | 'Finished'
  | 'UnclassifiedError';

/** SOCKS5 reply codes (RFC 1928 plus g3's 0x09 for a connect timeout). */
export const SocksReply = {
  Succeeded: 0x00,
  GeneralFailure: 0x01,
  NotAllowed: 0x02,
  NetworkUnreachable: 0x03,
  HostUnreachable: 0x04,
  ConnectionRefused: 0x05,
  TtlExpired: 0x06,
  CommandNotSupported: 0x07,
  AddressTypeNotSupported: 0x08,
  ConnectionTimedOut: 0x09,
} as const;
export type SocksReplyCode = (typeof SocksReply)[keyof typeof SocksReply];

interface Outcome {
  /** task log `reason` */
  reason: TaskReason;
  /** HTTP status sent to an HTTP proxy client (g3's custom 52x codes where g3 uses them) */
  http: number;
  /** SOCKS5 reply code */
  socks: SocksReplyCode;
}

const o = (reason: TaskReason, http: number, socks: SocksReplyCode): Outcome => ({ reason, http, socks });

/**
 * Stable error codes. The key is what code and tests match on; the value is the single source of what
 * the client sees (HTTP status, SOCKS reply) and what the task log records.
 */
export const ERROR_TABLE = {
  // client side
  CLIENT_PROTOCOL_INVALID: o('InvalidClientProtocol', 400, SocksReply.GeneralFailure),
  CLIENT_PROTOCOL_UNIMPLEMENTED: o('UnimplementedProtocol', 501, SocksReply.CommandNotSupported),
  CLIENT_ADDRESS_TYPE_UNSUPPORTED: o('InvalidClientProtocol', 400, SocksReply.AddressTypeNotSupported),
  CLIENT_HEAD_TOO_LARGE: o('InvalidClientProtocol', 431, SocksReply.GeneralFailure),
  CLIENT_URI_TOO_LONG: o('InvalidClientProtocol', 414, SocksReply.GeneralFailure),
  CLIENT_HEAD_TIMEOUT: o('ClientAppTimeout', 408, SocksReply.GeneralFailure),
  CLIENT_READ_FAILED: o('ClientTcpReadFailed', 400, SocksReply.GeneralFailure),
  CLIENT_WRITE_FAILED: o('ClientTcpWriteFailed', 400, SocksReply.GeneralFailure),
  CLIENT_CLOSED: o('ClosedByClient', 400, SocksReply.GeneralFailure),
  CLIENT_CLOSED_EARLY: o('ClosedEarlyByClient', 400, SocksReply.GeneralFailure),
  CLIENT_IDLE: o('Idle', 408, SocksReply.GeneralFailure),
  CLIENT_AUTH_REQUIRED: o('ClientAuthFailed', 407, SocksReply.NotAllowed),
  CLIENT_AUTH_FAILED: o('ClientAuthFailed', 407, SocksReply.NotAllowed),
  CLIENT_USER_BLOCKED: o('CanceledAsUserBlocked', 403, SocksReply.NotAllowed),
  CLIENT_RATE_LIMITED: o('ForbiddenByRule', 429, SocksReply.NotAllowed),
  SERVER_BUSY: o('InternalServerError', 503, SocksReply.GeneralFailure),
  SERVER_QUIT: o('CanceledAsServerQuit', 503, SocksReply.GeneralFailure),
  // policy
  FORBIDDEN_BY_RULE: o('ForbiddenByRule', 403, SocksReply.NotAllowed),
  FORBIDDEN_DESTINATION: o('ForbiddenByRule', 403, SocksReply.NotAllowed),
  FORBIDDEN_EGRESS_IP: o('ForbiddenByRule', 403, SocksReply.NotAllowed),
  ESCAPER_NOT_USABLE: o('EscaperNotUsable', 403, SocksReply.NotAllowed),
  /** an auditor's protocol policy refused the stream (unknown / timed-out protocol, a `block` policy) */
  PROTOCOL_BANNED: o('ForbiddenByRule', 403, SocksReply.NotAllowed),
  /** an auditor's interception of an application protocol failed */
  INTERCEPTION_FAILED: o('InterceptionError', 502, SocksReply.GeneralFailure),
  // resolve
  RESOLVE_FAILED: o('UpstreamNotResolved', 530, SocksReply.HostUnreachable),
  RESOLVE_DENIED: o('UpstreamNotResolved', 530, SocksReply.HostUnreachable),
  RESOLVE_NO_ADDRESS: o('UpstreamNotResolved', 530, SocksReply.HostUnreachable),
  RESOLVE_TIMEOUT: o('UpstreamNotResolved', 530, SocksReply.HostUnreachable),
  // upstream connect
  UPSTREAM_CONNECT_REFUSED: o('UpstreamNotConnected', 521, SocksReply.ConnectionRefused),
  UPSTREAM_CONNECT_RESET: o('UpstreamNotConnected', 521, SocksReply.ConnectionRefused),
  UPSTREAM_CONNECT_TIMEOUT: o('UpstreamNotConnected', 522, SocksReply.ConnectionTimedOut),
  UPSTREAM_UNREACHABLE: o('UpstreamNotConnected', 523, SocksReply.NetworkUnreachable),
  UPSTREAM_CONNECT_FAILED: o('UpstreamNotConnected', 502, SocksReply.GeneralFailure),
  UPSTREAM_TLS_HANDSHAKE_FAILED: o('UpstreamTlsHandshakeFailed', 525, SocksReply.GeneralFailure),
  UPSTREAM_TLS_HANDSHAKE_TIMEOUT: o('UpstreamTlsHandshakeTimeout', 525, SocksReply.ConnectionTimedOut),
  UPSTREAM_NOT_NEGOTIATED: o('UpstreamNotNegotiated', 502, SocksReply.GeneralFailure),
  /** the next proxy did not answer its handshake (CONNECT, SOCKS) within peer_negotiation_timeout */
  UPSTREAM_NEGOTIATION_TIMEOUT: o('UpstreamAppTimeout', 504, SocksReply.ConnectionTimedOut),
  // upstream application
  UPSTREAM_PROTOCOL_INVALID: o('InvalidUpstreamProtocol', 502, SocksReply.GeneralFailure),
  UPSTREAM_HEAD_TOO_LARGE: o('InvalidUpstreamProtocol', 502, SocksReply.GeneralFailure),
  UPSTREAM_HEAD_TIMEOUT: o('UpstreamAppTimeout', 504, SocksReply.ConnectionTimedOut),
  UPSTREAM_READ_FAILED: o('UpstreamReadFailed', 502, SocksReply.GeneralFailure),
  UPSTREAM_WRITE_FAILED: o('UpstreamWriteFailed', 502, SocksReply.GeneralFailure),
  UPSTREAM_CLOSED: o('ClosedByUpstream', 502, SocksReply.GeneralFailure),
  UPSTREAM_APP_ERROR: o('UpstreamAppError', 502, SocksReply.GeneralFailure),
  UPSTREAM_APP_UNAVAILABLE: o('UpstreamAppUnavailable', 503, SocksReply.GeneralFailure),
  // internal
  INTERNAL: o('InternalServerError', 500, SocksReply.GeneralFailure),
  INTERNAL_RESOLVER: o('InternalResolverError', 500, SocksReply.GeneralFailure),
  UNCLASSIFIED: o('UnclassifiedError', 500, SocksReply.GeneralFailure),
  // TLS interception (daemon audit/tls): g3's TlsInterceptionError kinds
  /** the cert agent's peer (g3fcgen, sluice-certgen) did not answer within query_wait_timeout */
  TLS_CERT_AGENT_TIMEOUT: o('InterceptionError', 502, SocksReply.GeneralFailure),
  /** the cert agent answered with a certificate or key that cannot be used */
  TLS_CERT_AGENT_INVALID: o('InterceptionError', 502, SocksReply.GeneralFailure),
  /** the upstream's certificate failed verification against tls_interception_client's CAs */
  UPSTREAM_TLS_VERIFY_FAILED: o('UpstreamTlsHandshakeFailed', 525, SocksReply.GeneralFailure),
  CLIENT_TLS_HANDSHAKE_FAILED: o('InterceptionError', 400, SocksReply.GeneralFailure),
  CLIENT_TLS_HANDSHAKE_TIMEOUT: o('ClientAppTimeout', 408, SocksReply.GeneralFailure),
} as const satisfies Record<string, Outcome>;

export type ErrorCode = keyof typeof ERROR_TABLE;

export class SluiceError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
  override get name(): string {
    return 'SluiceError';
  }
  get reason(): TaskReason {
    return ERROR_TABLE[this.code].reason;
  }
  get httpStatus(): number {
    return ERROR_TABLE[this.code].http;
  }
  get socksReply(): SocksReplyCode {
    return ERROR_TABLE[this.code].socks;
  }
}

export function isSluiceError(e: unknown): e is SluiceError {
  return e instanceof SluiceError;
}

/** Map a Node socket errno onto our connect error codes. */
export function connectErrorCode(err: unknown): ErrorCode {
  const code = (err as { code?: string } | null)?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'UPSTREAM_CONNECT_REFUSED';
    case 'ECONNRESET':
      return 'UPSTREAM_CONNECT_RESET';
    case 'ETIMEDOUT':
      return 'UPSTREAM_CONNECT_TIMEOUT';
    case 'ENETUNREACH':
    case 'EHOSTUNREACH':
    case 'EADDRNOTAVAIL':
      return 'UPSTREAM_UNREACHABLE';
    default:
      return 'UPSTREAM_CONNECT_FAILED';
  }
}

/** Wrap anything thrown into a SluiceError, keeping SluiceErrors as they are. */
export function toSluiceError(e: unknown, fallback: ErrorCode = 'UNCLASSIFIED'): SluiceError {
  if (e instanceof SluiceError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new SluiceError(fallback, msg, { cause: e });
}
