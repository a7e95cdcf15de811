/**
 * The main thread's handle on one worker thread and its connection: sends
 * batches, matches results to callers, stops statements that run past their
 * limit or whose caller aborted, takes back work queued behind a long
 * statement, and turns a dying worker into typed rejections of everything it
 * had in flight. Nothing here waits without a bound.
 */
// 'worker_threads', not 'node:worker_threads': webpack 5 (5.113) mangles the constructor it rewrites for
// new Worker(new URL('./worker.js', import.meta.url)) when it comes from the node: specifier.
import { Worker, type ResourceLimits } from 'worker_threads';
import { AbortError, ArgumentError, StatementTimeoutError, WorkerCrashedError, type LitepoolError } from '../errors.js';
import type { Connection, ConnectionHooks, Pending, Reclaimed, Request, SendOptions } from '../pool/connection.js';
import type { Interrupter } from './interrupter.js';
import {
  Control,
  forEachResponse,
  packRequests,
  ringSize,
  sinceOrigin,
  Status,
  type FromWorker,
  type ToWorker,
  type WireError,
  type WorkerConfig,
} from './protocol.js';
import { blobsToBuffers } from '../values.js';
import { fromWireError } from './values.js';
import { addSeq, InFlightRing } from './in-flight.js';
import { settlesWithin } from '../settles-within.js';

/** A statement running this long, with requests waiting behind it, lets them move to another connection. */
export const STALL_MS = 20;
/** How long an interrupted statement may take to stop before its connection is given up. */
const INTERRUPT_GRACE_MS = 2_000;
/** How long close() lets the worker finish what it runs before interrupting it. */
export const CLOSE_GRACE_MS = 10_000;
/** After interrupting (or terminating) a closing worker, how long before it is abandoned. */
const EXIT_GRACE_MS = 1_000;

/** How a pool opens its worker connections. */
export interface WorkerConnectionConfig {
  /** What the worker opens its connection with. */
  readonly worker: Omit<WorkerConfig, 'control' | 'claims' | 'origin'>;
  /** The worker's entry module; undefined: litepool's own `worker.js`. */
  readonly workerFile: URL | string | undefined;
  readonly resourceLimits: ResourceLimits | undefined;
  /** Stops statements in workers; undefined where the interrupt extension is not available. */
  readonly interrupter: Interrupter | undefined;
  /** The default limit of a statement's run time, in ms (0: none). */
  readonly statementTimeoutMs: number;
  /** Most requests sent and unanswered at once (sizes the claim ring). */
  readonly maxInFlight: number;
}

interface InFlight {
  readonly request: Request;
  readonly waiter: Pending;
  readonly timeoutMs: number;
  /** The caller has been answered (early, by a stop): the worker's answer is dropped. */
  settled: boolean;
  /** The error the caller gets once the pool decided to stop the request (a timeout, an abort). */
  stopping?: Error;
  /** When the running request was interrupted (performance.now()). */
  interruptedAt?: number;
  onAbort?: () => void;
}

/** A batch waiting for room in the ring: more requests were sent than the claim ring can tell apart. */
interface HeldBatch {
  readonly requests: Request[];
  readonly waiters: Pending[];
  readonly options: SendOptions;
  /** Resolves the promise {@link WorkerConnection.send} returned, once the batch is answered. */
  readonly done: () => void;
  /** Stop watching the callers' signals (the batch is sent, or failed). */
  readonly detach: (() => void)[];
}

/** Connections that can be interrupted, across every pool of the process. */
const live = new Set<WorkerConnection>();

/**
 * process.exit() waits for every worker thread to stop, and a thread inside a
 * statement never does: as the process exits, interrupt what runs
 * (synchronously, as 'exit' listeners must), so that it can. One listener for
 * all pools, there only while a connection lives.
 */
function interruptAllOnExit(): void {
  for (const connection of live) connection.interruptRunning();
}

