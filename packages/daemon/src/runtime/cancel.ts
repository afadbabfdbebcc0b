/**
 * Cancelling a connect when its client goes away.
 *
 * The connect paths (escapers, happy eyeballs, TLS upgrades, FTP) use only this much of AbortSignal: `aborted`
 * and 'abort' listeners. An AbortSignal costs ~3 µs to construct in Node 20 (its EventTarget), and adding and
 * removing a listener ~1 µs more, which a proxy paid for every new tunnel. A Cancel is its own signal at the
 * cost of a plain object. Every AbortSignal is a CancelSignal too, so code holding one can still pass it.
 */
export interface CancelSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export class Cancel implements CancelSignal {
  aborted = false;
  private listeners: Array<() => void> | null = null;

  /** the signal to hand out (the Cancel itself; named as AbortController's, for call sites that read `.signal`) */
  get signal(): CancelSignal {
    return this;
  }

  /** Listeners are called once, on abort; one added after the abort is not called (as with AbortSignal). */
  addEventListener(_type: 'abort', listener: () => void): void {
    if (!this.aborted) (this.listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const l = this.listeners;
    const i = l ? l.indexOf(listener) : -1;
    if (i >= 0) l!.splice(i, 1);
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const l = this.listeners;
    this.listeners = null;
    if (l) for (const fn of l) fn();
  }
}
