/**
 * Wire constants shared by the server and the client.
 *
 * A connection starts in g3proxy's line text mode; the line `json` switches it to JSON-lines RPC, where each
 * request is `{"id", "method", "params"}` and each reply `{"id", "result"}` or `{"id", "error": {code, reason}}`.
 */

/** g3's text-mode command bound. */
export const TEXT_LINE_MAX_BYTES = 1024;
/** JSON-mode bound: publish-user carries a whole user list in one line. */
export const JSON_LINE_MAX_BYTES = 1024 * 1024;

/** The text-mode command that switches a connection to JSON-lines RPC. */
export const JSON_MODE_COMMAND = 'json';

/** g3's text-mode defaults. */
export const DEFAULT_RECV_TIMEOUT_MS = 30_000;
export const DEFAULT_SEND_TIMEOUT_MS = 1_000;

export type RequestId = number | string;

export interface JsonRequest {
  id: RequestId;
  method: string;
  params?: Record<string, unknown>;
}

export interface JsonErrorBody {
  code: number;
  reason: string;
}

export type JsonReply =
  | { id: RequestId | null; result: unknown }
  | { id: RequestId | null; error: JsonErrorBody };
