/**
 * `this.lastID` and `this.changes` of a `run` callback, as node-sqlite3 reads
 * them: SQLite's `sqlite3_last_insert_rowid()` and `sqlite3_changes()` of the
 * Database's own connection, which keep their values across statements that
 * insert or change nothing (a `SAVEPOINT` after an `INSERT` reports that
 * insert's rowid and count). A `Database` shares its pool's connections, whose
 * counters move with every `Database`'s statements, so each keeps its own,
 * moved only by its own statements.
 */
import type { RunResult } from '../../index.js';

/** The first word of a statement, past leading comments. */
const FIRST_WORD = /^(?:\s|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*([A-Za-z]+)/;
const INSERTS = /\b(?:INSERT|REPLACE)\b/i;
const WRITES = /\b(?:INSERT|REPLACE|UPDATE|DELETE)\b/i;

/** One `Database`'s last inserted rowid and last count of changed rows. */
export class RunCounters {
  /** The rowid of the last row an INSERT of this Database added (0 before any). */
  lastID = 0;
  /** Rows changed by this Database's last INSERT, UPDATE or DELETE (0 before any). */
  changes = 0;

  /** Moves the counters as `sql`, answered with `result`, moved SQLite's. */
  record(sql: string, result: RunResult): void {
    const word = FIRST_WORD.exec(sql)?.[1]?.toUpperCase();
    if (word === 'INSERT' || word === 'REPLACE') {
      this.changes = result.changes;
      if (result.changes > 0) this.lastID = Number(result.lastInsertRowid);
    } else if (word === 'UPDATE' || word === 'DELETE') {
      this.changes = result.changes;
    } else if (word === 'WITH' && WRITES.test(sql)) {
      // A CTE in front of a write (or of a SELECT that names one in a string: rare enough to count as one).
      this.changes = result.changes;
      if (result.changes > 0 && INSERTS.test(sql)) this.lastID = Number(result.lastInsertRowid);
    }
    // Anything else (DDL, PRAGMA, SELECT, transaction control) leaves both as they were, as in SQLite.
  }

  /**
   * `sql` failed with `error`. A write that failed while it ran (a constraint,
   * SQLITE_BUSY, an I/O error) leaves a count of 0 in SQLite; one that never
   * ran (it did not compile, a parameter did not bind) leaves the count as it was.
   */
  failed(sql: string, error: unknown): void {
    const code = (error as { code?: unknown } | null)?.code;
    if (
      typeof code !== 'string' ||
      !code.startsWith('SQLITE_') ||
      code === 'SQLITE_ERROR' ||
      code === 'SQLITE_RANGE' ||
      code === 'SQLITE_MISUSE'
    )
      return;
    const word = FIRST_WORD.exec(sql)?.[1]?.toUpperCase();
    if (word === 'INSERT' || word === 'REPLACE' || word === 'UPDATE' || word === 'DELETE' || (word === 'WITH' && WRITES.test(sql)))
      this.changes = 0;
  }
}
