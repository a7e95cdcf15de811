/**
 * `mutex`: an in-process async mutex around every access, rollback journal.
 * The simplest correct answer and the baseline. With `readWrite: true`, many
 * reads run together but never beside a write.
 */
import { Mutex, Semaphore } from 'async-mutex';
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

// A writer takes every permit, so it excludes all readers; readers take one each.
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
  readonly #mutex = new Mutex();
  readonly #rw = new Semaphore(PERMITS);
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

  async init(_context: StrategyContext): Promise<void> {}

  async acquire(kind: AccessKind): Promise<StrategyHold> {
    const locked = this.readWrite ? this.#rw.isLocked() || kind === 'write' : this.#mutex.isLocked();
    if (locked) this.#waits++;
    this.#holds++;
    let release: () => void;
    if (this.readWrite) {
      const [, releaser] = await this.#rw.acquire(kind === 'write' ? PERMITS : 1);
      release = releaser;
    } else {
      release = await this.#mutex.acquire();
    }
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
