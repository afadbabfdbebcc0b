/** Why one exchange with one DNS server produced no usable message; the resolver turns it into a SluiceError. */
export type ExchangeFailure = 'timeout' | 'refused' | 'connect' | 'malformed' | 'closed' | 'http';

export class ExchangeError extends Error {
  constructor(readonly kind: ExchangeFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ExchangeError';
  }
}

/** A socket error onto an ExchangeFailure: refused is told apart because g3 counts it separately. */
export function socketFailure(e: unknown, what: string): ExchangeError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED') return new ExchangeError('refused', `${what}: connection refused`, { cause: e });
  return new ExchangeError('connect', `${what}: ${(e as Error).message}`, { cause: e });
}
