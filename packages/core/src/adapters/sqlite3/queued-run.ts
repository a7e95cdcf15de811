/**
 * Calls held as plain records until they reach the front, as node-sqlite3
 * holds its queue: a transaction's statements and serialized calls (they run
 * one after another), and parallel calls past the number a `Database` keeps
 * started at once. A loop of a million `stmt.run(...)` queued at once in a
 * transaction held ~1.5 KB of promises, closures and their contexts per call
 * when each call was a link in a promise chain; a parallel loop held ~1.9 KB
 * per call started.
 */
import type { CallOrder, InFlight, Kind } from './call-order.js';
import type { Work } from './target.js';

/** Why a call is queued: it is serialized, a statement of a transaction, or a parallel call past the calls started at once. */
export type QueuedAs = 'serialized' | 'transaction' | 'overflow';

/** One call waiting in a run: what the link needs to start it once the calls before it have settled. */
export interface QueuedCall {
  readonly sql: string;
  readonly kind: Kind;
  /** A statement of a transaction, or one that moves it, when issued (see TransactionRunner.issue). */
  readonly inTransaction: boolean;
  readonly work: Work;
  /** A parallel call: it may run beside parallel calls of its kind just before it (reads beside reads, writes beside writes). */
  readonly free: boolean;
  /** What else it waits for: its statement's earlier call, when that was not in this run. */
  readonly after: Promise<unknown> | undefined;
  /** Its place in what close() and wait() wait for. */
  readonly inFlight: InFlight;
  /** Not answered yet (see Link: answered once SQLite is done, before its callbacks). */
  unanswered: boolean;
}

/**
 * Calls a `Database` keeps started at once (in flight in the pool, each with
 * its promises: ~2 KB); past them, parallel calls wait as records (~0.3 KB)
 * until earlier ones answer, so a loop of a million `db.run(...)` does not
 * run the process out of memory.
 */
const STARTED_AT_ONCE = 10_000;

/**
 * Whether a call is queued as a record, and why, given where its database is and its calls not yet answered.
 * `exclusive` (an `exec`): serialized, after every call in flight, even as a statement of a transaction.
 */
export function queuedAs(inTransaction: boolean, serialized: boolean, unanswered: number, exclusive = false): QueuedAs | undefined {
  if (exclusive) return 'serialized';
  if (inTransaction) return 'transaction';
  if (serialized) return 'serialized';
  return unanswered >= STARTED_AT_ONCE ? 'overflow' : undefined;
}

/** Parallel calls of a run in flight at once, at most. */
const FREE_AT_ONCE = 1024;

/**
 * Calls run in the order queued, after `before` has settled: each once those
 * before it have settled, but free calls (parallel ones) beside the free
 * calls of their kind running: writes beside writes (the writer orders
 * them), reads beside reads (started once the writes before them settled).
 * A run takes more calls until something outside it waits for it
 * ({@link seal}) or it runs dry; then later calls start a run of their own.
 */
export class QueuedRun {
  readonly #calls: (QueuedCall | undefined)[] = [];
  #head = 0;
  #begun = false;
  #running = 0;
  /** The kind of the free calls running, when every call running is free and of one kind. */
  #freeKind: Kind | undefined;
  #sealed = false;
  #finished = false;
  #done: Promise<void> | undefined;
  #resolveDone: (() => void) | undefined;
  readonly #start: (call: QueuedCall) => Promise<void>;
  readonly #onFinish: () => void;

  /**
   * `start` runs a call and settles once it has been answered; `onFinish`
   * runs once the run is sealed and every call has. `as`: why its first
   * call was queued (what it waited for: see {@link queue}).
   */
  constructor(
    before: Promise<unknown>,
    readonly as: QueuedAs,
    start: (call: QueuedCall) => Promise<void>,
    onFinish: () => void,
  ) {
    this.#start = start;
    this.#onFinish = onFinish;
    const begin = (): void => {
      this.#begun = true;
      this.#pump();
    };
    void before.then(begin, begin);
  }

  /** Whether a call issued now may join it: nothing outside waits for it yet and it has not run dry. */
  get joinable(): boolean {
    return !this.#sealed;
  }

