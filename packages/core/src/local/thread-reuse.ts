/**
 * Idle worker threads kept for the next connection of this process. A thread
 * takes 40-50 ms to start (most of a new pool's first read), while a test
 * suite or a CLI opens pool after pool, often a new file each time. So a
 * connection that closes cleanly parks its thread here (its database closed,
 * nothing of the pool left in it) and the next connection, of any pool,
 * takes it instead of starting one. Only threads that load nothing of the
 * application are shared (no setup or procedures module, litepool's own
 * entry, no resource limits), and only to a connection with the same native
 * binding and `workerNice`; a parked thread does not keep the process alive
 * and is told to end after `PARKED_IDLE_MS` unused. Where none is parked, a
 * new pool starts one here ahead of its first connection (`startSpareSoon`).
 * A thread still being parked (its database closing) is handed straight to a
 * connection that asks meanwhile (`claimParking`): a test that closes one
 * Database and opens the next without waiting would otherwise start a thread.
 */
import type { FromWorker, ToWorker, WorkerConfig } from './protocol.js';
import { tellToEnd, type Thread } from './thread-stop.js';
import { settlesWithin } from '../settles-within.js';
import { clearTimeout, setTimeout } from '../timers.js';

/** How long a parked thread waits to be reused before it is told to end. */
const PARKED_IDLE_MS = 2_000;
/** Most threads parked at once. */
const MAX_PARKED = 4;
/** How long an idle thread may take to confirm it closed its database and is parked. */
const PARK_TIMEOUT_MS = 1_000;

interface Parked {
  readonly thread: Thread;
  /** The native binding its addon was loaded from (a thread loads one). */
  readonly binding: string | undefined;
  /** How far its priority was lowered (`workerNice`; set once per thread: a priority cannot be raised again without privilege). */
  readonly nice: number;
  readonly timer: ReturnType<typeof setTimeout>;
}

const parked: Parked[] = [];

/** A thread whose connection is closing, to be parked once it confirms; `claim` is set when a connection waits for it. */
interface Parking {
  readonly binding: string | undefined;
  readonly nice: number;
  claim: ((thread: Thread | undefined) => void) | undefined;
}

const parking = new Set<Parking>();

/** What a connection's thread must not carry for it to be shared. */
export interface ReuseFacts {
  readonly worker: Pick<WorkerConfig, 'setup' | 'procedures' | 'nativeBinding' | 'nice'>;
  readonly workerFile: unknown;
  readonly resourceLimits: unknown;
}

/** Whether a connection opened with `config` may take a parked thread, and park its own. */
export function shareable(config: ReuseFacts): boolean {
  return (
    config.worker.setup === undefined &&
    config.worker.procedures === undefined &&
    config.workerFile === undefined &&
    config.resourceLimits === undefined
  );
}

/** Whether a thread that loaded `binding` at priority `nice` can serve a connection opened with `config`. */
export function serves(binding: string | undefined, nice: number, config: ReuseFacts): boolean {
  return binding === config.worker.nativeBinding && nice === config.worker.nice;
}

/** A parked thread for a connection opened with `config`, if one is waiting (most recently parked first). */
export function takeParked(config: ReuseFacts): Thread | undefined {
  if (!shareable(config)) return undefined;
  for (let i = parked.length - 1; i >= 0; i--) {
    const entry = parked[i]!;
    if (!serves(entry.binding, entry.nice, config)) continue;
    parked.splice(i, 1);
    clearTimeout(entry.timer);
    return entry.thread;
  }
  return undefined;
}

/** Whether a thread started now for a connection opened with `config` would be kept: it may be shared, none is parked for it, there is room. */
export function spareWanted(config: ReuseFacts): boolean {
  const serving = (entry: Parked | Parking): boolean => serves(entry.binding, entry.nice, config);
  return (
    shareable(config) &&
    parked.length < MAX_PARKED &&
    !parked.some(serving) &&
    ![...parking].some((entry) => entry.claim === undefined && serving(entry))
  );
}

