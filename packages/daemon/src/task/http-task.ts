import { TaskContext } from './task.js';

/** An HTTP forward task: one request/response exchange on a client connection. */
export class HttpForwardTask extends TaskContext {
  method = '';
  uri = '';
  userAgent: string | undefined;
  rspStatus: number | undefined;
  originStatus: number | undefined;
  /** ms the request waited in the client connection before we started on it (pipelining). */
  pipelineWait: number | undefined;
  reuseConnection = false;
  durReqSendHdr: number | undefined;
  durReqSendAll: number | undefined;
  durRspRecvHdr: number | undefined;
  durRspRecvAll: number | undefined;
}