  /** Queues `call` after the others (only while {@link joinable}); a free call may start at once beside free calls running. */
  push(call: QueuedCall): void {
    this.#calls.push(call);
    if (this.#begun && call.free) this.#pump();
  }

  /** Takes no more calls; settles once every call queued has settled. */
  seal(): Promise<void> {
    this.#sealed = true;
    if (this.#finished) return Promise.resolve();
    return (this.#done ??= new Promise<void>((resolve) => (this.#resolveDone = resolve)));
  }

  /** Starts what may start now: the next call once nothing runs, or free calls beside free calls. */
  #pump(): void {
    for (;;) {
      const call = this.#calls[this.#head];
      if (call === undefined) {
        if (this.#running === 0) this.#finish();
        return;
      }
      if (this.#running > 0 && !(call.free && call.kind === this.#freeKind && this.#running < FREE_AT_ONCE)) return;
      // Let go of each call as it starts; compact now and then, so a long run holds only what still waits.
      this.#calls[this.#head++] = undefined;
      if (this.#head >= 1024 && this.#head * 2 >= this.#calls.length) {
        this.#calls.splice(0, this.#head);
        this.#head = 0;
      }
      if (this.#running === 0) this.#freeKind = call.free ? call.kind : undefined;
      this.#running++;
      const settled = (): void => {
        if (--this.#running === 0) this.#freeKind = undefined;
        this.#pump();
      };
      const run = (): void => void this.#start(call).then(settled, settled);
      if (call.after === undefined) run();
      else void call.after.then(run, run);
    }
  }

  #finish(): void {
    this.#sealed = this.#finished = true;
    this.#calls.length = 0;
    this.#resolveDone?.();
    this.#onFinish();
  }
}

/** What queuing a call returns: a promise that settles once it has, or the run it joined (see {@link settles}). */
export type Issued = Promise<unknown> | QueuedRun;

/** A promise that settles once the call that returned `issued` has (a run: once every call queued in it has). */
export function settles(issued: Issued): Promise<unknown> {
  return issued instanceof QueuedRun ? issued.seal() : issued;
}

/**
 * Which runs a call queued `as` may join: a serialized call waits for every
 * call in flight, so it joins only a run that began that way; a parallel call
 * waits for the writes in flight, so it joins a run that began by waiting for
 * them (or for everything); a statement of a transaction follows the call
 * before it, whatever that was.
 */
function mayJoin(run: QueuedRun, as: QueuedAs): boolean {
  if (as === 'transaction' || run.as === 'serialized') return true;
  return as === 'overflow' && run.as === 'overflow';
}

/**
 * Queues a call: it joins the run that is `order`'s barrier now if nothing
 * outside the run waits for it yet and the run waited for what the call must
 * follow, else it starts a run of its own after everything it must follow.
 * `after`: its statement's earlier call. `start` runs a call once those it
 * follows have settled.
 */
export function queue(
  order: CallOrder,
  as: QueuedAs,
  fields: Pick<QueuedCall, 'sql' | 'kind' | 'inTransaction' | 'work'>,
  after: Issued | undefined,
  start: (call: QueuedCall) => Promise<void>,
): Issued {
  const current = order.lazyBarrier;
  const joins = current instanceof QueuedRun && current.joinable && mayJoin(current, as);
  const waitsFor = after === undefined || (joins && after === current) ? undefined : settles(after);
  // A statement's call follows its statement's earlier one (a `get` steps on from it): after one in this run, it runs alone.
  const free = as === 'overflow' && !(joins && after === current);
  if (joins) {
    current.push({ ...fields, free, after: waitsFor, inFlight: order.add(), unanswered: true });
    return current;
  }
  // What it waits for is taken before it counts as in flight (a serialized call waits for every call in flight). A
  // parallel call's run waits for the writes in flight whatever its kind, so that reads that join it later follow them.
  const waits =
    as === 'serialized'
      ? order.waitFor(waitsFor, fields.kind, true)
      : as === 'overflow'
        ? order.waitFor(waitsFor, 'read')
        : order.waitFor(waitsFor);
  let settle = (): void => {};
  const run = new QueuedRun(waits, as, start, () => settle());
  settle = order.setLazyBarrier(run, as === 'serialized');
  run.push({ ...fields, free, after: undefined, inFlight: order.add(), unanswered: true });
  return run;
}
