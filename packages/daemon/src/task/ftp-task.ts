import { TaskContext } from './task.js';

/** The connection facts an escaper reported for one of the FTP connections (control `c`, data `d`). */
export interface FtpConnNotes {
  boundAddr: string | undefined;
  peerAddr: string | undefined;
  connectTries: number;
  connectSpend: number | undefined;
}

const emptyNotes = (): FtpConnNotes => ({ boundAddr: undefined, peerAddr: undefined, connectTries: 0, connectSpend: undefined });

/** An FTP-over-HTTP task: one `ftp://` request through an HTTP proxy (g3's FtpOverHttp task log). */
export class FtpOverHttpTask extends TaskContext {
  method = '';
  uri = '';
  userAgent: string | undefined;
  rspStatus: number | undefined;
  readonly ftpC: FtpConnNotes = emptyNotes();
  readonly ftpD: FtpConnNotes = emptyNotes();
  ftpCRdBytes = 0;
  ftpCWrBytes = 0;
  ftpDRdBytes = 0;
  ftpDWrBytes = 0;
}
