/**
 * Starting a worker thread: its shared control block and claim ring, the
 * handshake (ready, or why its connection could not open), and a start that
 * can be abandoned (the thread is told to end; terminated only when its setup
 * module is stuck in JavaScript).
 */
// 'worker_threads', not 'node:worker_threads': webpack 5 (5.113) mangles the constructor it rewrites for
// new Worker(new URL('./worker.js', import.meta.url)) when it comes from the node: specifier.
import { Worker, type ResourceLimits } from 'worker_threads';
import { WorkerCrashedError } from '../errors.js';
import { Control, ringSize, type FromWorker, type SpareConfig, type ToWorker, type WorkerConfig } from './protocol.js';
import { fromWireError } from './wire-errors.js';
import { clearImmediate, clearTimeout, now, setImmediate, setTimeout } from '../timers.js';
import { startCounted } from './native-loads.js';
import { startWithExecArgv } from './worker-exec-argv.js';
import { stopStarting, type Thread } from './thread-stop.js';
import { claimParking, park, type Claim, serves, shareable, spareWanted, takeParked, type ReuseFacts } from './thread-reuse.js';

/** How a worker is started. */
export interface StartConfig {
  /** What the worker opens its connection with. */
  readonly worker: Omit<WorkerConfig, 'control' | 'claims' | 'origin' | 'awaitGo'>;
  /** The worker's entry module; undefined: litepool's own `worker.js`. */
  readonly workerFile: URL | string | undefined;
  readonly resourceLimits: ResourceLimits | undefined;
  /** Most requests sent and unanswered at once (sizes the claim ring). */
  readonly maxInFlight: number;
  /**
   * When set, the thread starts at once but opens its connection only once
   * this resolves (a rejection stops it and fails the start with that error).
   */
  readonly ready?: Promise<void> | undefined;
}

/** How long after a connection opened a reserve thread starts (see startReserveSoon). */
const RESERVE_DELAY_MS = 25;

/** How long a new connection waits for a thread being parked before it starts its own (a start takes 40-100 ms here; a park a few). */
const CLAIM_WAIT_MS = 50;

/** What {@link startSpareSoon} is told of the connection its thread is for. */
export interface SpareFacts extends ReuseFacts {
  readonly worker: ReuseFacts['worker'] & Pick<WorkerConfig, 'interruptExtension'>;
}

/** A worker that reported its connection ready. */
export interface StartedWorker extends Thread {
  /** Control block (see {@link Control}) and claim ring, shared with the worker. */
  readonly control: Int32Array;
  readonly claims: Int32Array;
  /** Wall-clock ms that the control block's times count from. */
  readonly origin: number;
  /** The procedures it loaded, by name: whether each is read-only. */
  readonly procedures: ReadonlyMap<string, boolean>;
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
 * Starts a worker and resolves once its connection is open; rejects (never
 * throws) otherwise. When `signal` aborts before then, the thread is stopped
 * and the start rejects with the signal's reason as soon as the thread can no
 * longer open the database (at once, unless an open is in progress; see
 * `stopStarting`).
 * See `StartConfig.ready`.
 */
export async function startWorker(config: StartConfig, signal: AbortSignal | undefined): Promise<StartedWorker> {
  const { ready } = config;
  const role = config.worker.role;
  const control = new Int32Array(new SharedArrayBuffer(Control.Length * 4));
  const claims = new Int32Array(new SharedArrayBuffer(ringSize(config.maxInFlight) * 4));
  const origin = Math.floor(performance.timeOrigin + now());
  const workerData: WorkerConfig = { ...config.worker, control, claims, origin, awaitGo: ready !== undefined };
  let thread = takeParked(config);
  const claim = thread === undefined ? claimParking(config) : undefined;
  if (claim !== undefined) thread = await claimed(claim, signal);
  if (thread === undefined) {
    dropSpareFor(config);
    thread = spawn(config, workerData);
  } else {
    // A parked thread is unref'd; while it starts for this connection it keeps the process alive, as a new one would.
    thread.worker.ref();
    thread.worker.postMessage({ type: 'rebind', config: workerData } satisfies ToWorker);
  }
  const { worker, exited, lastError } = thread;
  return new Promise((resolve, reject) => {
    let settled = false;
    /** Settles the start once, and removes its listeners (a reused thread keeps running after it). */
    const finish = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      worker.off('message', onMessage);
      worker.off('exit', onExit);
      outcome();
    };
    // Rejects once the thread can no longer open the database: a pool let go of is not written to afterwards.
    const stopThen = (error: Error): void => void stopStarting(thread).then(() => reject(error));
    const onAbort = (): void =>
      finish(() =>
        stopThen(
          signal?.reason instanceof Error
            ? signal.reason
            : new WorkerCrashedError(`The ${role} worker thread was stopped while it started`),
        ),
      );
    const onMessage = (message: FromWorker): void => {
      if (message.type === 'ready') {
        finish(() => resolve({ worker, control, claims, origin, procedures: new Map(message.procedures), exited, lastError }));
        startReserveSoon(config);
      } else if (message.type === 'open-failed') {
        finish(() => reject(fromWireError(message.error))); // the worker exits next, on purpose
      }
    };
    const onExit = (code: number): void =>
      finish(() => {
        const error = lastError();
        reject(
          error !== undefined
            ? startError(role, error)
            : new WorkerCrashedError(`The ${role} worker thread exited (code ${code}) before its connection opened`),
        );
      });
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', onMessage);
    worker.on('exit', onExit);
    ready?.then(
      () => {
        if (!settled) worker.postMessage({ type: 'go' } satisfies ToWorker);
      },
      (error: unknown) => finish(() => stopThen(error instanceof Error ? error : new WorkerCrashedError(String(error)))),
    );
    if (signal?.aborted === true) onAbort();
  });
}

