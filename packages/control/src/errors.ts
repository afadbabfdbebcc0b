/**
 * The two ways a control call fails, kept apart because sluice-ctl reports them differently (as g3proxy-ctl
 * does): the daemon answered with an error (`api error (code: -1, reason: ...)`), or the conversation itself
 * broke — connect failure, timeout, closed socket, unreadable reply (`rpc error: ...`).
 */

/** g3's OperationResult error code for "the operation failed". */
export const API_ERROR_CODE = -1;

/** The daemon answered `{"error": {code, reason}}`. Handlers may throw it to pick the code. */
export class ControlApiError extends Error {
  readonly code: number;
  readonly reason: string;
  constructor(code: number, reason: string) {
    super(reason);
    this.code = code;
    this.reason = reason;
  }
  override get name(): string {
    return 'ControlApiError';
  }
}

/** The transport failed; no daemon answer is available. */
export class ControlRpcError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
  override get name(): string {
    return 'ControlRpcError';
  }
}
