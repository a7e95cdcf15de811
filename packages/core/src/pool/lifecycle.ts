/**
 * A pool's lifecycle: open, closing (no new work; what is queued, held or
 * running finishes, within a bound), closed; `destroy` rejects what is
 * queued and revokes what is held at once. Every step is bounded in time.
 */
import { PoolClosedError } from '../errors.js';
import { settlesWithin } from '../settles-within.js';

/** Grace given to connections when the pool is destroyed (or close() ran out of time). */
export const DESTROY_GRACE_MS = 250;

/** What closing a pool does, step by step (the pool's parts implement it). */
export interface Shutdown {
  /** Resolves once queued work, transactions and leases have finished. */
  drained(): Promise<void>;
  /** Stops waiting for work: rejects what is queued, revokes leases, interrupts what runs. */
  abandon(error: PoolClosedError): void;
  /** Closes every connection; with `graceMs`, each is given that long before it is given up. */
  closeConnections(graceMs: number | undefined): Promise<void>;
  /** Releases the rest (the strategy, the backend, cross-thread ports). Never rejects. */
  release(): Promise<void>;
}

/** The state of one pool. */
export class Lifecycle {
  #state: 'open' | 'closing' | 'closed' = 'open';
  #closing: Promise<void> | undefined;
  /** Set once the pool stops waiting for work to finish: the reason later work is refused with. */
  #destroyed: PoolClosedError | undefined;

  constructor(private readonly shutdown: Shutdown) {}

  /** `open`, `closing` or `closed`. */
  get state(): 'open' | 'closing' | 'closed' {
    return this.#state;
  }

  /** Why new work is refused now, if it is. */
  refuse(): PoolClosedError | undefined {
    return this.#state === 'open' ? undefined : (this.#destroyed ?? new PoolClosedError(`The pool is ${this.#state}`));
  }

  /** Closes: lets work finish for up to `timeoutMs`, then destroys what is left. Idempotent; never rejects. */
  close(timeoutMs: number): Promise<void> {
    this.#closing ??= this.#close(timeoutMs);
    return this.#closing;
  }

  /** Rejects and revokes everything now, then closes. */
  destroy(reason: unknown): Promise<void> {
    this.#abandon(new PoolClosedError('The pool was destroyed', { cause: reason }));
    return this.close(0);
  }

  #abandon(error: PoolClosedError): void {
    if (this.#state === 'open') this.#state = 'closing';
    this.#destroyed ??= error;
    this.shutdown.abandon(error);
  }

  async #close(timeoutMs: number): Promise<void> {
    if (this.#state === 'open') this.#state = 'closing';
    try {
      const drained = this.shutdown.drained();
      if (!(await settlesWithin(drained, timeoutMs))) {
        this.#abandon(new PoolClosedError(`The pool was destroyed: close() waited ${timeoutMs} ms (closeTimeoutMs) for work to finish`));
        await settlesWithin(drained, DESTROY_GRACE_MS * 4);
      }
      await this.shutdown.closeConnections(this.#destroyed === undefined ? undefined : DESTROY_GRACE_MS);
    } finally {
      await this.shutdown.release();
      this.#state = 'closed';
    }
  }
}
