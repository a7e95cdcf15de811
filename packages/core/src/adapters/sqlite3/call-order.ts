/**
 * The order a `Database`'s calls run in, as node-sqlite3 gives it: a
 * barrier later calls wait for (a serialized statement, transaction
 * control), writes in flight that reads wait for (a caller reads its own
 * writes), and every call in flight (what `close()` and `wait()` wait for).
 */

/** How a statement is ordered: a read waits for earlier writes; `compile` only checks it compiles (no events). */
export type Kind = 'read' | 'write' | 'compile';

/**
 * Calls in flight counted together. Whoever waits for "every call in flight
 * now" takes one promise per cohort, and calls made after that join a new
 * one: a call costs a counter, not a place in a set (two sets of them cost
 * 2-10% of the reads per second at 64 in flight, docs/benchmarks.md).
 */
class Cohort {
  pending = 0;
  #done: Promise<void> | undefined;
  #resolve: (() => void) | undefined;

  constructor(readonly id: number) {}

  /** Settles once none of its calls is in flight (asked only while some are: see `CallOrder.#callsSince`). */
  done(): Promise<void> {
    return (this.#done ??= new Promise<void>((resolve) => (this.#resolve = resolve)));
  }

  /** One of its calls settled. */
  leave(): void {
    if (--this.pending === 0) this.#resolve?.();
  }
}

/** A call's place in what close() and wait() wait for: given by {@link CallOrder.add}, handed back to {@link CallOrder.settled}. */
export type InFlight = Cohort;

/** A barrier made into a promise only once something waits for it (a run of queued calls: queued-run.ts). */
export interface LazyBarrier {
  /** Takes no more calls; settles once it has. */
  seal(): Promise<void>;
}

/** The ordering state of one `Database`. */
export class CallOrder {
  #barrier: Promise<unknown> = Promise.resolve();
  /** The barrier, while nothing has waited for it yet (then `#barrier` is its promise). */
  #lazy: LazyBarrier | undefined;
  /** The barrier has settled: a call with nothing else to wait for may start at once. */
  #barrierSettled = false;
  /** Counts barriers set: only the latest one's settling counts. */
  #generation = 0;
  /** Writes in flight outside a transaction, and a promise that settles once every one of them has. */
  #writes = 0;
  #writesSettled: Promise<unknown> = Promise.resolve();
  /** Cohorts that may have calls in flight, oldest first; the last is the one new calls join. */
  #cohorts: Cohort[] = [new Cohort(0)];
  #lastId = 0;
  /** `wait()`s waiting (see {@link waited}). */
  #waits = 0;
  /**
   * The first cohort since a barrier that waited for every call before it:
   * a serialized call waits for the barrier and the calls since, not for
   * each call in flight (10,000 serialized calls queued at once made 50
   * million waits, and ran out of memory).
   */
  #coverFrom = 0;

  /** Later calls wait for `call` to settle (its failure is its own); `covers`: it settles only after every call in flight now has. */
  setBarrier(call: Promise<unknown>, covers: boolean): void {
    const settle = this.#newBarrier(covers);
    this.#barrier = call.then(settle, settle);
  }

  /** As {@link setBarrier}, for a barrier that becomes a promise only once something waits for it; call what this returns once it has settled. */
  setLazyBarrier(barrier: LazyBarrier, covers: boolean): () => void {
    const settle = this.#newBarrier(covers);
    this.#lazy = barrier;
    return settle;
  }

  /** The barrier, if it is lazy and nothing has waited for it yet (calls issued now may join it). */
  get lazyBarrier(): LazyBarrier | undefined {
    return this.#lazy;
  }

  /** A new barrier replaces the last; what it returns marks it settled (if it is still the latest). */
  #newBarrier(covers: boolean): () => void {
    if (covers) this.#coverFrom = this.#seal();
    const generation = ++this.#generation;
    this.#barrierSettled = false;
    this.#lazy = undefined;
    return () => {
      if (this.#generation === generation) this.#barrierSettled = true;
    };
  }

  /** The barrier as a promise (a lazy one takes no more calls from now on). */
  #barrierNow(): Promise<unknown> {
    if (this.#lazy !== undefined) {
      this.#barrier = this.#lazy.seal();
      this.#lazy = undefined;
    }
    return this.#barrier;
  }

