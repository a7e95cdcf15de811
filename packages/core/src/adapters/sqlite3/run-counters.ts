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

/** Codes of a statement that failed before it ran. */
const NEVER_RAN = new Set(['SQLITE_ERROR', 'SQLITE_RANGE', 'SQLITE_MISUSE']);

/** Which of SQLite's counters a statement moves: both (an insert), the count only (an update or delete), or none. */
type Moves = 'both' | 'changes' | 'none';

function moves(sql: string): Moves {
  const word = FIRST_WORD.exec(sql)?.[1]?.toUpperCase();
  if (word === 'INSERT' || word === 'REPLACE') return 'both';
  if (word === 'UPDATE' || word === 'DELETE') return 'changes';
  // A CTE in front of a write (or of a SELECT that names one in a string: rare enough to count as one).
  if (word === 'WITH' && WRITES.test(sql)) return INSERTS.test(sql) ? 'both' : 'changes';
  // Anything else (DDL, PRAGMA, SELECT, transaction control) leaves both as they were, as in SQLite.
  return 'none';
}

/** One `Database`'s last inserted rowid and last count of changed rows. */
export class RunCounters {
  /** The rowid of the last row an INSERT of this Database added (0 before any). */
  lastID = 0;
  /** Rows changed by this Database's last INSERT, UPDATE or DELETE (0 before any). */
  changes = 0;

  /** Moves the counters as `sql`, answered with `result`, moved SQLite's. */
  record(sql: string, result: RunResult): void {
    const moved = moves(sql);
    if (moved === 'none') return;
    this.changes = result.changes;
    if (moved === 'both' && result.changes > 0) this.lastID = Number(result.lastInsertRowid);
  }

  /**
   * `sql` failed with `error`. A write that failed while it ran (a constraint,
   * SQLITE_BUSY, an I/O error) leaves a count of 0 in SQLite; one that never
   * ran (it did not compile, a parameter did not bind) leaves the count as it was.
   */
  failed(sql: string, error: unknown): void {
    const code = (error as { code?: unknown } | null)?.code;
    const ran = typeof code === 'string' && code.startsWith('SQLITE_') && !NEVER_RAN.has(code);
    if (ran && moves(sql) !== 'none') this.changes = 0;
  }
}
