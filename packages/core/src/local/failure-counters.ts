/**
 * SQLite's counters after a write that failed while it ran: `changes()`
 * (what ON CONFLICT FAIL or a trigger's RAISE(FAIL) left of it, 0 where
 * SQLite undid it) and `last_insert_rowid()`, which SQLite moves for every
 * row it inserts, even one it then undoes. A failure answers with them (the
 * node-sqlite3 drop-in's `this.changes` and `this.lastID` follow SQLite's),
 * the rowid only when the failed statement moved it. So the connection's last
 * rowid is followed: from each `run`'s answer, and read before a write only
 * when something since may have moved it unseen (a script, a write answering
 * rows, a procedure), which costs one read there and nothing on the usual path.
 */

import type { RunResult } from 'better-sqlite3';
import { Status, type WireError, type WireRequest, type WireResponse } from './protocol.js';

/** What a write that failed left in SQLite's counters. */
export interface FailureCounts {
  /** `sqlite3_changes()` after it. */
  readonly changes: number;
  /** `sqlite3_last_insert_rowid()` after it, when it moved it (it inserted a row before failing). */
  readonly lastInsertRowid?: number | bigint;
}

/** The counters' query: safe integers, so a rowid beyond 2^53 compares exactly. */
export const COUNTERS_SQL = 'SELECT changes() AS n, last_insert_rowid() AS id, total_changes() AS t';

/** SQLite's counters as COUNTERS_SQL reads them. */
export interface CountersRow {
  readonly n: bigint;
  readonly id: bigint;
  readonly t: bigint;
}

/** Where a connection's counters were before writes that may run again (see {@link FailureCounters.mark}). */
export interface CountersMark {
  /** `last_insert_rowid()`. */
  readonly rowid: bigint;
  /** `total_changes()`: every row any statement changed, triggers' rows and rows SQLite then undid included. */
  readonly total: bigint;
}

/** One connection's last inserted rowid as followed, and its counters after a failed write. */
export class FailureCounters {
  /** The connection's last_insert_rowid(), or undefined where a statement may have moved it unseen. */
  #known: bigint | undefined;

  /** @param read reads COUNTERS_SQL on the connection (with safe integers) */
  constructor(private readonly read: () => CountersRow) {}

  /** A write is about to run: its starting rowid must be known to tell whether it moved it. */
  before(): void {
    this.#known ??= this.read().id;
  }

  /** A write ran: `lastInsertRowid` as its `run` answered it, or undefined where it did not say. */
  #after(lastInsertRowid: number | bigint | undefined): void {
    this.#known = lastInsertRowid === undefined ? undefined : BigInt(lastInsertRowid);
  }

  /** The connection's counters now (read): what {@link restore} goes back to. */
  mark(): CountersMark {
    const { id, t } = this.read();
    this.#known = id;
    return { rowid: id, total: t };
  }

  /**
   * Writes rolled back since `mark` are to run again: SQLite does not take back the rowids they moved, so a
   * failure of the run again is measured from `mark`, where it started in SQLite's eyes.
   */
  restore(mark: CountersMark): void {
    this.#known = mark.rowid;
  }

  /** The connection was closed or reopened: a new one starts at rowid 0, read again before its first write. */
  forget(): void {
    this.#known = undefined;
  }

  /**
   * The answer to `request`, a write (or a script or procedure, which may
   * write): its rowid followed; a statement's failure while it ran answered
   * with the counters it left, read now, before anything else runs on the
   * connection (`open`: the connection is still open).
   */
  settle(request: WireRequest, response: WireResponse, open: boolean): WireResponse {
    const statement = request.op !== 'exec' && request.op !== 'call';
    if (response.status !== Status.Failed) {
      this.#after(statement && request.op === 'run' ? (response.value as RunResult).lastInsertRowid : undefined);
      return response;
    }
    const wire = response.value as WireError;
    if (!statement || !open || (wire.kind !== 'sqlite' && wire.kind !== 'interrupted')) {
      this.forget();
      return response;
    }
    return { ...response, value: { ...wire, ...this.#failed() } };
  }

  #failed(): FailureCounts {
    const { n, id } = this.read();
    const moved = this.#known !== undefined && id !== this.#known;
    this.#known = id;
    const changes = Number(n);
    if (!moved) return { changes };
    return { changes, lastInsertRowid: id >= BigInt(Number.MIN_SAFE_INTEGER) && id <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(id) : id };
  }
}
