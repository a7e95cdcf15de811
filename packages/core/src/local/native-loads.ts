/**
 * Worker threads loading better-sqlite3's addon, counted so the process does
 * not exit under them. `process.exit()` ends every worker thread, and
 * better-sqlite3 13 aborts the whole process when that lands while a thread
 * registers its addon (`FATAL ERROR: Error::New napi_get_last_error_info` in
 * `napi_register_module_v1`, its issue 1507; docs/reliability.md has the
 * counts). So each thread counts itself in shared memory while it loads the
 * addon (the first `new Database` of the thread) or the interrupt extension,
 * or opens its database, and the process's `exit` event waits, bounded,
 * until none does. The same goes for litepool's own `terminate()` of a thread
 * that did not end when told to: each thread has a gate in shared memory that
 * it holds while it loads, and a thread is terminated only once its gate is
 * shut, which a load in progress keeps open and which no load passes
 * afterwards. A pool that stops a thread while it starts shuts its gate too,
 * so that thread never opens (and so never creates) the database once the
 * pool has let it go.
 */
import type { Worker } from 'node:worker_threads';
import { now, setTimeout } from '../timers.js';

/** The longest the `exit` event waits for threads loading the addon (a load takes 1-3 ms). */
const EXIT_WAIT_MS = 1_000;

let counter: Int32Array | undefined;

/** The process's count of threads loading now, created (with its `exit` wait) on first use. */
function nativeLoads(): Int32Array {
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

/** A thread's gate: open, held by a load in progress, or shut (the thread is being terminated: no load may start). */
const OPEN = 0;
const LOADING = 1;
const SHUT = 2;
/** How soon a gate held by a load in progress is tried again (a load takes 1-3 ms). */
const RETRY_MS = 2;

/** Each thread's gate, by its Worker (on the thread that started it). */
const gates = new WeakMap<Worker, Int32Array>();

/**
 * Starts a thread with `create`, handing it what its `workerData` must carry
 * for its loads to be counted and gated: the process's count and a gate of
 * its own, kept for {@link terminateOutsideLoads}.
 */
export function startCounted(create: (loads: { nativeLoads: Int32Array; loadGate: Int32Array }) => Worker): Worker {
  const loadGate = new Int32Array(new SharedArrayBuffer(4));
  const worker = create({ nativeLoads: nativeLoads(), loadGate });
  gates.set(worker, loadGate);
  return worker;
}

/**
 * Shuts `worker`'s gate unless a load holds it now; true once it is shut, or
 * the thread has none or has ended (one that died inside a load, out of
 * memory say, leaves its gate held for good: nothing to wait for then).
 */
function tryShut(worker: Worker): boolean {
  const gate = gates.get(worker);
  return gate === undefined || worker.threadId < 0 || Atomics.compareExchange(gate, 0, OPEN, SHUT) !== LOADING;
}

/**
 * Resolves once `worker`'s gate is shut, so it loads and opens nothing from
 * now on: at once if no load is in progress, else once the load is done, or
 * after `withinMs` if one still holds it then. Never rejects; its waits keep
 * no process alive (the thread itself does, while it runs).
 */
export async function shutGate(worker: Worker, withinMs = Infinity): Promise<void> {
  const deadline = now() + withinMs;
  while (!tryShut(worker) && now() < deadline) await new Promise((resolve) => setTimeout(resolve, RETRY_MS).unref());
}

/**
 * Terminates `worker` once it loads nothing: at once if no load is in
 * progress (its gate then shuts, so none starts), else once the load is done.
 * Never throws.
 */
export function terminateOutsideLoads(worker: Worker): void {
  void shutGate(worker)
    .then(() => worker.terminate())
    .catch(() => undefined); // already gone
}

/** In a litepool thread: the count this thread adds itself to, and its gate, from its `workerData`; undefined on the calling thread. */
let ownLoads: Int32Array | undefined;
let ownGate: Int32Array | undefined;

/** Called once as a thread starts, with its `workerData` (which `newThread` gave the process's count and the thread's gate). */
export function countLoadsOf(workerData: unknown): void {
  const { nativeLoads: loads, loadGate: gate } = (workerData ?? {}) as { nativeLoads?: unknown; loadGate?: unknown };
  if (loads instanceof Int32Array) ownLoads = loads;
  if (gate instanceof Int32Array) ownGate = gate;
}

/**
 * Runs `load` (a thread's native loads, or its database's open) counted,
 * holding the thread's gate; throws instead if the gate is shut (the thread
 * is being stopped). On the calling thread, which neither the exit nor
 * litepool ends under it, just runs it.
 */
export function whileLoadingNative<T>(load: () => T): T {
  const loads = ownLoads;
  if (loads === undefined) return load();
  const gate = ownGate;
  if (gate !== undefined && Atomics.compareExchange(gate, 0, OPEN, LOADING) === SHUT) {
    throw new Error('litepool: this worker thread is being stopped; it loads and opens nothing more');
  }
  Atomics.add(loads, 0, 1);
  try {
    return load();
  } finally {
    Atomics.sub(loads, 0, 1);
    Atomics.notify(loads, 0);
    if (gate !== undefined) Atomics.compareExchange(gate, 0, LOADING, OPEN);
  }
}