/** Why a worker thread could not start, with what to do when the cause is a bundle. */
function startError(role: string, error: unknown): WorkerCrashedError {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  const bundled =
    code === 'ERR_MODULE_NOT_FOUND' ||
    code === 'MODULE_NOT_FOUND' ||
    code === 'ERR_INVALID_URL' ||
    code === 'ERR_INVALID_ARG_TYPE' ||
    code === 'ERR_WORKER_PATH';
  return new WorkerCrashedError(
    `The ${role} worker thread could not start: ${message}${bundled ? ". If the app is bundled, the worker's entry module must be shipped beside it: see docs/bundling.md and the workerFile option" : ''}`,
    { cause: error },
  );
}

/**
 * The parent's Node options for a worker, less those about how the parent's
 * own entry is read: `node --input-type=module -e …` would otherwise make
 * every worker (which starts from a file) fail to start.
 */
function workerExecArgv(): string[] | undefined {
  const argv = process.execArgv;
  // Left alone otherwise: a worker inherits the parent's options, less those Node knows it must not take.
  if (!argv.some((arg) => arg === '--input-type' || arg.startsWith('--input-type='))) return undefined;
  const kept: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--input-type') i++;
    else if (!arg.startsWith('--input-type=')) kept.push(arg);
  }
  return kept;
}

/** One worker thread owning one better-sqlite3 connection. */
export class WorkerConnection implements Connection {
  epoch = -1;
  dead: LitepoolError | undefined;
  /** Whether a transaction was open on the connection after its last answered request. */
  transactionOpen = false;
  /** The procedures its worker loaded, by name: whether each is read-only. */
  procedures: ReadonlyMap<string, boolean> = new Map();

  readonly #worker: Worker;
  /** Prepared statements whose SQL this worker has been sent (later calls send only the id). */
  readonly #knownStatements = new Set<number>();
  /** Requests held to go in front of the next batch (see {@link carry}). */
  readonly #carried: { request: Request; waiter: Pending }[] = [];
  #carryFlush: NodeJS.Immediate | undefined;
  readonly #config: WorkerConnectionConfig;
  readonly #hooks: ConnectionHooks;
  readonly #control: Int32Array;
  readonly #claims: Int32Array;
  readonly #mask: number;
  readonly #origin: number;
  readonly #exited: Promise<void>;
  readonly #pending: InFlightRing<InFlight>;
  /**
   * Batches sent while the ring had no room for them (a transaction that
   * issues thousands of statements without awaiting them), sent in order as
   * earlier requests are answered.
   */
  readonly #held: HeldBatch[] = [];
  /** One resolver per batch sent, oldest first: a worker answers its batches in order. */
  readonly #batches: (() => void)[] = [];
  #seq = 0;
  #watchdog: NodeJS.Timeout | undefined;
  /** The running request already reported as stalled. */
  #stallReported = 0;
  #closing: Promise<void> | undefined;

  private constructor(
    worker: Worker,
    config: WorkerConnectionConfig,
    hooks: ConnectionHooks,
    control: Int32Array,
    claims: Int32Array,
    origin: number,
  ) {
    this.#worker = worker;
    this.#config = config;
    this.#hooks = hooks;
    this.#control = control;
    this.#claims = claims;
    this.#mask = claims.length - 1;
    this.#pending = new InFlightRing(claims.length);
    this.#origin = origin;
    this.#exited = new Promise((resolve) => worker.once('exit', () => resolve()));
  }

