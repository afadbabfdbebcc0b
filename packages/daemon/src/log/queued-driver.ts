/**
 * The shape every socket-backed log driver shares: a record is formatted on the caller's turn (cheap, like g3
 * formats in the task's thread), pushed onto a bounded queue, and the queue is drained on a later turn of the
 * event loop. A full queue drops the record and counts it (`ChannelOverflow`): logging never holds up a task,
 * whatever the log peer does.
 */
import { countDrop, type LogDriver, type LogRecord, type LoggerStats } from './record.js';

export abstract class QueuedDriver<P> implements LogDriver {
  abstract readonly name: string;
  protected queue: P[] = [];
  private scheduled = false;
  protected closed = false;

  constructor(protected readonly stats: LoggerStats, protected readonly capacity: number) {}

  /** Turn a record into what goes on the wire; may throw (counted as FormatFailed). */
  protected abstract format(record: LogRecord): P;
  /** Send what is queued; take items off `this.queue` as they are handed to the peer. */
  protected abstract drain(): void;

  write(record: LogRecord): void {
    this.stats.total++;
    if (this.closed) {
      countDrop(this.stats, 'ChannelClosed');
      return;
    }
    if (this.queue.length >= this.capacity) {
      countDrop(this.stats, 'ChannelOverflow');
      return;
    }
    let payload: P;
    try {
      payload = this.format(record);
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
    if (!this.closed && this.queue.length) this.drain();
    this.closed = true;
  }
}
