/**
 * What `configure('busyTimeout' | 'limit', …)` and the `change` event ask of
 * a node-sqlite3 connection, kept for a `Database` and applied to its session
 * (which runs them on whichever connection runs its statements) as soon as it
 * is open.
 */
import type { RowChange, Session } from '../../index.js';
import { LIMIT_WORKER_THREADS } from './constants.js';

export class ConnectionConfig {
  #session: Session | undefined;
  /** Limits set before the session opened (category → value). */
  readonly #limits = new Map<number, number>();
  /** A busy timeout set before the session opened. */
  #busyTimeout: number | undefined;
  #listener: ((change: RowChange) => void) | undefined;

  /** The session opened: what was configured before applies to it now. */
  attach(session: Session): void {
    this.#session = session;
    if (this.#busyTimeout !== undefined) this.busyTimeout(this.#busyTimeout);
    for (const [category, value] of this.#limits) session.setLimit(category, value);
    if (this.#listener !== undefined) session.watchChanges(this.#listener);
  }

  /**
   * `configure('busyTimeout', ms)`: the session's `busy_timeout`, which also
   * bounds its calls' wait for a writer another `Database`'s transaction holds
   * (see `SessionOptions.pragmas`). As node-sqlite3, the value is taken as a
   * 32-bit integer, and SQLite turns a negative one into 0.
   */
  busyTimeout(ms: number): void {
    const value = Math.max(0, ms | 0);
    if (this.#session === undefined) this.#busyTimeout = value;
    // A session absorbs a PRAGMA set at once, before this returns: its next calls wait with the new timeout.
    // A session closed meanwhile (the database closing) refuses it, and runs nothing more it would apply to.
    else this.#session.run(`PRAGMA busy_timeout = ${value}`).catch(() => {});
  }

  /**
   * `configure('limit', category, value)`. As SQLite's `sqlite3_limit`, a
   * category it does not know and a negative value change nothing.
   */
  limit(category: number, value: number): void {
    if (!Number.isInteger(category) || category < 0 || category > LIMIT_WORKER_THREADS || value < 0) return;
    const capped = Math.min(Math.trunc(value), 0x7fffffff);
    if (this.#session === undefined) this.#limits.set(category, capped);
    else this.#session.setLimit(category, capped);
  }

  /** Turns the update hook on (with the listener its rows go to) or off. */
  watchChanges(listener: ((change: RowChange) => void) | undefined): void {
    if (listener === this.#listener) return;
    this.#listener = listener;
    this.#session?.watchChanges(listener);
  }
}