  /** Starts a worker and resolves once its connection is open; rejects (never throws) otherwise. */
  static open(config: WorkerConnectionConfig, hooks: ConnectionHooks): Promise<WorkerConnection> {
    const control = new Int32Array(new SharedArrayBuffer(Control.Length * 4));
    const claims = new Int32Array(new SharedArrayBuffer(ringSize(config.maxInFlight) * 4));
    const origin = Math.floor(performance.timeOrigin + performance.now());
    const workerData: WorkerConfig = { ...config.worker, control, claims, origin };
    const execArgv = workerExecArgv();
    const options = {
      workerData,
      ...(execArgv === undefined ? {} : { execArgv }),
      ...(config.resourceLimits === undefined ? {} : { resourceLimits: config.resourceLimits }),
    };
    let worker: Worker;
    try {
      // Written out literally: bundlers that follow `new Worker(new URL('./worker.js', import.meta.url))` (webpack) emit the worker.
      worker =
        config.workerFile === undefined
          ? new Worker(new URL('./worker.js', import.meta.url), options)
          : new Worker(config.workerFile, options);
    } catch (error) {
      return Promise.reject(startError(config.worker.role, error));
    }
    const connection = new WorkerConnection(worker, config, hooks, control, claims, origin);
    if (config.interrupter !== undefined) {
      live.add(connection);
      if (live.size === 1) process.on('exit', interruptAllOnExit);
      void connection.#exited.then(() => {
        live.delete(connection);
        if (live.size === 0) process.off('exit', interruptAllOnExit);
      });
    }
    return new Promise((resolve, reject) => {
      let settled = false;
      let lastError: unknown;
      worker.on('message', (message: FromWorker) => {
        if (message.type === 'ready') {
          settled = true;
          connection.procedures = new Map(message.procedures);
          resolve(connection);
        } else if (message.type === 'open-failed') {
          settled = true;
          // The worker exits next, on purpose: not a crash.
          connection.#closing = Promise.resolve();
          reject(fromWireError(message.error));
        } else if (message.type === 'results') {
          connection.#settle(message.items, message.retries);
        } else if (message.type === 'progress') {
          const { totalPages, remainingPages } = message;
          connection.#pending.get(message.seq)?.waiter.progress?.({ totalPages, remainingPages });
        }
      });
      worker.on('error', (error) => {
        lastError = error;
      });
      worker.once('exit', (code) => {
        if (!settled) {
          settled = true;
          reject(
            lastError !== undefined
              ? startError(config.worker.role, lastError)
              : new WorkerCrashedError(`The ${config.worker.role} worker thread exited (code ${code}) before its connection opened`),
          );
          return;
        }
        if (connection.#closing !== undefined) return; // a requested close
        const crash = new WorkerCrashedError(
          `The ${config.worker.role} worker thread exited (code ${code})${lastError instanceof Error ? `: ${lastError.message}` : ''}`,
          { cause: lastError },
        );
        connection.dead ??= crash;
        connection.#failAll(crash);
        hooks.onCrash(crash);
      });
    });
  }

  /** Whether the statement running now has run long enough that no more work should wait behind it. */
  get stalled(): boolean {
    return Atomics.load(this.#control, Control.Running) !== 0 && this.#elapsed() >= STALL_MS;
  }

  carry(request: Request, waiter: Pending): void {
    this.#carried.push({ request, waiter });
    this.#carryFlush ??= setImmediate(() => {
      this.#carryFlush = undefined;
      this.#sendCarried();
    });
  }

  /** Sends what {@link carry} holds, alone (nothing else was sent since). */
  #sendCarried(): void {
    if (this.#carried.length === 0) return;
    const carried = this.#carried.splice(0);
    void this.#post(
      carried.map((item) => item.request),
      carried.map((item) => item.waiter),
      {},
    );
  }

  send(requests: readonly Request[], waiters: readonly Pending[], options: SendOptions = {}): Promise<void> {
    if (this.#carried.length > 0) {
      clearImmediate(this.#carryFlush);
      this.#carryFlush = undefined;
      // A plain batch of the same settings takes the carried COMMIT in front; any other goes after it, in its own message.
      const plain = options.group !== true && options.oneShot !== true && options.reopen !== true;
      if (plain && this.#carried.every((item) => item.request.settings === requests[0]?.settings)) {
        const carried = this.#carried.splice(0);
        return this.#post(
          [...carried.map((item) => item.request), ...requests],
          [...carried.map((item) => item.waiter), ...waiters],
          options,
        );
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
    if (this.#held.length > 0 || (this.#pending.size > 0 && !this.#pending.fits(requests.length))) {
      return this.#hold(requests, waiters, options);
    }
    return this.#postNow(requests, waiters, options);
  }

  #postNow(requests: readonly Request[], waiters: readonly Pending[], options: SendOptions): Promise<void> {
    const first = addSeq(this.#seq, 1);
    this.#seq = addSeq(this.#seq, requests.length);
    for (let i = 0; i < requests.length; i++) {
      const waiter = waiters[i]!;
      const entry: InFlight = {
        request: requests[i]!,
        waiter,
        timeoutMs: waiter.timeoutMs ?? this.#config.statementTimeoutMs,
        settled: false,
      };
      const seq = addSeq(first, i);
      this.#pending.add(seq, entry);
      const { signal } = waiter;
      if (signal !== undefined) {
        entry.onAbort = () => this.#stop(seq, abortReason(signal));
        signal.addEventListener('abort', entry.onAbort, { once: true });
      }
    }
    const message: ToWorker = {
      type: 'batch',
      items: packRequests(requests, first, this.#knownStatements),
      reopen: options.reopen ?? false,
      group: options.group ?? false,
      oneShot: options.oneShot ?? false,
      abortFlag: options.abortFlag,
      // A lane never batches requests of different settings together.
      settings: requests[0]?.settings,
    };
    try {
      this.#worker.postMessage(message);
    } catch (error) {
      return this.#unsendable(requests, waiters, options, first, error);
    }
    // Aborted before the message even left: it is taken back now (the worker will skip it).
    for (let i = 0; i < requests.length; i++)
      if (waiters[i]!.signal?.aborted === true) this.#stop(addSeq(first, i), abortReason(waiters[i]!.signal!));
    this.#arm(STALL_MS);
    return new Promise((resolve) => this.#batches.push(resolve));
  }

  /** Keeps a batch until the ring has room; a caller that aborts meanwhile is answered at once. */
  #hold(requests: readonly Request[], waiters: readonly Pending[], options: SendOptions): Promise<void> {
    return new Promise((done) => {
      const held: HeldBatch = { requests: [...requests], waiters: [...waiters], options, done, detach: [] };
      for (const waiter of waiters) {
        const { signal } = waiter;
        if (signal === undefined) continue;
        const onAbort = (): void => {
          const at = held.waiters.indexOf(waiter);
          if (at < 0) return;
          held.requests.splice(at, 1);
          held.waiters.splice(at, 1);
          waiter.reject(abortReason(signal));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        held.detach.push(() => signal.removeEventListener('abort', onAbort));
      }
      this.#held.push(held);
    });
  }

  /** Takes held batches off the list (to send, take back or fail them). */
  #unhold(count = this.#held.length): HeldBatch[] {
    const taken = this.#held.splice(0, count);
    for (const held of taken) for (const detach of held.detach) detach();
    return taken;
  }

  /** Sends held batches, in order, while the ring has room for them. */
  #sendHeld(): void {
    while (this.#held.length > 0 && this.dead === undefined) {
      const next = this.#held[0]!;
      if (this.#pending.size > 0 && !this.#pending.fits(next.requests.length)) return;
      const [held] = this.#unhold(1);
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
    for (let i = 0; i < requests.length; i++) this.#forget(addSeq(first, i));
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

  reclaim(): Reclaimed[] {
    const taken: Reclaimed[] = [];
    for (const [seq, entry] of this.#pending.entries()) {
      if (entry.settled || !this.#cancel(seq)) continue;
      this.#forget(seq);
      taken.push({ request: entry.request, waiter: entry.waiter });
    }
    for (const held of this.#unhold()) {
      held.requests.forEach((request, i) => taken.push({ request, waiter: held.waiters[i]! }));
      held.done();
    }
    return taken;
  }

  /** Stops everything in flight with `reason` (the pool is being destroyed). */
  stopAll(reason: Error): void {
    this.#sendCarried(); // in flight like the rest, so stopped like the rest
    for (const held of this.#unhold()) {
      for (const waiter of held.waiters) waiter.reject(reason);
      held.done();
    }
    for (const [seq] of this.#pending.entries()) this.#stop(seq, reason);
  }

  close(graceMs = CLOSE_GRACE_MS): Promise<void> {
    this.#sendCarried();
    this.#closing ??= this.#close(graceMs);
    return this.#closing;
  }

  async #close(graceMs: number): Promise<void> {
    this.dead ??= new WorkerCrashedError('The connection was closed');
    clearTimeout(this.#watchdog);
    // Never to be sent now: their callers learn it at once.
    for (const held of this.#unhold()) {
      for (const waiter of held.waiters) waiter.reject(this.dead);
      held.done();
    }
    try {
      this.#worker.postMessage({ type: 'close' } satisfies ToWorker);
    } catch {
      // The worker is already gone.
    }
    if (await settlesWithin(this.#exited, graceMs, true)) return;
    // Still running a statement: interrupt it; the worker then reads the close message and exits.
    this.interruptRunning();
    if (await settlesWithin(this.#exited, EXIT_GRACE_MS, true)) return;
    // Terminating a thread inside a native call can take the process down: only when it is not in one.
    if (Atomics.load(this.#control, Control.Running) === 0) {
      void this.#worker.terminate();
      if (await settlesWithin(this.#exited, EXIT_GRACE_MS, true)) return;
    }
    this.#worker.unref();
    this.#hooks.onWarning(
      'LITEPOOL_CONNECTION_ABANDONED',
      `A ${this.#config.worker.role} connection did not stop within ${graceMs + 2 * EXIT_GRACE_MS} ms of being closed (a statement that cannot be interrupted); its thread was left to finish on its own`,
    );
  }

  #elapsed(): number {
    return sinceOrigin(this.#origin) - Atomics.load(this.#control, Control.Since);
  }

  /** Takes request `seq` back if it has not started: true when it will not run. */
  #cancel(seq: number): boolean {
    const slot = seq & this.#mask;
    for (;;) {
      const seen = Atomics.load(this.#claims, slot);
      if (seen === seq) return false;
      if (seen === -seq || Atomics.compareExchange(this.#claims, slot, seen, -seq) === seen) return true;
    }
  }

  #forget(seq: number): void {
    const entry = this.#pending.get(seq);
    if (entry === undefined) return;
    this.#pending.delete(seq);
    if (entry.onAbort !== undefined) entry.waiter.signal?.removeEventListener('abort', entry.onAbort);
  }

  /**
   * Stops request `seq` (a timeout or an abort): if it has not started it
   * never will; if it runs, it is interrupted (its statement makes no change).
   * Without the interrupt extension its caller is answered now and the
   * statement finishes on its own.
   */
  #stop(seq: number, reason: Error): void {
    const entry = this.#pending.get(seq);
    if (entry === undefined || entry.stopping !== undefined || entry.settled) return;
    entry.stopping = reason;
    if (this.#cancel(seq)) {
      this.#forget(seq);
      entry.waiter.reject(reason);
      this.#sendHeld();
      return;
    }
    entry.interruptedAt = performance.now();
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
    this.#arm(0);
  }

  /** Interrupts request `seq` if it is the one running; false when there is no way to interrupt. */
  #interrupt(seq: number): boolean {
    const token = Atomics.load(this.#control, Control.Token);
    const { interrupter } = this.#config;
    if (interrupter === undefined || token === 0) return false;
    Atomics.store(this.#control, Control.Target, seq);
    if (Atomics.load(this.#control, Control.Running) === seq) interrupter.interrupt(token);
    return true;
  }

  /** Interrupts whatever statement runs now (closing, or the process exiting). */
  interruptRunning(): void {
    const running = Atomics.load(this.#control, Control.Running);
    if (running !== 0) this.#interrupt(running);
  }

  #arm(delay: number): void {
    if (this.#watchdog !== undefined || this.#closing !== undefined) return;
    this.#watchdog = setTimeout(() => this.#check(), Math.max(1, delay));
    this.#watchdog.unref();
  }

  /**
   * The watchdog, while requests are in flight: times out the running
   * statement, gives the connection up when an interrupted statement does not
   * stop, and reports a stall when requests wait behind a long statement.
   */
  #check(): void {
    this.#watchdog = undefined;
    if (this.#pending.size === 0 || this.dead !== undefined) return;
    let next = STALL_MS;
    const running = Atomics.load(this.#control, Control.Running);
    const entry = running === 0 ? undefined : this.#pending.get(running);
    if (entry !== undefined) {
      const elapsed = this.#elapsed();
      if (entry.interruptedAt !== undefined) {
        const waited = performance.now() - entry.interruptedAt;
        if (waited >= INTERRUPT_GRACE_MS && this.#config.worker.role === 'reader') {
          this.#giveUp(running);
          return;
        }
        // The writer is never given up: a replacement would wait for the same lock, and the write's outcome is owed to its caller.
        if (waited < INTERRUPT_GRACE_MS) next = Math.min(next, INTERRUPT_GRACE_MS - waited);
      } else if (entry.timeoutMs > 0) {
        if (elapsed >= entry.timeoutMs) {
          this.#stop(running, new StatementTimeoutError(entry.timeoutMs));
          return this.#arm(Math.min(STALL_MS, INTERRUPT_GRACE_MS));
        }
        next = Math.min(next, entry.timeoutMs - elapsed);
      }
      if (elapsed >= STALL_MS) {
        if (this.#stallReported !== running && this.#waitingBehind(running)) {
          this.#stallReported = running;
          this.#hooks.onStall(this);
        }
      } else {
        next = Math.min(next, STALL_MS - elapsed);
      }
    }
    this.#arm(next);
  }

  /** Whether requests were sent after `running` and wait behind it. */
  #waitingBehind(running: number): boolean {
    let after = false;
    for (const [seq, entry] of this.#pending.entries()) {
      if (after && !entry.settled) return true;
      after ||= seq === running;
    }
    return this.#held.length > 0;
  }

  /**
   * A read that was interrupted and did not stop (it waits for a lock, which
   * SQLite's busy handler does not interrupt, or for a hung filesystem): the
   * connection is given up. Work not started moves to other connections; the
   * stuck request's caller gets its stop reason; the lane replaces the
   * connection and closes this one (with a bound).
   */
  #giveUp(running: number): void {
    this.#hooks.onStall(this); // the lane takes back what has not started
    const entry = this.#pending.get(running);
    const reason = entry?.stopping ?? new StatementTimeoutError(entry?.timeoutMs ?? 0);
    this.dead = new WorkerCrashedError(`A ${this.#config.worker.role} connection was given up: a statement did not stop when interrupted`, {
      cause: reason,
    });
    this.#hooks.onWarning(
      'LITEPOOL_STATEMENT_ABANDONED',
      `A statement did not stop within ${INTERRUPT_GRACE_MS} ms of being interrupted; its connection was replaced`,
    );
    this.#failAll(this.dead);
  }

  #settle(items: readonly unknown[], retries: number): void {
    if (retries > 0) this.#hooks.onRetries(retries);
    forEachResponse(items, (seq, status, open, writes, value) => {
      this.transactionOpen = open;
      const entry = this.#pending.get(seq);
      if (entry === undefined) return; // taken back, or given up
      this.#forget(seq);
      if (entry.settled) return;
      const { waiter } = entry;
      if ((status === Status.Ok || status === Status.OkBlobs) && entry.request.probe === true) waiter.learn?.(writes);
      if (status === Status.Ok) waiter.resolve(value);
      else if (status === Status.OkBlobs) waiter.resolve(blobsToBuffers(value));
      else if (status === Status.Reroute) waiter.reroute?.();
      else if (status === Status.Failed) {
        const wire = value as WireError;
        waiter.reject(wire.kind === 'interrupted' && entry.stopping !== undefined ? entry.stopping : fromWireError(wire));
      }
    });
    this.#batches.shift()?.();
    this.#sendHeld();
  }

  #failAll(error: Error): void {
    const entries = this.#pending.entries();
    for (const [seq] of entries) this.#forget(seq);
    for (const [, entry] of entries) if (!entry.settled) entry.waiter.reject(entry.stopping ?? error);
    for (const done of this.#batches.splice(0)) done();
    for (const held of this.#unhold()) {
      for (const waiter of held.waiters) waiter.reject(error);
      held.done();
    }
  }
}

function abortReason(signal: AbortSignal): Error {
  return new AbortError({ cause: signal.reason });
}
