/**
 * An upstream response head as the HTTP/1 servers relay it to their client: always HTTP/1.1 with the origin's
 * status and reason, minus hop-by-hop fields and the fields its Connection header names.
 */
import { HOP_BY_HOP, STATUS_TEXT, type ResponseHead } from '@sluice/protocol';

function statusAndFields(rsp: ResponseHead): string {
  let head = `HTTP/1.1 ${rsp.status} ${rsp.reason || STATUS_TEXT[rsp.status] || ''}\r\n`;
  const tokens = rsp.connectionTokens;
  for (const h of rsp.headers) {
    const n = h.lname;
    if (HOP_BY_HOP.has(n) || (tokens.length > 0 && tokens.includes(n))) continue;
    head += `${h.name}: ${h.value}\r\n`;
  }
  return head;
}

/** An interim response (100 Continue, 103 Early Hints): the fields as they came. */
export function interimResponseHead(rsp: ResponseHead): Buffer {
  return Buffer.from(`${statusAndFields(rsp)}\r\n`, 'latin1');
}

/**
 * The final response head.
 * @param extra the server's own fields, each ending in CRLF ('' for none)
 * @param chunked the body goes to the client chunked
 * @param keepClient the client connection stays open after this response
 * @param http10Client the client spoke HTTP/1.0 (it needs keep-alive spelled out)
 */
export function finalResponseHead(rsp: ResponseHead, extra: string, chunked: boolean, keepClient: boolean, http10Client: boolean): Buffer {
  let head = statusAndFields(rsp) + extra;
  if (chunked) head += 'Transfer-Encoding: chunked\r\n';
  if (!keepClient) head += 'Connection: close\r\n';
  else if (http10Client) head += 'Connection: keep-alive\r\n';
  return Buffer.from(`${head}\r\n`, 'latin1');
}
