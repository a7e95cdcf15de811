/**
 * The main thread's handle on one worker thread and its connection: sends
 * batches, matches results to callers, stops statements that run past their
 * limit or whose caller aborted, takes back work queued behind a long
 * statement, and turns a dying worker into typed rejections of everything it
 * had in flight. Nothing here waits without a bound.
 */
import { answerReceived, requestSent } from './awake-for-answers.js';
import type { Connection, ConnectionHooks, Pending, Reclaimed, Request, SendOptions } from '../backend.js';
import { AbortError, ArgumentError, StatementTimeoutError, WorkerCrashedError, type LitepoolError } from '../errors.js';
import { INTERRUPT_GRACE_MS, STALL_MS, Watchdog } from './watchdog.js';
import { isOk, okValue } from './ok-value.js';
import { CarriedRequests, HeldBatches } from './held-batches.js';
import { flagFor } from './hold-flag.js';
import { Flights } from './flights.js';
import { addSeq } from './seq-ring.js';
import type { Interrupter } from './interrupter.js';
import { Control, forEachResponse, packRequests, sinceOrigin, Status, type ToWorker, type WireError, type FromWorker } from './protocol.js';
import { fromWireError } from './wire-errors.js';
import { guardExit } from './exit-guard.js';
import { startWorker, type StartConfig, type StartedWorker } from './worker-start.js';
import { parkThread } from './thread-reuse.js';
import { stopThread } from './thread-stop.js';
import { now } from '../timers.js';

/** How long close() lets the worker finish what it runs before stopping it. */
export const CLOSE_GRACE_MS = 10_000;

/** How a pool opens its worker connections. */
export interface WorkerConnectionConfig extends StartConfig {
  /** Stops statements in workers; undefined where the interrupt extension is not available. */
  readonly interrupter: Interrupter | undefined;
  /** The default limit of a statement's run time, in ms (0: none). */
  readonly statementTimeoutMs: number;
}

/** One worker thread owning one better-sqlite3 connection. */
export class WorkerConnection implements Connection {
  dead: LitepoolError | undefined;
  transactionOpen = false;
  /** The procedures its worker loaded, by name: whether each is read-only. */
  readonly procedures: ReadonlyMap<string, boolean>;

  readonly #started: StartedWorker;
  readonly #config: WorkerConnectionConfig;
  readonly #hooks: ConnectionHooks;
  /** The cache epoch its connection is valid for (-1: it must open before use). */
  #epoch: number;
  /** Prepared statements whose SQL this worker has been sent (later calls send only the id). */
  readonly #knownStatements = new Set<number>();
  /** Requests held to go in front of the next batch (see {@link carry}). */
  readonly #carried = new CarriedRequests();
  readonly #pending: Flights;
  readonly #held = new HeldBatches();
  /** One resolver per batch sent, oldest first: a worker answers its batches in order. */
  readonly #batches: (() => void)[] = [];
  #seq = 0;
  readonly #watchdog: Watchdog;
  #closing: Promise<void> | undefined;
  /** Lets go of the thread when it is parked for another connection: this one's listeners and exit guard leave it. */
  #detach: () => void = () => {};

