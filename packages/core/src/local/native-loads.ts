/**
 * Worker threads loading better-sqlite3's addon, counted so the process does
 * not exit under them. `process.exit()` ends every worker thread, and
 * better-sqlite3 13 aborts the whole process when that lands while a thread
 * registers its addon (`FATAL ERROR: Error::New napi_get_last_error_info` in
 * `napi_register_module_v1`, its issue 1507; docs/reliability.md has the
 * counts). So each thread counts itself in shared memory while it loads the
 * addon (the first `new Database` of the thread) or the interrupt extension,
 * and the process's `exit` event waits, bounded, until none does.
 */
import { now } from '../timers.js';

/** The longest the `exit` event waits for threads loading the addon (a load takes 1-3 ms). */
const EXIT_WAIT_MS = 1_000;

let counter: Int32Array | undefined;

/** The process's count of threads loading now, created (with its `exit` wait) on first use; `newThread` gives it to each thread. */
export function nativeLoads(): Int32Array {
  if (counter === undefined) {
    const loads = new Int32Array(new SharedArrayBuffer(4));
    counter = loads;
    process.on('exit', () => waitForLoads(loads));
  }
  return counter;
}

function waitForLoads(loads: Int32Array): void {
  const deadline = now() + EXIT_WAIT_MS;
  for (let loading = Atomics.load(loads, 0); loading > 0; loading = Atomics.load(loads, 0)) {
    const left = deadline - now();
    if (left <= 0) return;
    try {
      Atomics.wait(loads, 0, loading, left);
    } catch {
      return; // a runtime that refuses to block its main thread: nothing to wait with
    }
  }
}

/** In a litepool thread: the count this thread adds itself to, from its `workerData`; undefined on the calling thread. */
let ownLoads: Int32Array | undefined;

/** Called once as a thread starts, with its `workerData` (which `newThread` gave the process's count). */
export function countLoadsOf(workerData: unknown): void {
  const given = (workerData as { nativeLoads?: unknown } | null)?.nativeLoads;
  if (given instanceof Int32Array) ownLoads = given;
}

/** Runs `load` (a thread's native loads) counted; on the calling thread, which the exit cannot end under it, just runs it. */
export function whileLoadingNative<T>(load: () => T): T {
  const loads = ownLoads;
  if (loads === undefined) return load();
  Atomics.add(loads, 0, 1);
  try {
    return load();
  } finally {
    Atomics.sub(loads, 0, 1);
    Atomics.notify(loads, 0);
  }
}
