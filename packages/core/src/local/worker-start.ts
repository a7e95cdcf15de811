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
import { Control, ringSize, type FromWorker, type ToWorker, type WorkerConfig } from './protocol.js';
import { fromWireError } from './wire-errors.js';
import { clearTimeout, now, setTimeout } from '../timers.js';

/** How long a thread told to stop while it starts may take to end before it is terminated. */
const STOP_GRACE_MS = 2_000;

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

/** A worker that reported its connection ready. */
export interface StartedWorker {
  readonly worker: Worker;
  /** Control block (see {@link Control}) and claim ring, shared with the worker. */
  readonly control: Int32Array;
  readonly claims: Int32Array;
  /** Wall-clock ms that the control block's times count from. */
  readonly origin: number;
  /** The procedures it loaded, by name: whether each is read-only. */
  readonly procedures: ReadonlyMap<string, boolean>;
  /** Resolves when the thread has exited. */
  readonly exited: Promise<void>;
  /** The thread's last uncaught error, if any (for a crash report). */
  lastError(): unknown;
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

/**
 * Asks a thread that has not reported ready to end, and terminates it only if
 * it has not ended `STOP_GRACE_MS` later (its setup module stuck in
 * JavaScript). Never terminated at once: better-sqlite3 13 aborts the whole
 * process when `worker.terminate()` lands while the thread is inside one of
 * its native calls (loading the addon, opening the database), which is where
 * a starting thread spends its time. The thread no longer keeps the process
 * alive meanwhile.
 */
function stopStarting(worker: Worker, exited: Promise<void>): void {
  try {
    worker.postMessage({ type: 'close' } satisfies ToWorker);
  } catch {
    // Already gone.
  }
  worker.unref();
  const timer = setTimeout(() => void worker.terminate(), STOP_GRACE_MS);
  timer.unref();
  void exited.then(() => clearTimeout(timer));
}

/**
 * Starts a worker and resolves once its connection is open; rejects (never
 * throws) otherwise. When `signal` aborts before then, the start rejects at
 * once with the signal's reason and the thread is stopped (see `stopStarting`).
 * See `StartConfig.ready`.
 */
export function startWorker(config: StartConfig, signal: AbortSignal | undefined): Promise<StartedWorker> {
  const { ready } = config;
  const role = config.worker.role;
  const control = new Int32Array(new SharedArrayBuffer(Control.Length * 4));
  const claims = new Int32Array(new SharedArrayBuffer(ringSize(config.maxInFlight) * 4));
  const origin = Math.floor(performance.timeOrigin + now());
  const workerData: WorkerConfig = { ...config.worker, control, claims, origin, awaitGo: ready !== undefined };
  // Its failure is the start's failure, reported below; where the start fails first, nobody else is told.
  ready?.catch(() => {});
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
    return Promise.reject(startError(role, error));
  }
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  let lastError: unknown;
  worker.on('error', (error) => {
    lastError = error;
  });
  return new Promise((resolve, reject) => {
    let settled = false;
    const onAbort = (): void => {
      if (settled) return;
      settled = true;
      stopStarting(worker, exited);
      reject(
        signal?.reason instanceof Error ? signal.reason : new WorkerCrashedError(`The ${role} worker thread was stopped while it started`),
      );
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    ready?.then(
      () => {
        if (!settled) worker.postMessage({ type: 'go' } satisfies ToWorker);
      },
      (error: unknown) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        stopStarting(worker, exited);
        reject(error instanceof Error ? error : new WorkerCrashedError(String(error)));
      },
    );
    const onMessage = (message: FromWorker): void => {
      if (message.type !== 'ready' && message.type !== 'open-failed') return;
      worker.off('message', onMessage);
      signal?.removeEventListener('abort', onAbort);
      if (settled) return;
      settled = true;
      if (message.type === 'ready') {
        resolve({ worker, control, claims, origin, procedures: new Map(message.procedures), exited, lastError: () => lastError });
      } else {
        // The worker exits next, on purpose.
        reject(fromWireError(message.error));
      }
    };
    worker.on('message', onMessage);
    worker.once('exit', (code) => {
      signal?.removeEventListener('abort', onAbort);
      if (settled) return;
      settled = true;
      reject(
        lastError !== undefined
          ? startError(role, lastError)
          : new WorkerCrashedError(`The ${role} worker thread exited (code ${code}) before its connection opened`),
      );
    });
    if (signal?.aborted === true) onAbort();
  });
}
