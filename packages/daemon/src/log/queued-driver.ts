/**
 * The shape every socket-backed log driver shares: a record is formatted on the caller's turn (cheap, like g3
 * formats in the task's thread), pushed onto a bounded queue, and the queue is drained on a later turn of the
 * event loop. A full queue drops the record and counts it (`ChannelOverflow`): logging never holds up a task,
 * whatever the log peer does.
 */
import { countDrop, type LogRecord, type LoggerStats } from './record.js';
import { DriverTransport } from './transport.js';

export abstract class QueuedDriver<P> extends DriverTransport {
  protected queue: P[] = [];
  private scheduled = false;
  protected shut = false;

  constructor(
    protected readonly stats: LoggerStats,
    protected readonly capacity: number,
    /** told of each failed send (the logger samples them into the process log: io_error_sampling_offset) */
    protected readonly ioError: (e: Error) => void = () => {},
  ) {
    super();
  }

  /** Turn a record into what goes on the wire; may throw (counted as FormatFailed). */
  protected abstract encode(record: LogRecord): P;
  /** Send what is queued; take items off `this.queue` as they are handed to the peer. */
  protected abstract drain(): void;

  record(record: LogRecord): void {
    this.stats.total++;
    if (this.shut) {
      countDrop(this.stats, 'ChannelClosed');
      return;
    }
    if (this.queue.length >= this.capacity) {
      countDrop(this.stats, 'ChannelOverflow');
      return;
    }
    let payload: P;
    try {
      payload = this.encode(record);
    } catch {
      countDrop(this.stats, 'FormatFailed');
      return;
    }
    this.queue.push(payload);
    this.schedule();
  }

  protected schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.run);
  }

  private readonly run = (): void => {
    this.scheduled = false;
    if (this.queue.length) this.drain();
  };

  async close(): Promise<void> {
    if (!this.shut && this.queue.length) this.drain();
    this.shut = true;
  }
}