  /** Whether a call of `kind` has nothing before it to wait for now (`serialized`: it must wait for everything). */
  clear(kind: Kind, serialized: boolean): boolean {
    return this.#barrierSettled && !serialized && (kind === 'write' || this.#writes === 0);
  }

  /**
   * What a call waits for: the barrier, `after` (its statement's earlier
   * calls) and, given its `kind`, the writes in flight (a read, or any call
   * in `serialized` mode) and the calls since a barrier that covered the rest
   * (`serialized`; it then becomes the barrier: see {@link setBarrier}).
   */
  waitFor(after: Promise<unknown> | undefined, kind?: Kind, serialized = false): Promise<unknown> {
    const waits: Promise<unknown>[] = after === undefined ? [] : [after];
    if (kind !== undefined && this.#writes > 0 && (kind !== 'write' || serialized)) waits.push(this.#writesSettled);
    if (kind !== undefined && serialized) waits.push(...this.#callsSince(this.#coverFrom));
    const barrier = this.#barrierNow();
    return waits.length === 0 ? barrier : Promise.all([barrier, ...waits]);
  }

  /** A write outside a transaction started: reads after it wait for it (a chain of `then`s, which holds no values). */
  addWrite(started: Promise<unknown>): void {
    this.#writes++;
    const done = (): void => {
      this.#writes--;
    };
    const write = started.then(done, done);
    this.#writesSettled = this.#writesSettled.then(() => write);
  }

  /** A call is in flight until what this returns is given to {@link settled}. */
  add(): InFlight {
    const cohort = this.#cohorts[this.#cohorts.length - 1]!;
    cohort.pending++;
    return cohort;
  }

  /** A call added with {@link add} has settled. */
  settled(call: InFlight): void {
    call.leave();
  }

  /** Other work close() and wait() wait for (a finalize, a backup's finish), until it settles either way. */
  track(work: Promise<unknown>): void {
    const call = this.add();
    const done = (): void => this.settled(call);
    void work.then(done, done);
  }

  /** Whether any call (or other tracked work) is in flight. */
  get busy(): boolean {
    return this.#cohorts.some((cohort) => cohort.pending > 0);
  }

  /** Whether nothing is in flight and no `wait()` waits (see {@link waited}). */
  get quiet(): boolean {
    return !this.busy && this.#waits === 0;
  }

  /** {@link drainedAll} (`all`) or {@link drained}, for a `wait()`: counted until it settles, so a close then waits too. */
  async waited(all: boolean): Promise<void> {
    this.#waits++;
    try {
      await (all ? this.drainedAll() : this.drained());
    } finally {
      this.#waits--;
    }
  }

  /** Settles once the barrier and every call in flight now have. */
  drained(): Promise<unknown> {
    return Promise.all([this.#barrierNow(), ...this.#callsSince(0)]);
  }

  /** Settles once nothing is in flight, counting the calls made while it waits. */
  async drainedAll(): Promise<void> {
    do await this.drained();
    while (this.busy);
  }

  /** Starts a new cohort for the calls made from now on; returns its id. Cohorts left with nothing in flight at the front are dropped. */
  #seal(): number {
    const cohorts = this.#cohorts;
    let drop = 0;
    while (drop < cohorts.length && cohorts[drop]!.pending === 0) drop++;
    if (drop > 0) cohorts.splice(0, drop);
    const next = new Cohort(++this.#lastId);
    cohorts.push(next);
    return next.id;
  }

  /** One promise per cohort from `id` on with calls in flight now, settling as they do; later calls are not waited for. */
  #callsSince(id: number): Promise<void>[] {
    const waits: Promise<void>[] = [];
    const cohorts = this.#cohorts;
    // From the newest back: a serialized call looks at the one or two cohorts since the last barrier, not at all of them.
    for (let i = cohorts.length - 1; i >= 0 && cohorts[i]!.id >= id; i--) {
      if (cohorts[i]!.pending > 0) waits.push(cohorts[i]!.done());
    }
    if (waits.length > 0) this.#seal();
    return waits;
  }
}
