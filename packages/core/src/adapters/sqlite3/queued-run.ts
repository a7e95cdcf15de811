/**
 * Calls that run one after another (a transaction's statements, serialized
 * calls) held as plain records until they reach the front, as node-sqlite3
 * holds its queue: a loop of a million `stmt.run(...)` queued at once in a
 * transaction held ~1.5 KB of promises, closures and their contexts per call
 * when each call was a link in a promise chain.
 */
import type { CallOrder, InFlight, Kind } from './call-order.js';
import type { Work } from './target.js';
import type { Planned } from './transaction-plan.js';

/** One call waiting in a run: what the link needs to start it once the calls before it have settled. */
export interface QueuedCall {
  readonly sql: string;
  readonly kind: Kind;
  /** Its transaction plan, made when issued; undefined: a serialized call outside a transaction. */
  readonly plan: readonly Planned[] | undefined;
  readonly work: Work;
  /** What else it waits for: its statement's earlier call, when that was not in this run. */
  readonly after: Promise<unknown> | undefined;
  /** Its place in what close() and wait() wait for. */
  readonly inFlight: InFlight;
  /** Not answered yet (see Link: answered once SQLite is done, before its callbacks). */
  unanswered: boolean;
}

/**
 * Calls run one at a time in the order queued, after `before` has settled.
 * A run takes more calls until something outside it waits for it
 * ({@link seal}) or it runs dry; then later calls start a run of their own.
 */
export class QueuedRun {
  readonly #calls: (QueuedCall | undefined)[] = [];
  #head = 0;
  #sealed = false;
  #finished = false;
  #done: Promise<void> | undefined;
  #resolveDone: (() => void) | undefined;
  readonly #start: (call: QueuedCall) => Promise<void>;
  readonly #onFinish: () => void;

  /**
   * `start` runs a call and settles (never rejects) once it has been
   * answered; `onFinish` runs once the run is sealed and every call has.
   * `covers`: it began by waiting for every call in flight (serialized).
   */
  constructor(
    before: Promise<unknown>,
    readonly covers: boolean,
    start: (call: QueuedCall) => Promise<void>,
    onFinish: () => void,
  ) {
    this.#start = start;
    this.#onFinish = onFinish;
    const next = (): void => this.#next();
    void before.then(next, next);
  }

  /** Whether a call issued now may join it: nothing outside waits for it yet and it has not run dry. */
  get joinable(): boolean {
    return !this.#sealed;
  }

  /** Queues `call` after the others (only while {@link joinable}). */
  push(call: QueuedCall): void {
    this.#calls.push(call);
  }

  /** Takes no more calls; settles once every call queued has settled. */
  seal(): Promise<void> {
    this.#sealed = true;
    if (this.#finished) return Promise.resolve();
    return (this.#done ??= new Promise<void>((resolve) => (this.#resolveDone = resolve)));
  }

  #next(): void {
    const call = this.#calls[this.#head];
    if (call === undefined) return this.#finish();
    // Let go of each call as it starts; compact now and then, so a long run holds only what still waits.
    this.#calls[this.#head++] = undefined;
    if (this.#head >= 1024 && this.#head * 2 >= this.#calls.length) {
      this.#calls.splice(0, this.#head);
      this.#head = 0;
    }
    const next = (): void => this.#next();
    const run = (): void => void this.#start(call).then(next, next);
    if (call.after === undefined) run();
    else void call.after.then(run, run);
  }

  #finish(): void {
    this.#sealed = this.#finished = true;
    this.#calls.length = 0;
    this.#resolveDone?.();
    this.#onFinish();
  }
}

/** What queuing a call returns: a promise that settles once it has, or the run it joined (Link.settles makes that a promise). */
export type Issued = Promise<unknown> | QueuedRun;

/** A promise that settles once the call that returned `issued` has (a run: once every call queued in it has). */
export function settles(issued: Issued): Promise<unknown> {
  return issued instanceof QueuedRun ? issued.seal() : issued;
}

/**
 * Queues a call that runs alone, in order (a transaction's statement, or a
 * serialized call: `plan` undefined): it joins the run that is `order`'s
 * barrier now if nothing outside the run waits for it yet, else it starts a
 * run of its own after everything it must follow. `after`: its statement's
 * earlier call. `start` runs a call once those before it have settled.
 */
export function queue(
  order: CallOrder,
  fields: Pick<QueuedCall, 'sql' | 'kind' | 'plan' | 'work'>,
  after: Issued | undefined,
  start: (call: QueuedCall) => Promise<void>,
): Issued {
  // A serialized call waits for every call in flight: it joins only a run that began doing so.
  const covers = fields.plan === undefined;
  const current = order.lazyBarrier;
  const joins = current instanceof QueuedRun && current.joinable && (current.covers || !covers);
  const waitsFor = after === undefined || (joins && after === current) ? undefined : settles(after);
  if (joins) {
    current.push({ ...fields, after: waitsFor, inFlight: order.add(), unanswered: true });
    return current;
  }
  // What it waits for is taken before it counts as in flight (a serialized call waits for every call in flight).
  const waits = covers ? order.waitFor(waitsFor, fields.kind, true) : order.waitFor(waitsFor);
  let settle = (): void => {};
  const run = new QueuedRun(waits, covers, start, () => settle());
  settle = order.setLazyBarrier(run, covers);
  run.push({ ...fields, after: undefined, inFlight: order.add(), unanswered: true });
  return run;
}
