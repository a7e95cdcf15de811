/**
 * `this.lastID` and `this.changes` of a `run` callback, as node-sqlite3 reads
 * them: SQLite's `sqlite3_last_insert_rowid()` and `sqlite3_changes()` of the
 * Database's own connection, which keep their values across statements that
 * insert or change nothing (a `SAVEPOINT` after an `INSERT` reports that
 * insert's rowid and count). A `Database` shares its pool's connections, whose
 * counters move with every `Database`'s statements, so each keeps its own,
 * moved only by its own statements (an `exec` script's too: see
 * {@link RunCounters.exec}).
 */
import {
  mayBeNoOp,
  onlyQueries,
  SqliteError,
  statements,
  type AcquireOptions,
  type Lease,
  type QueryOptions,
  type RunResult,
} from '../../index.js';
import { bindArguments } from './params.js';
import { firstWord, withStrategyPragmas } from './statement-text.js';
import type { Target } from './target.js';

const INSERTS = /\b(?:INSERT|REPLACE)\b/i;
const WRITES = /\b(?:INSERT|REPLACE|UPDATE|DELETE)\b/i;
/** Scripts that may move SQLite's counters: writes, and VACUUM (its copy of the tables moves the last inserted rowid). */
const MOVERS = /\b(?:INSERT|REPLACE|UPDATE|DELETE|VACUUM)\b/i;

/** Statements whose effect a session keeps and a lease would undo on release: such a script runs on the session. */
const SESSION_STATE = /\b(?:PRAGMA|ATTACH|DETACH|TEMP|TEMPORARY)\b/i;
/** SQLite's counters of the connection a query runs on. */
const READ_COUNTERS = 'SELECT last_insert_rowid() AS id, changes() AS n, total_changes() AS t';
interface Counters {
  readonly id: number | bigint;
  readonly n: number | bigint;
  readonly t: number | bigint;
}
/** A target that lends one connection (a session), as opposed to a transaction already on one. */
interface Lender {
  acquire(options: AcquireOptions): Promise<Lease>;
}

/** Statements that begin or end a transaction or a savepoint: none takes the write lock in a deferred transaction. */
const TRANSACTION_CONTROL = /^\s*(?:BEGIN(?!\s+(?:IMMEDIATE|EXCLUSIVE))|SAVEPOINT|RELEASE|COMMIT|END|ROLLBACK)\b/i;
/** Codes of a statement that failed before it ran. */
const NEVER_RAN = new Set(['SQLITE_ERROR', 'SQLITE_RANGE', 'SQLITE_MISUSE']);

/**
 * Which of SQLite's counters a statement moves: both (an insert), the count only (an update or delete), the rowid only
 * (VACUUM, whose copy of every table inserts rows and then restores the count), or none.
 */
type Moves = 'both' | 'changes' | 'rowid' | 'none';

function moves(sql: string): Moves {
  const word = firstWord(sql);
  if (word === 'INSERT' || word === 'REPLACE') return 'both';
  if (word === 'UPDATE' || word === 'DELETE') return 'changes';
  if (word === 'VACUUM') return 'rowid';
  // A CTE in front of a write (or of a SELECT that names one in a string: rare enough to count as one).
  if (word === 'WITH' && WRITES.test(sql)) return INSERTS.test(sql) ? 'both' : 'changes';
  // Anything else (DDL, PRAGMA, SELECT, transaction control) leaves both as they were, as in SQLite.
  return 'none';
}

/** One `Database`'s last inserted rowid and last count of changed rows. */
export class RunCounters {
  /** @param readOnly the Database cannot write (a script that writes fails as SQLite fails it, on the session). */
  constructor(private readonly readOnly: boolean) {}

  /** The rowid of the last row an INSERT of this Database added (0 before any). */
  lastID = 0;
  /** Rows changed by this Database's last INSERT, UPDATE or DELETE (0 before any). */
  changes = 0;
  /** Whether the connections have litepool_rowid() (the interrupt extension is loaded); learnt at the first exec without it. */
  #rowidSettable = true;

  /**
   * Moves the counters as `sql`, answered with `result`, moved SQLite's, and
   * copies them onto `into` (a `run` callback's `this`) when given.
   */
  record(sql: string, result: RunResult, into?: { lastID: number; changes: number }): void {
    const moved = moves(sql);
    if (moved === 'rowid') this.lastID = Number(result.lastInsertRowid);
    else if (moved !== 'none') {
      this.changes = result.changes;
      if (moved === 'both' && result.changes > 0) this.lastID = Number(result.lastInsertRowid);
    }
    if (into === undefined) return;
    into.lastID = this.lastID;
    into.changes = this.changes;
  }

