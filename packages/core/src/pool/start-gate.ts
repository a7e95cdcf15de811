/**
 * The start gate: nothing is opened before the strategy's `init` has run
 * (once; a failure is kept and fails every later request), and readers, which
 * open read-only, wait until the writer connection exists (it creates the
 * file and sets its journal mode), unless the file needs neither (a stream
 * asked of a young pool then waits for one thread's start, not two in a row).
 */
import { StrategyError } from '../errors.js';
import type { BackendBinding } from '../backend.js';
import type { Lane } from './lane.js';
import type { LeaseJob } from './wait-queue.js';
import { now } from '../timers.js';

/** The gates of one pool's lanes. */
export class StartGate {
  #init: Promise<void> | undefined;
  #initialized = false;
  #writerOpened = false;
  #warming: Promise<void> | undefined;
  readonly #writerWaiters: (() => void)[] = [];

  /**
   * @param binding the pool's strategy, what its `init` is told, and whether readers may open before the writer
   * @param openWriter opens the writer connection (a lease of it, given straight back); `onOpened` ends the wait early
   */
  constructor(
    private readonly binding: Pick<BackendBinding, 'strategy' | 'strategyContext' | 'readersBeforeWriter'>,
    private readonly openWriter: (onOpened: (done: () => void) => void) => Promise<void>,
  ) {}

  /** Whether the strategy's `init` has run (there is something to close). */
  get started(): boolean {
    return this.#init !== undefined;
  }

  /** The writer lane's gate: undefined once passed. */
  writerGate(): Promise<void> | undefined {
    return this.#initialized ? undefined : this.initialize();
  }

  /** The readers' gate: undefined once passed. */
  readerGate(): Promise<void> | undefined {
    return this.#writerOpened
      ? undefined
      : this.initialize().then(() => (this.binding.readersBeforeWriter?.() === true ? undefined : this.warmWriter()));
  }

  /** Runs the strategy's init once; a failure is kept and fails every later request. */
  initialize(): Promise<void> {
    this.#init ??= this.binding.strategy.init(this.binding.strategyContext).then(
      () => {
        this.#initialized = true;
      },
      (error: unknown) => {
        throw error instanceof Error ? error : new StrategyError(String(error), 'ERR_STRATEGY_UNSUPPORTED');
      },
    );
    return this.#init;
  }

  /** Whether the strategy's `init` has succeeded (it has checked where the file is). */
  get initialized(): boolean {
    return this.#initialized;
  }

  /** Whether the writer connection exists: the file does, in the strategy's journal mode. */
  get writerOpen(): boolean {
    return this.#writerOpened;
  }

  /** The writer connection exists (it opened, or a lease of it was granted): readers may open. */
  writerOpened(): void {
    this.#writerOpened = true;
    for (const wake of this.#writerWaiters.splice(0)) wake();
  }

  /** Resolves once the writer connection exists, opening it if nothing else does first. */
  warmWriter(): Promise<void> {
    if (this.#writerOpened) return Promise.resolve();
    this.#warming ??= this.openWriter((done) => this.#writerWaiters.push(done)).then(
      () => this.writerOpened(),
      (error: unknown) => {
        this.#warming = undefined; // try again on the next request
        throw error;
      },
    );
    return this.#warming;
  }
}

/**
 * Opens `lane`'s connection by taking a lease of it and giving it straight
 * back; `onOpened` is told how to end the wait early (the connection opened
 * some other way first: the lease is then cancelled, a no-op once granted).
 */
export function openByLease(lane: Lane, onOpened: (done: () => void) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const job: LeaseJob = {
      kind: 'lease',
      enqueuedAt: now(),
      cancelled: false,
      grant: (grant) => {
        grant.giveBack();
        resolve();
      },
      fail: reject,
    };
    onOpened(() => {
      lane.cancel(job);
      resolve();
    });
    lane.enqueue(job);
  });
}
