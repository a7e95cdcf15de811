/**
 * The read watch: a thread, one per process (per interrupt extension and
 * native binding), that bounds how long a statement run on the calling
 * thread may block it. The calling thread marks each statement's start and
 * end in shared memory; the watch thread (read-watch-loop.ts) interrupts one
 * that runs past its budget. It sleeps while no statement runs: an idle
 * process pays nothing for it.
 */
import type { Worker } from 'node:worker_threads';
import { Cell, controlOf, WATCH_SLOTS, type WatchConfig } from './read-watch-loop.js';
import { Control } from './protocol.js';
import { newThread } from './worker-start.js';
import { clearTimeout, setTimeout } from '../timers.js';

/** The longest the watch's thread keeps the process alive while it starts. */
const STARTS_WITHIN_MS = 5_000;

/** A connection's place in the watch: its control block (the token, the interrupt's target) and its index. */
export interface WatchSlot {
  readonly index: number;
  readonly control: Int32Array;
}

/** The watch threads of this process, by extension and native binding; undefined where one could not start. */
const watches = new Map<string, ReadWatch | undefined>();

/** One watch thread and the connections it serves. */
export class ReadWatch {
  readonly #block: Int32Array;
  readonly #free: number[] = [];
  #seq = 0;

  private constructor(block: Int32Array, worker: Worker) {
    this.#block = block;
    for (let i = WATCH_SLOTS - 1; i >= 0; i--) this.#free.push(i);
    // Keeps the process alive only while it starts (it says so when it has): a process that ends while the thread
    // loads better-sqlite3's addon aborts (see thread-stop.ts). At most STARTS_WITHIN_MS, should the word never come.
    // A thread that ended (it could not load the extension) watches nothing.
    const started = (): void => {
      clearTimeout(fallback);
      worker.unref();
    };
    const fallback = setTimeout(started, STARTS_WITHIN_MS);
    fallback.unref();
    worker.once('message', started);
    worker.once('exit', () => Atomics.store(block, Cell.Ready, -1));
    worker.on('error', () => Atomics.store(block, Cell.Ready, -1));
  }

  /** The process's watch for connections that load `extension` with `nativeBinding`, started on first use; undefined if it cannot start. */
  static for(extension: string, nativeBinding: string | undefined, workerFile: URL | string | undefined): ReadWatch | undefined {
    const key = `${extension}\0${nativeBinding ?? ''}`;
    if (!watches.has(key)) {
      const block = new Int32Array(new SharedArrayBuffer((Cell.Controls + WATCH_SLOTS * Control.Length) * 4));
      const config: WatchConfig = { watchReads: true, block, extension, nativeBinding };
      let watch: ReadWatch | undefined;
      try {
        watch = new this(block, newThread(workerFile, config, undefined, 'litepool read watch'));
      } catch {
        watch = undefined;
      }
      watches.set(key, watch);
    }
    return watches.get(key);
  }

  /** Whether a watch of this process watches now: one started before (starting one takes a thread). */
  static anyReady(): boolean {
    for (const watch of watches.values()) if (watch?.ready === true) return true;
    return false;
  }

  /** Whether the thread watches now (it takes tens of ms to start). */
  get ready(): boolean {
    return Atomics.load(this.#block, Cell.Ready) === 1;
  }

  /** A slot for one connection, or undefined when all are taken. */
  take(): WatchSlot | undefined {
    const index = this.#free.pop();
    if (index === undefined) return undefined;
    const control = controlOf(this.#block, index);
    control.fill(0);
    return { index, control };
  }

  /** Gives a slot back (its connection closed). */
  give(slot: WatchSlot): void {
    this.#free.push(slot.index);
  }

  /** Marks that `slot`'s connection starts a statement; returns its sequence number. */
  start(slot: WatchSlot): number {
    const block = this.#block;
    const seq = (this.#seq = (this.#seq % 0x3fffffff) + 1);
    Atomics.store(block, Cell.Seq, seq);
    Atomics.store(block, Cell.Running, slot.index + 1);
    if (Atomics.load(block, Cell.Sleeping) === 1) Atomics.notify(block, Cell.Running);
    return seq;
  }

  /** Marks that the statement has ended. */
  end(): void {
    Atomics.store(this.#block, Cell.Running, 0);
  }
}
