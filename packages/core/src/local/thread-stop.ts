/**
 * Ending a worker thread without `worker.terminate()` landing in native code.
 * better-sqlite3 13 aborts the whole process when a terminate lands while the
 * thread is inside one of its native calls (its issue 1507; seen here as
 * `FATAL ERROR: Error::New napi_get_last_error_info` in a thread loading the
 * addon). So a thread is told to end by message; a statement it runs is
 * interrupted; it is terminated only once it has had time to end by itself
 * (JavaScript stuck in a setup module, a procedure or a UDF), and never while
 * a statement that cannot be interrupted runs.
 */
import type { Worker } from 'worker_threads';
import type { ToWorker } from './protocol.js';
import { settlesWithin } from '../settles-within.js';
import { clearTimeout, setTimeout } from '../timers.js';
import { shutGate, terminateOutsideLoads } from './native-loads.js';

/** A running worker thread and what is known of it beyond one connection. */
export interface Thread {
  readonly worker: Worker;
  /** Resolves when the thread has exited. */
  readonly exited: Promise<void>;
  /** The thread's last uncaught error, if any. */
  readonly lastError: () => unknown;
}

/** How long a thread told to stop while it starts may take to end before it is terminated. */
const STOP_GRACE_MS = 2_000;
/** After an interrupt (and again after a terminate), how long a closing thread is given to end. */
const EXIT_GRACE_MS = 1_000;

/** Asks a thread to end (it closes its connection and lets its port go); never throws. */
export function tellToEnd(thread: Thread): void {
  try {
    thread.worker.postMessage({ type: 'close' } satisfies ToWorker);
  } catch {
    // Already gone.
  }
}

/**
 * Stops a thread that has not reported ready: told to end, terminated only if
 * it has not `STOP_GRACE_MS` later. It keeps the process alive until it has
 * ended: a process that ended meanwhile would terminate it wherever it is,
 * loading the addon included. Resolves once the thread can no longer open
 * the database (its gate is shut: at once, or when an open in progress is
 * done), so that nothing it would create appears after its pool let it go;
 * at the latest after `STOP_GRACE_MS`. Never rejects.
 */
export async function stopStarting(thread: Thread): Promise<void> {
  tellToEnd(thread);
  const timer = setTimeout(() => terminateOutsideLoads(thread.worker), STOP_GRACE_MS);
  timer.unref();
  void thread.exited.then(() => clearTimeout(timer));
  await shutGate(thread.worker, STOP_GRACE_MS);
}

/**
 * Ends a connection's thread: told to end, given `graceMs` to finish what it
 * runs; then its statement is interrupted (`interruptRunning`, false when one
 * runs that cannot be) and it gets `EXIT_GRACE_MS` to end by itself before it
 * is terminated. Resolves with undefined once it has ended, or with the ms
 * waited when it is left to finish on its own (it then no longer keeps the
 * process alive).
 */
export async function stopThread(thread: Thread, graceMs: number, interruptRunning: () => boolean): Promise<number | undefined> {
  const { worker, exited } = thread;
  tellToEnd(thread);
  if (await settlesWithin(exited, graceMs, true)) return undefined;
  let waited = graceMs;
  if (interruptRunning()) {
    if (await settlesWithin(exited, EXIT_GRACE_MS, true)) return undefined;
    terminateOutsideLoads(worker);
    if (await settlesWithin(exited, EXIT_GRACE_MS, true)) return undefined;
    waited += 2 * EXIT_GRACE_MS;
  }
  worker.unref();
  return waited;
}
