/**
 * The read watch's thread (see read-watch.ts): it sleeps while the calling
 * thread runs no statement, and while it runs one it looks every
 * {@link WATCH_MS}; a statement still running at the next look is
 * interrupted. It lives in litepool's worker entry, started with a
 * {@link WatchConfig} as its `workerData`.
 */
import { parentPort } from 'node:worker_threads';
import { memoryDatabase } from './database-open.js';
import { Control } from './protocol.js';

/** How often the watch looks: a statement on the calling thread runs at most about twice this long. */
export const WATCH_MS = 1;

/** Most connections one watch serves at once (a pool uses one). */
export const WATCH_SLOTS = 32;

/** The shared block: these cells, then {@link WATCH_SLOTS} connection control blocks (see `Control`). */
export const Cell = {
  /** 0 while the thread starts, 1 once it watches, -1 if it cannot (no extension). */
  Ready: 0,
  /** 1 while the thread sleeps until a statement starts (the calling thread then wakes it). */
  Sleeping: 1,
  /** The slot (index + 1) of the connection running a statement now; 0 when none runs. */
  Running: 2,
  /** That statement's sequence number (unique per watch). */
  Seq: 3,
  /** Never written: the thread waits on it to sleep for a while. */
  Pause: 4,
  Controls: 8,
} as const;

/** The `workerData` of the watch's thread. */
export interface WatchConfig {
  readonly watchReads: true;
  /** The shared block (see {@link Cell}). */
  readonly block: Int32Array;
  /** The interrupt extension the watched connections loaded (its registry of connections is per file loaded). */
  readonly extension: string;
  readonly nativeBinding: string | undefined;
}

/** Whether a worker's `workerData` starts a watch rather than a connection. */
export function isWatchConfig(data: unknown): data is WatchConfig {
  return typeof data === 'object' && data !== null && (data as { watchReads?: unknown }).watchReads === true;
}

/** Slot `index`'s control block, a view of the shared block. */
export function controlOf(block: Int32Array, index: number): Int32Array {
  return block.subarray(Cell.Controls + index * Control.Length, Cell.Controls + (index + 1) * Control.Length);
}

/** The watch itself: runs until the process ends (the thread is unref'd and sleeps when nothing runs). */
export function watchReads(config: WatchConfig): void {
  const { block } = config;
  let interrupt: ((token: number) => void) | undefined;
  try {
    const db = memoryDatabase(config.nativeBinding, config.extension);
    const statement = db.prepare<[number], number>('SELECT litepool_interrupt(?)').pluck();
    interrupt = (token) => void statement.get(token);
  } catch {
    interrupt = undefined;
  }
  Atomics.store(block, Cell.Ready, interrupt === undefined ? -1 : 1);
  // Started, or given up: the calling thread may now let the process end without waiting for this one (see read-watch.ts).
  parentPort?.postMessage('started');
  if (interrupt === undefined) return;
  for (;;) {
    const slot = Atomics.load(block, Cell.Running);
    if (slot === 0) {
      // Nothing runs: sleep until the calling thread starts a statement (it wakes a sleeping watch).
      Atomics.store(block, Cell.Sleeping, 1);
      if (Atomics.load(block, Cell.Running) === 0) Atomics.wait(block, Cell.Running, 0);
      Atomics.store(block, Cell.Sleeping, 0);
      continue;
    }
    const seq = Atomics.load(block, Cell.Seq);
    Atomics.wait(block, Cell.Pause, 0, WATCH_MS);
    if (Atomics.load(block, Cell.Running) !== slot || Atomics.load(block, Cell.Seq) !== seq) continue;
    // The same statement since the last look: stop it, marked as wanted (a stray interrupt is told apart by its target).
    const control = controlOf(block, slot - 1);
    Atomics.store(control, Control.Target, seq);
    interrupt(Atomics.load(control, Control.Token));
  }
}
