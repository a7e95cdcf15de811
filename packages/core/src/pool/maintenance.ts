/**
 * Idle-writer maintenance: when the writer has gone idle after writes, the
 * strategy may do its housekeeping on it (a WAL checkpoint, …), on a lease
 * like any caller's, never while work or a handed-off COMMIT is in flight.
 */
import type { Strategy } from '../strategy.js';
import type { PoolLease } from './lease.js';
import { setImmediate } from '../timers.js';

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
    setImmediate(() => void this.#run());
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
