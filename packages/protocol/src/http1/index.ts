/**
 * HTTP/1.x codec for the forward proxy's raw-socket server: incremental head reading, strict request and
 * framing-strict response head parsing, zero-copy body decoders, head serialisation and target parsing.
 * Nothing here touches a socket; everything throws HttpParseError (a SluiceError) with the status to answer.
 */
export { DEFAULT_HTTP_LIMITS, HttpParseError, type HttpLimits, type HttpPeer } from './errors.js';
export type { HttpHeader } from './fields.js';
export { HeadReader, type HeadChunk } from './head-reader.js';
export { parseRequestHead, type RequestHead, type TargetForm } from './request.js';
export { parseResponseHead, type ResponseHead } from './response.js';
export { ChunkedDecoder, MAX_CHUNK_SIZE_LINE, type ChunkedDecoderOptions } from './chunked.js';
export { LengthDecoder } from './length.js';
export {
  CHUNK_CRLF,
  LAST_CHUNK,
  encodeChunkHeader,
  serializeLastChunk,
  serializeRequestHead,
  serializeResponseHead,
} from './encode.js';
export { HOP_BY_HOP, isHopByHop } from './hop-by-hop.js';
export {
  parseAbsoluteTarget,
  parseAuthorityForm,
  parseHostHeader,
  type AbsoluteTarget,
  type HostKind,
  type HostPort,
} from './target.js';
export { STATUS_TEXT } from './status.js';