  /**
   * Runs an `exec` script on `target` (its strategy PRAGMAs answered as
   * litepool keeps them: {@link withStrategyPragmas}). A script that may
   * write (INSERT, REPLACE, UPDATE, DELETE) runs on one connection between
   * two readings of SQLite's counters (a write lease of the session, or the
   * transaction's own connection), and this Database's counters move as the
   * script moved SQLite's, as node-sqlite3's next `run` reports them. The
   * script starts by setting the connection's last inserted rowid to this
   * Database's (`litepool_rowid`, from the interrupt extension), so the rowid
   * it leaves is the one node-sqlite3's connection would report; without the
   * extension the rowid moves when the connection's did (an insert of the
   * rowid already there goes unseen). The count moves when either counter
   * did, or the script ran whole and holds a write; a script refused the
   * write lock leaves it at 0 if its first write is an INSERT, UPDATE or
   * DELETE (that statement failed, in SQLite).
   */
  async exec(target: Target, sql: string, options: QueryOptions): Promise<void> {
    const script = withStrategyPragmas(sql);
    const lender = 'acquire' in target ? (target as Target & Lender) : undefined;
    if (!MOVERS.test(script) || SESSION_STATE.test(script) || (lender !== undefined && this.readOnly))
      return runScript(target, script, options);
    const lease = await lender?.acquire({ write: true, signal: options.signal }).catch((error: unknown) => {
      this.#lockRefused(error, script);
      throw error;
    });
    const on: Target = lease ?? target;
    /** Whether the script changed rows before it failed (then its failure was not the lock's, taken at its first write). */
    let changedRows = false;
    try {
      const before = await on.get<Counters>(READ_COUNTERS, undefined, options);
      let failure: unknown;
      let rowidSet = this.#rowidSettable;
      try {
        // One exec, so the rowid is set on the connection the script runs on (a deferred transaction moves to the writer).
        if (rowidSet) rowidSet = await this.#execFromOwnRowid(on, script, options);
        if (!rowidSet) await on.exec(script, options);
      } catch (error) {
        failure = error;
        throw error;
      } finally {
        const after = await on.get<Counters>(READ_COUNTERS, undefined, options).catch(() => undefined);
        if (before !== undefined && after !== undefined) {
          changedRows = after.t !== before.t;
          if (rowidSet || after.id !== before.id) this.lastID = Number(after.id);
          // A write that failed while it ran leaves SQLite's count at 0, which it may have been already.
          const zeroed = after.n === 0 && failure !== undefined && ran(failure);
          // A script that ran whole leaves the count of its last INSERT, UPDATE or DELETE, even one that changed no
          // row and so moved neither counter when the shared connection's count was 0 already.
          const wrote = failure === undefined && statements(script).some((statement) => countsChanges(moves(statement.text)));
          if (wrote || after.t !== before.t || after.n !== before.n || zeroed) this.changes = Number(after.n);
        }
      }
    } catch (error) {
      // Reading the counters takes the writer too (they are the writer's), so a refused lock can come from either.
      if (!changedRows) this.#lockRefused(error, script);
      throw error;
    } finally {
      await lease?.release();
    }
  }

  /**
   * The script failed with `error`; if that is SQLITE_BUSY or SQLITE_LOCKED, the write lock was not to be had: in
   * SQLite the script's first write failed, which leaves a count of 0 if it was an INSERT, UPDATE or DELETE.
   */
  #lockRefused(error: unknown, script: string): void {
    const code = String((error as { code?: unknown } | null)?.code);
    if ((code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) && firstWriteMoves(script)) this.changes = 0;
  }

  /** Runs `script` after litepool_rowid(lastID) on one connection; false, having run nothing, where that function is missing. */
  async #execFromOwnRowid(on: Target, script: string, options: QueryOptions): Promise<boolean> {
    try {
      await on.exec(`SELECT litepool_rowid(${this.lastID});\n${script}`, options);
      return true;
    } catch (error) {
      if (!String((error as { message?: unknown } | null)?.message).includes('no such function: litepool_rowid')) throw error;
      this.#rowidSettable = false;
      return false;
    }
  }

  /**
   * `sql` failed with `error`. A write that failed while it ran leaves
   * SQLite's counters as the pool's error reports them (`SqliteError`'s
   * `changes`, and `lastInsertRowid` when it inserted a row before failing);
   * where it does not say, as SQLite leaves most (a constraint, SQLITE_BUSY,
   * an I/O error): a count of 0. One that never ran (it did not compile, a
   * parameter did not bind) leaves them as they were.
   */
  failed(sql: string, error: unknown): void {
    const cause = (error as { cause?: unknown } | null)?.cause;
    const reported = cause instanceof SqliteError ? cause : undefined;
    if (reported?.lastInsertRowid !== undefined) this.lastID = Number(reported.lastInsertRowid);
    if (!ran(error) || !countsChanges(moves(sql))) return;
    this.changes = reported?.changes ?? 0;
  }
}

/** Whether a statement's `error` came while it ran (a constraint, SQLITE_BUSY, an I/O error), not before. */
function ran(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') && !NEVER_RAN.has(code);
}

/** Whether the first statement of `script` that takes the write lock is an INSERT, UPDATE or DELETE. */
function firstWriteMoves(script: string): boolean {
  const first = statements(script).find(({ text }) => !onlyQueries(text) && !TRANSACTION_CONTROL.test(text));
  return first !== undefined && countsChanges(moves(first.text));
}

/** Whether a statement that moves `moved` sets SQLite's count of changes. */
function countsChanges(moved: Moves): boolean {
  return moved === 'both' || moved === 'changes';
}

/**
 * Runs a script that moves no counter. One of queries alone runs query by
 * query, each read to its end, as reads: outside a transaction the pool's
 * `exec` runs on the writer, which it would hold while it runs (SQLite's
 * exec of SELECTs takes no lock).
 */
async function runScript(target: Target, script: string, options: QueryOptions): Promise<void> {
  if (!onlyQueries(script)) {
    const single = statements(script);
    // One CREATE … IF NOT EXISTS or DROP … IF EXISTS: as a statement, so that in a deferred transaction its no-op leaves
    // the transaction where it is (outside one, the pool's exec routes it to a reader the same way).
    if (single.length === 1 && mayBeNoOp(single[0]!.text)) return void (await target.run(single[0]!.text, undefined, options));
    return target.exec(script, options);
  }
  // As sqlite3_exec runs them: with their parameters, if any, left NULL.
  for (const query of statements(script)) {
    const { sql, params } = bindArguments(query.text, []);
    for await (const row of target.iterate(sql, params, options)) void row;
  }
}