  private constructor(started: StartedWorker, config: WorkerConnectionConfig, hooks: ConnectionHooks) {
    this.#started = started;
    this.#config = config;
    this.#hooks = hooks;
    this.#pending = new Flights(started.claims, (seq, signal) => this.#stop(seq, new AbortError({ cause: signal.reason })));
    this.#epoch = config.worker.deferOpen ? -1 : 0;
    this.procedures = started.procedures;
    this.#watchdog = new Watchdog({
      active: () => this.#pending.size > 0 && this.dead === undefined,
      running: () => {
        const seq = Atomics.load(started.control, Control.Running);
        const flight = seq === 0 ? undefined : this.#pending.get(seq);
        return flight === undefined ? undefined : { seq, flight, elapsed: this.#elapsed() };
      },
      replaceable: (flight) => config.worker.role === 'reader' || flight.request.op === 'call',
      stop: (seq, reason) => this.#stop(seq, reason),
      interruptAgain: (seq) => void this.#interrupt(seq),
      giveUp: (seq) => this.#giveUp(seq),
      stall: (seq) => {
        const again = this.#pending.toRunAgain(seq, config.worker.role === 'reader');
        if (again !== undefined && this.#interrupt(seq)) Object.assign(again, { again: true, interruptedAt: now() });
        if (!(this.#pending.sentAfter(seq) || this.#held.length > 0)) return false;
        this.#hooks.onStall(this);
        return true;
      },
    });
  }

  /** Starts a worker and resolves once its connection is open; rejects (never throws) otherwise, or when `signal` aborts first. */
  static async open(config: WorkerConnectionConfig, hooks: ConnectionHooks, signal?: AbortSignal): Promise<WorkerConnection> {
    const started = await startWorker(config, signal);
    const connection = new this(started, config, hooks);
    const unguard = guardExit(connection, started.exited);
    const { worker } = started;
    const onMessage = (message: FromWorker): void => {
      if (message.type === 'results') connection.#settle(message.items, message.retries);
      else if (message.type === 'progress') {
        const { totalPages, remainingPages } = message;
        connection.#pending.get(message.seq)?.waiter.progress?.({ totalPages, remainingPages });
      }
    };
    worker.on('message', onMessage);
    const onExit = (code: number): void => {
      const lastError = started.lastError();
      const closing = connection.#closing !== undefined;
      const crash = new WorkerCrashedError(
        `The ${config.worker.role} worker thread exited (code ${code})${lastError instanceof Error ? `: ${lastError.message}` : ''}`,
        { cause: lastError },
      );
      connection.dead ??= crash;
      // A requested close (or a stop) answers what was still in flight, and is not a crash.
      connection.#failAll(closing ? connection.dead : crash, true);
      if (!closing) hooks.onCrash(crash);
    };
    worker.once('exit', onExit);
    connection.#detach = () => {
      worker.off('message', onMessage);
      worker.off('exit', onExit);
      unguard();
    };
    // An idle connection does not keep the process alive; one with requests in flight does (see #postNow, #settle).
    // Unref'd after the listeners: adding a 'message' listener refs the worker's port again.
    worker.unref();
    return connection;
  }

  /** Whether the statement running now has run long enough that no more work should wait behind it. */
  get stalled(): boolean {
    return Atomics.load(this.#started.control, Control.Running) !== 0 && this.#elapsed() >= STALL_MS;
  }

  opensFor(epoch: number): boolean {
    return epoch !== this.#epoch;
  }

  reset(): void {
    // Reopened before its next use under a hold: back to the pool's own settings.
    this.#epoch = -1;
  }

  carry(request: Request, waiter: Pending): void {
    this.#carried.push(request, waiter, () => this.#sendCarried());
  }

  /** Sends what {@link carry} holds, alone (nothing else was sent since). */
  #sendCarried(): void {
    const carried = this.#carried.take();
    if (carried !== undefined) void this.#post(carried.requests, carried.waiters, {});
  }

  send(requests: readonly Request[], waiters: readonly Pending[], options: SendOptions = {}): Promise<void> {
    if (this.#carried.length > 0) {
      // Carried requests go first, in the same message when the batch may follow them directly (a backup runs alone).
      const joinable = (options.epoch === undefined || !this.opensFor(options.epoch)) && requests[0]?.op !== 'backup';
      if (joinable && options.group !== true && this.#carried.allWith(requests[0]?.settings)) {
        const carried = this.#carried.take()!;
        return this.#post([...carried.requests, ...requests], [...carried.waiters, ...waiters], options);
      }
      this.#sendCarried();
    }
    return this.#post(requests, waiters, options);
  }

  #post(requests: readonly Request[], waiters: readonly Pending[], options: SendOptions): Promise<void> {
    if (this.dead !== undefined) {
      for (const waiter of waiters) waiter.reject(this.dead);
      return Promise.resolve();
    }
    if (this.#held.length > 0 || !this.#pending.fits(requests.length) || this.#held.deferToNextTurn(() => this.#sendHeld())) {
      return this.#held.hold(requests, waiters, options);
    }
    return this.#postNow(requests, waiters, options);
  }