/**
 * The thread another connection is parking, claimed for this one; undefined
 * if it is not parked within `CLAIM_WAIT_MS` or before `signal` aborts (the
 * connection then starts one).
 */
async function claimed(claim: Claim, signal: AbortSignal | undefined): Promise<Thread | undefined> {
  const timer = setTimeout(claim.cancel, CLAIM_WAIT_MS);
  signal?.addEventListener('abort', claim.cancel, { once: true });
  if (signal?.aborted === true) claim.cancel();
  try {
    return await claim.thread;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', claim.cancel);
  }
}

/** Spares asked for and not yet started (see {@link startSpareSoon}), each with its start. */
const soon = new Map<SpareFacts, ReturnType<typeof setImmediate>>();

/**
 * Starts a thread at the next turn for the first connection a pool will open
 * with `config`, kept as a parked one is, so that connection takes it instead
 * of starting one: a thread's start is most of a new pool's first answer, and
 * the pool's own preparations and the app's then happen while it starts. Not
 * in this turn: a process's first thread takes 2 ms to create, which the
 * app's turn would carry; a connection that starts before then starts it
 * itself (see {@link startWorker}). Only where nothing is parked for it
 * already and its thread may be shared; never throws.
 */
export function startSpareSoon(config: SpareFacts): void {
  if (!spareWanted(config)) return;
  soon.set(
    config,
    setImmediate(() => {
      soon.delete(config);
      startSpare(config, true);
    }),
  );
}

/**
 * A connection like `config` opened: a reserve for the next one (another
 * pool's, this pool's next reader) starts after {@link RESERVE_DELAY_MS}, if
 * nothing is parked for it by then. A process that opens one pool, asks it
 * a few things and closes it (a CLI) has parked its thread by then, so it
 * starts none: a thread starting beside its last steps slowed them and its
 * exit by 15-30 ms.
 */
function startReserveSoon(config: SpareFacts): void {
  if (!spareWanted(config)) return;
  setTimeout(() => startSpare(config, false), RESERVE_DELAY_MS).unref();
}

/** Drops a spare asked for a connection like `config` and not yet started: that connection starts its thread now. */
function dropSpareFor(config: ReuseFacts): void {
  if (!shareable(config)) return; // its thread is its own: another pool's spare is still for that pool
  for (const [facts, start] of soon) {
    if (!serves(facts.worker.nativeBinding, facts.worker.nice, config)) continue;
    clearImmediate(start);
    soon.delete(facts);
    return;
  }
}

/**
 * Starts a spare (see {@link startSpareSoon}) or a reserve now, if one is
 * still wanted. A reserve (no `preload`) loads better-sqlite3's addon at its
 * first open instead, so it does not keep the process alive while it starts.
 */
function startSpare(config: SpareFacts, preload: boolean): void {
  if (!spareWanted(config)) return;
  const { nice, nativeBinding, interruptExtension } = config.worker;
  const workerData: SpareConfig = { spare: true, nice, nativeBinding, interruptExtension, preload };
  let worker: Worker;
  try {
    worker = newThread(undefined, workerData, undefined, preload ? 'litepool spare' : 'litepool reserve');
  } catch {
    return; // the connection starts its own thread, and reports why if that fails too
  }
  park(threadOf(worker), config, preload);
}

/** Starts a new thread for `config`; throws a `WorkerCrashedError` saying why if Node refuses to. */
function spawn(config: StartConfig, workerData: WorkerConfig): Thread {
  try {
    return threadOf(newThread(config.workerFile, workerData, config.resourceLimits));
  } catch (error) {
    throw startError(config.worker.role, error);
  }
}

/** A started thread, with what is known of it beyond one connection. */
function threadOf(worker: Worker): Thread {
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  let lastError: unknown;
  worker.on('error', (error) => {
    lastError = error;
  });
  return { worker, exited, lastError: () => lastError };
}

/**
 * A thread on litepool's worker entry (or `workerFile`, a copy of it) with
 * `workerData`, its loads of the addon counted and gated (see
 * native-loads.ts), named `name` (its `threadName`, as debuggers show it);
 * throws what Node throws.
 */
export function newThread(
  workerFile: URL | string | undefined,
  workerData: object,
  resourceLimits?: ResourceLimits,
  name = 'litepool',
): Worker {
  return startCounted((loads) =>
    startWithExecArgv((execArgv) => {
      const options = {
        name,
        workerData: { ...workerData, ...loads },
        ...(execArgv === undefined ? {} : { execArgv }),
        ...(resourceLimits === undefined ? {} : { resourceLimits }),
      };
      // In a try: esbuild then leaves import.meta unreported in a CommonJS bundle (which ships its worker by workerFile).
      // Written out literally: bundlers that follow `new Worker(new URL('./worker.js', import.meta.url))` (webpack) emit the worker.
      try {
        return workerFile === undefined ? new Worker(new URL('./worker.js', import.meta.url), options) : new Worker(workerFile, options);
      } catch (error) {
        throw error instanceof Error ? error : new Error(String(error));
      }
    }),
  );
}
