import { SluiceError, type ErrorCode } from '@sluice/common';

/** Limits applied while reading and parsing a message head. */
export interface HttpLimits {
  /** Largest head (start line + fields + final CRLF), in bytes. */
  maxHeadBytes: number;
  /** Most header fields in one head (and in one trailer section). */
  maxHeaderCount: number;
  /** Longest request-target, in bytes. */
  maxUriLength: number;
}

export const DEFAULT_HTTP_LIMITS: Readonly<HttpLimits> = Object.freeze({
  maxHeadBytes: 64 * 1024,
  maxHeaderCount: 100,
  maxUriLength: 8192,
});

/** Which peer a codec is reading from; it decides the status an error carries. */
export type HttpPeer = 'request' | 'response';

// One error code per status so the task log `reason` and metrics follow the shared error table.
function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 414:
      return 'CLIENT_URI_TOO_LONG';
    case 431:
      return 'CLIENT_HEAD_TOO_LARGE';
    case 501:
    case 505:
      return 'CLIENT_PROTOCOL_UNIMPLEMENTED';
    case 502:
      return 'UPSTREAM_PROTOCOL_INVALID';
    default:
      return 'CLIENT_PROTOCOL_INVALID';
  }
}

/**
 * A message that breaks HTTP/1.x syntax or framing rules.
 *
 * `status` is what to answer the client with: 400, 414, 431, 501 or 505 for something the client sent, 502 for
 * something the upstream sent. `detail` is a short fixed phrase for the task log.
 */
export class HttpParseError extends SluiceError {
  readonly status: number;
  readonly detail: string;
  constructor(status: number, detail: string) {
    super(codeForStatus(status), detail);
    this.status = status;
    this.detail = detail;
  }
  override get name(): string {
    return 'HttpParseError';
  }
}