  #postNow(requests: readonly Request[], waiters: readonly Pending[], options: SendOptions): Promise<void> {
    const first = addSeq(this.#seq, 1);
    this.#seq = addSeq(this.#seq, requests.length);
    const { statementTimeoutMs: timeoutMs } = this.#config;
    const defaults = { timeoutMs, group: options.group === true, movable: options.oneShot === true, batch: first };
    for (let i = 0; i < requests.length; i++) {
      const seq = addSeq(first, i);
      this.#pending.add(seq, requests[i]!, waiters[i]!, defaults);
    }
    const reopen = options.epoch !== undefined && options.epoch !== this.#epoch;
    if (options.epoch !== undefined) this.#epoch = options.epoch;
    const message: ToWorker = {
      type: 'batch',
      items: packRequests(requests, first, this.#knownStatements),
      reopen,
      group: options.group ?? false,
      oneShot: options.oneShot ?? false,
      abortFlag: flagFor(options.holdSignal),
      // A lane never batches requests of different settings together.
      settings: requests[0]?.settings,
    };
    try {
      this.#started.worker.postMessage(message);
    } catch (error) {
      return this.#unsendable(requests, waiters, options, first, error);
    }
    requestSent(this.#started.control);
    // Aborted before the message even left: it is taken back now (the worker will skip it).
    for (const { signal } of waiters) if (signal?.aborted === true) this.#pending.signalAborted(signal);
    if (this.#pending.size === requests.length) this.#started.worker.ref();
    this.#watchdog.arm(STALL_MS);
    return new Promise((resolve) => this.#batches.push(resolve));
  }

  /** Sends held batches, in order, while the ring has room for them. */
  #sendHeld(): void {
    while (this.#held.length > 0 && this.dead === undefined && !this.#held.deferToNextTurn(() => this.#sendHeld())) {
      const next = this.#held.peek()!;
      if (!this.#pending.fits(next.requests.length)) return;
      const [held] = this.#held.take(1);
      if (held!.requests.length === 0) held!.done();
      else void this.#postNow(held!.requests, held!.waiters, held!.options).then(held!.done);
    }
  }

  /**
   * postMessage threw (a value that cannot be cloned slipped past the checks):
   * nothing was sent. A batch is sent again one request at a time, so only
   * the requests that cannot be sent fail, each with a typed error.
   */
  #unsendable(
    requests: readonly Request[],
    waiters: readonly Pending[],
    options: SendOptions,
    first: number,
    error: unknown,
  ): Promise<void> {
    for (let i = 0; i < requests.length; i++) this.#pending.forget(addSeq(first, i));
    if (requests.length === 1) {
      waiters[0]!.reject(
        new ArgumentError(
          `The call's parameters could not be sent to the worker thread: ${error instanceof Error ? error.message : String(error)}`,
        ),
      );
      return Promise.resolve();
    }
    return Promise.all(requests.map((request, i) => this.send([request], [waiters[i]!], options))).then(() => {});
  }

  /** Takes back the one-shot requests not started (a lease's stay: its connection is its own). */
  reclaim(): Reclaimed[] {
    const taken = this.#pending.takeNotStarted();
    for (const held of this.#held.take(this.#held.oneShotCount())) {
      held.requests.forEach((request, i) => taken.push({ request, waiter: held.waiters[i]! }));
      held.done();
    }
    return taken;
  }

  stopAll(reason: Error): void {
    this.#sendCarried(); // in flight like the rest, so stopped like the rest
    this.#held.failAll(reason);
    for (const [seq] of this.#pending.entries()) this.#stop(seq, reason);
  }

  close(graceMs = CLOSE_GRACE_MS): Promise<void> {
    this.#held.sendAtOnce(); // what waited for the next turn (a handed-off COMMIT among them) goes before the close
    this.#sendCarried();
    this.#sendHeld();
    this.#closing ??= this.#close(graceMs);
    return this.#closing;
  }

  async #close(graceMs: number): Promise<void> {
    const healthy = this.dead === undefined;
    this.dead ??= new WorkerCrashedError('The connection was closed');
    this.#watchdog.stop();
    // Never to be sent now: their callers learn it at once.
    this.#held.failAll(this.dead);
    const idle = healthy && this.#pending.size === 0 && !this.transactionOpen;
    if (idle && (await parkThread(this.#started, this.#config, () => this.#detach()))) return;
    const waited = await stopThread(this.#started, graceMs, () => this.interruptRunning());
    if (waited === undefined) return;
    // Answered now, as for a crash (a write that may yet commit: outcome unknown), so the lane can finish closing.
    this.#failAll(this.dead, true, true);
    this.#hooks.onWarning(
      'LITEPOOL_CONNECTION_ABANDONED',
      `A ${this.#config.worker.role} connection did not stop within ${waited} ms of being closed (a statement that cannot be interrupted); its thread was left to finish on its own`,
    );
  }

  #elapsed(): number {
    return sinceOrigin(this.#started.origin) - Atomics.load(this.#started.control, Control.Since);
  }

  /**
   * Stops request `seq` (a timeout or an abort): if it has not started it
   * never will; if it runs, it is interrupted (its statement makes no change).
   * Without the interrupt extension a read's caller is answered now and the
   * statement finishes on its own.
   */
  #stop(seq: number, reason: Error): void {
    const entry = this.#pending.get(seq);
    if (entry === undefined || entry.stopping !== undefined || entry.settled) return;
    entry.stopping = reason;
    if (this.#pending.cancel(seq)) {
      this.#pending.forget(seq);
      entry.waiter.reject(reason);
      this.#sendHeld();
      return;
    }
    entry.interruptedAt = now();
    // Without an interrupt, a read's caller is answered now (a read changes nothing); a write's caller gets the
    // write's real outcome when it ends: it may yet commit, and a write reported failed must not have happened.
    if (!this.#interrupt(seq) && this.#config.worker.role === 'reader') {
      entry.settled = true;
      entry.waiter.reject(reason);
      this.#hooks.onWarning(
        'LITEPOOL_NO_INTERRUPT',
        'A statement could not be interrupted (the interrupt extension is not available on this platform): its caller was answered, and the statement runs on until it ends',
      );
    }
    this.#watchdog.arm(0);
  }

  /** Interrupts request `seq` if it is the one running; false when there is no way to interrupt. */
  #interrupt(seq: number): boolean {
    const { control } = this.#started;
    const token = Atomics.load(control, Control.Token);
    const { interrupter } = this.#config;
    if (interrupter === undefined || token === 0) return false;
    Atomics.store(control, Control.Target, seq);
    if (Atomics.load(control, Control.Running) === seq) interrupter.interrupt(token);
    return true;
  }

  /** Interrupts whatever statement runs now (closing, or the process exiting); false when one runs and cannot be interrupted. */
  interruptRunning(): boolean {
    const running = Atomics.load(this.#started.control, Control.Running);
    return running === 0 || this.#interrupt(running);
  }

  /**
   * A statement that was interrupted and did not stop (it waits for a lock,
   * which SQLite's busy handler does not interrupt, for a hung filesystem, or
   * it runs JavaScript): the connection is given up and its thread
   * terminated. Work not started moves to the lane's other connections or
   * the replacement; the stuck request's caller gets its stop reason (on the
   * writer, ERR_COMMIT_UNKNOWN if it may have committed); the lane replaces
   * the connection.
   */
  #giveUp(running: number): void {
    const entry = this.#pending.get(running);
    const reason = entry?.stopping ?? new StatementTimeoutError(entry?.timeoutMs ?? 0);
    this.dead = new WorkerCrashedError(
      `A ${this.#config.worker.role} connection was given up: a statement did not stop within ${INTERRUPT_GRACE_MS} ms of being interrupted (JavaScript stuck in a procedure or setup code, or a hung filesystem)`,
      { cause: reason },
    );
    this.#hooks.onStall(this); // the lane takes back what has not started, for the replacement
    // As for a crash: a write that may have committed is told its outcome is unknown; the others get their stop reason.
    this.#failAll(this.dead, true);
    this.#hooks.onWarning(
      'LITEPOOL_STATEMENT_ABANDONED',
      `A statement did not stop within ${INTERRUPT_GRACE_MS} ms of being interrupted; its connection was replaced`,
    );
    void this.close(0);
  }

  #settle(items: readonly unknown[], retries: number): void {
    if (retries > 0) this.#hooks.onRetries(retries);
    forEachResponse(items, (seq, status, open, writes, value) => {
      this.transactionOpen = open;
      const entry = this.#pending.get(seq);
      if (entry === undefined) return; // taken back, or given up
      this.#pending.forget(seq);
      if (entry.settled) return;
      const { waiter } = entry;
      if (isOk(status) && entry.request.probe === true) waiter.learn?.(writes);
      if (status === Status.Ok) waiter.resolve(value);
      else if (isOk(status) || status === Status.Changed) waiter.resolve(okValue(status, value, entry.request.settings));
      else if (status === Status.Reroute) waiter.reroute?.();
      else if (status === Status.Failed) {
        const wire = value as WireError;
        if (wire.kind === 'interrupted' && entry.again === true && entry.stopping === undefined) this.#hooks.onReturned([entry]);
        else waiter.reject(wire.kind === 'interrupted' && entry.stopping !== undefined ? entry.stopping : fromWireError(wire));
      }
    });
    this.#batches.shift()?.();
    answerReceived();
    if (this.#pending.size === 0) this.#started.worker.unref();
    this.#sendHeld();
  }

  /** Fails everything in flight with `error`; a write that may have committed (the worker `gone`, or `stillRunning`) gets `ERR_COMMIT_UNKNOWN`. */
  #failAll(error: Error, gone = false, stillRunning = false): void {
    const committing = Atomics.load(this.#started.control, Control.Committing) === 1;
    this.#pending.failAll(error, gone && this.#config.worker.role === 'writer', committing, stillRunning);
    const batches = this.#batches.splice(0);
    for (const done of batches) done();
    answerReceived(batches.length); // never to come: no longer awaited
    this.#held.failAll(error);
  }
}
