/**
 * `mutex`: an in-process async mutex around every access, rollback journal.
 * The simplest correct answer and the baseline. With `readWrite: true`, many
 * reads run together but never beside a write.
 */
import type { Semaphore } from 'async-mutex';
import { booleanOption, optionsObject } from '../config/checks.js';
import type { PragmaValue, Strategy, StrategyCapabilities, StrategyHold, AccessKind, StrategyContext } from '../strategy.js';
import { synchronousOption } from './synchronous.js';

/** Options of {@link mutex}. */
export interface MutexOptions {
  /** Let reads run together (never beside a write) instead of one access at a time. Default: false. */
  readWrite?: boolean;
  /** `synchronous` for every connection. Default: FULL (the rollback journal's safe setting). */
  synchronous?: 'OFF' | 'NORMAL' | 'FULL' | 'EXTRA';
}

// With `readWrite`, a writer takes every permit, so it excludes all readers; readers take one each.
const PERMITS = 1 << 20;

/** The mutex strategy. One instance serves one pool. */
export class MutexStrategy implements Strategy {
  readonly name = 'mutex';
  readonly capabilities: StrategyCapabilities;
  readonly journalMode = 'delete' as const;
  readonly writeBatching: Strategy['writeBatching'] = undefined;
  /** Whether reads may run together. */
  readonly readWrite: boolean;
  readonly #synchronous: string;
  /** The lock (one permit, or PERMITS with `readWrite`), made at `init` or the first acquire: async-mutex loads only for a pool that uses this strategy. */
  #lock: Semaphore | undefined;
  #waits = 0;
  #holds = 0;

  /** @param options see {@link MutexOptions} */
  constructor(options?: MutexOptions) {
    const raw = optionsObject('mutex', options, ['name', 'readWrite', 'synchronous']);
    this.readWrite = booleanOption('mutex.readWrite', raw.readWrite, false);
    this.#synchronous = synchronousOption('mutex.synchronous', raw.synchronous, 'FULL');
    this.capabilities = Object.freeze({
      crossProcess: true,
      networkSafe: false,
      concurrentReads: this.readWrite,
      readsDuringWrite: false,
    });
  }

  pragmas(): Readonly<Record<string, PragmaValue>> {
    return { synchronous: this.#synchronous };
  }

  async init(_context: StrategyContext): Promise<void> {
    await this.#made();
  }

  /** The lock, loading async-mutex at the first call (calls meanwhile get the same lock). */
  async #made(): Promise<Semaphore> {
    const { Semaphore } = await import('async-mutex');
    return (this.#lock ??= new Semaphore(this.readWrite ? PERMITS : 1));
  }

  async acquire(kind: AccessKind): Promise<StrategyHold> {
    const lock = this.#lock ?? (await this.#made());
    if (lock.isLocked() || (this.readWrite && kind === 'write')) this.#waits++;
    this.#holds++;
    const [, release] = await lock.acquire(this.readWrite && kind === 'write' ? PERMITS : 1);
    let released = false;
    return {
      epoch: 0,
      signal: undefined,
      release: () => {
        if (released) return;
        released = true;
        release();
      },
    };
  }

  stats(): Readonly<Record<string, number>> {
    return { holds: this.#holds, lockWaits: this.#waits };
  }

  async close(): Promise<void> {}
}

/** Creates a {@link MutexStrategy}: one access at a time (or many reads, with `readWrite`), rollback journal. */
export function mutex(options?: MutexOptions): MutexStrategy {
  return new MutexStrategy(options);
}
