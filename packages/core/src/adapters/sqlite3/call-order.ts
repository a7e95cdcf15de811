/**
 * The order a `Database`'s calls run in, as node-sqlite3 gives it: a
 * barrier later calls wait for (a serialized statement, transaction
 * control), writes in flight that reads wait for (a caller reads its own
 * writes), and every call in flight (what `close()` and `wait()` wait for).
 */

/** How a statement is ordered: a read waits for earlier writes; `compile` only checks it compiles (no events). */
export type Kind = 'read' | 'write' | 'compile';

/** The ordering state of one `Database`. */
export class CallOrder {
  #barrier: Promise<unknown> = Promise.resolve();
  /** The barrier has settled: a call with nothing else to wait for may start at once. */
  #barrierSettled = false;
  /** Counts barriers set: only the latest one's settling counts. */
  #generation = 0;
  /** Writes in flight outside a transaction, and a promise that settles once every one of them has. */
  #writes = 0;
  #writesSettled: Promise<unknown> = Promise.resolve();
  /** Every call in flight. */
  readonly #inFlight = new Set<Promise<unknown>>();
  /**
   * The calls in flight added since a barrier that waited for every call
   * before it: a serialized call waits for the barrier and these, not for
   * each call in flight (10,000 serialized calls queued at once made
   * 50 million waits, and ran out of memory).
   */
  readonly #sinceCover = new Set<Promise<unknown>>();

  /** Later calls wait for `call` to settle (its failure is its own); `covers`: it settles only after every call in flight now has. */
  setBarrier(call: Promise<unknown>, covers: boolean): void {
    if (covers) this.#sinceCover.clear();
    const generation = ++this.#generation;
    this.#barrierSettled = false;
    const settle = (): void => {
      if (this.#generation === generation) this.#barrierSettled = true;
    };
    this.#barrier = call.then(settle, settle);
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
    if (kind !== undefined && serialized) waits.push(...this.#sinceCover);
    return waits.length === 0 ? this.#barrier : Promise.all([this.#barrier, ...waits]);
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

  /** A call is in flight until `settled` is given to {@link settled}. */
  add(call: Promise<unknown>): void {
    this.#inFlight.add(call);
    this.#sinceCover.add(call);
  }

  /** A call added with {@link add} has settled. */
  settled(call: Promise<unknown>): void {
    this.#inFlight.delete(call);
    this.#sinceCover.delete(call);
  }

  /** Other work close() and wait() wait for (a finalize, a backup's finish). */
  track(work: Promise<unknown>): void {
    this.add(work);
    void work.then(() => this.settled(work));
  }

  /** Settles once the barrier and every call in flight now have. */
  drained(): Promise<unknown> {
    return Promise.all([this.#barrier, ...this.#inFlight]);
  }

  /** Settles once nothing is in flight, counting the calls made while it waits. */
  async drainedAll(): Promise<void> {
    do await this.drained();
    while (this.#inFlight.size > 0);
  }
}
