/**
 * Idle-writer maintenance: when the writer has gone idle after writes, the
 * strategy may do its housekeeping on it (a WAL checkpoint, …), on a lease
 * like any caller's, never while work or a handed-off COMMIT is in flight.
 */
import type { Strategy } from '../strategy.js';
import type { PoolLease } from './lease.js';
import { clearTimeout, setTimeout } from '../timers.js';

/**
 * How long after the writer goes idle maintenance runs (if it is still idle
 * then; else at its next idle moment). Not at once: run at every idle
 * moment, a checkpoint (and its fsync) came between one transaction and the
 * next, and the next waited for it: a deferred read-modify-write at 1 in
 * flight, idle while it reads on a reader, ran 845-1,030/s through
 * `pool.transaction` and 460-720/s through the node-sqlite3 drop-in; with
 * this delay 1,640-1,670/s and 970-1,370/s.
 */
export const MAINTENANCE_DELAY_MS = 20;

/** What maintenance needs from its pool. */
export interface MaintenanceHost {
  /** Whether the pool is open. */
  isOpen(): boolean;
  /** Whether the writer has nothing queued or running, and no COMMIT is in flight. */
  writerQuiet(): boolean;
  /** A lease of the writer, taken for maintenance. */
  leaseWriter(): Promise<PoolLease>;
}

/** The pool's maintenance runs. */
export class Maintenance {
  /** Runs that failed (since start). */
  errors = 0;
  /** Writes happened since the last run. */
  #dirty = false;
  #running = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly strategy: Strategy,
    private readonly host: MaintenanceHost,
  ) {}

  /** Something may have written: the next idle moment runs maintenance. */
  touched(): void {
    this.#dirty = true;
  }

  /** The writer looks idle: runs the strategy's maintenance, if there were writes since the last run. */
  onWriterIdle(): void {
    if (!this.#dirty || this.#running || !this.host.writerQuiet() || this.strategy.onWriterIdle === undefined || !this.host.isOpen())
      return;
    this.#dirty = false;
    this.#running = true;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#run();
    }, MAINTENANCE_DELAY_MS);
    // Closing checkpoints anyway: a run still waiting does not keep the process alive.
    this.#timer.unref();
  }

  /** The pool is closing: a run still waiting is dropped. */
  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #run(): Promise<void> {
    try {
      if (!this.host.isOpen()) return;
      if (!this.host.writerQuiet()) {
        // Work arrived meanwhile: maintenance waits for the writer's next idle moment.
        this.#dirty = true;
        return;
      }
      const lease = await this.host.leaseWriter();
      try {
        await this.strategy.onWriterIdle?.({
          all: (sql) => lease.request('all', sql, undefined, undefined, { internal: true }) as Promise<Record<string, unknown>[]>,
        });
      } finally {
        void lease.release();
      }
    } catch {
      this.errors++;
    } finally {
      this.#running = false;
    }
  }
}