/** A thread being parked that a connection opened with `config` now waits for, and how to stop waiting. */
export interface Claim {
  /** The thread once parked (it is not parked then: it is this connection's), or undefined if it could not be. */
  readonly thread: Promise<Thread | undefined>;
  /** Stops waiting: `thread` resolves undefined and the thread, once confirmed, is parked as usual. */
  readonly cancel: () => void;
}

/** Claims a thread being parked for a connection opened with `config`, if one is and no other connection waits for it. */
export function claimParking(config: ReuseFacts): Claim | undefined {
  if (!shareable(config)) return undefined;
  for (const entry of parking) {
    if (entry.claim !== undefined || !serves(entry.binding, entry.nice, config)) continue;
    let settle: (thread: Thread | undefined) => void = () => {};
    const thread = new Promise<Thread | undefined>((resolve) => {
      settle = resolve;
    });
    entry.claim = settle;
    const cancel = (): void => {
      if (entry.claim !== settle) return;
      entry.claim = undefined;
      settle(undefined);
    };
    return { thread, cancel };
  }
  return undefined;
}

/**
 * Keeps a shareable idle thread (its database closed) for the next
 * connection; tells it to end if there is no room. A thread still `starting`
 * (a spare) keeps the process alive until it says it is parked: a process
 * that ends while a thread loads better-sqlite3's addon aborts (thread-stop.ts).
 */
export function park(thread: Thread, config: ReuseFacts, starting = false): void {
  if (!starting) thread.worker.unref();
  else {
    const loaded = (): void => {
      if (parked.some((entry) => entry.thread === thread)) thread.worker.unref();
    };
    thread.worker.once('message', loaded);
  }
  if (parked.length >= MAX_PARKED) return tellToEnd(thread);
  const entry: Parked = {
    thread,
    binding: config.worker.nativeBinding,
    nice: config.worker.nice,
    timer: setTimeout(() => {
      const at = parked.indexOf(entry);
      if (at >= 0) parked.splice(at, 1);
      tellToEnd(thread);
    }, PARKED_IDLE_MS),
  };
  entry.timer.unref();
  parked.push(entry);
  void thread.exited.then(() => {
    const at = parked.indexOf(entry);
    if (at >= 0) {
      parked.splice(at, 1);
      clearTimeout(entry.timer);
    }
  });
}

/**
 * Parks the idle thread of a closing connection: the thread closes its
 * database and confirms, then `detach` (the connection letting go of it)
 * runs and the thread is kept, or handed to the connection that claimed it
 * meanwhile. False when it cannot be shared or did not confirm within
 * `PARK_TIMEOUT_MS` (the connection then closes it as usual).
 */
export async function parkThread(thread: Thread, config: ReuseFacts, detach: () => void): Promise<boolean> {
  if (!shareable(config)) return false;
  const entry: Parking = { binding: config.worker.nativeBinding, nice: config.worker.nice, claim: undefined };
  parking.add(entry);
  const kept = await parkConfirmed(thread);
  parking.delete(entry);
  const { claim } = entry;
  if (!kept) {
    claim?.(undefined);
    return false;
  }
  detach();
  if (claim === undefined) park(thread, config);
  else claim(thread);
  return true;
}

/** Tells an idle thread to close its database and stay; whether it confirmed within `PARK_TIMEOUT_MS` (never throws). */
async function parkConfirmed(thread: Thread): Promise<boolean> {
  const { worker } = thread;
  let confirmed = false;
  let onParked: (message: FromWorker) => void = () => {};
  const confirmation = new Promise<void>((resolve) => {
    onParked = (message) => {
      if (message.type !== 'parked') return;
      confirmed = true;
      resolve();
    };
  });
  worker.on('message', onParked);
  try {
    worker.postMessage({ type: 'park' } satisfies ToWorker);
    await settlesWithin(Promise.race([confirmation, thread.exited]), PARK_TIMEOUT_MS, true);
  } catch {
    // Already gone.
  } finally {
    worker.off('message', onParked);
  }
  return confirmed;
}
