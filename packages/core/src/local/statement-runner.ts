/**
 * The worker's side of one connection: opens it (and reopens it when its
 * state is unknown), runs requests on it one at a time, and records in shared
 * memory which request runs and since when, so the pool can time it out,
 * interrupt it, or take back what has not started.
 */
import type Database from 'better-sqlite3';
import type { Settings } from '../backend.js';
import {
  bindArgs,
  codeOf,
  failed,
  hasBlob,
  isBusy,
  isInterrupt,
  KindedError,
  leavesStateUnknown,
  ok,
  reroute,
  rowsHaveBlob,
  rowsOk,
  chunkOf,
  chunkOk,
  noRows,
} from './answers.js';
import { ConnectionSettings } from './connection-settings.js';
import { Cursors } from './cursors.js';
import { openDatabase } from './database-open.js';
import { ProcedureRunner } from './procedure-runner.js';
import { WROTE } from './seq-ring.js';
import { COUNTERS_SQL, FailureCounters, type CountersMark, type CountersRow } from './failure-counters.js';
import { Control, Status, sinceOrigin, type WireRequest, type WireResponse, type WorkerConfig } from './protocol.js';
import { backUp, backupJob, type BackupStep } from './worker-backup.js';
import { runSetup, type WorkerCode } from './worker-code.js';
import { BEGIN_WORD, fromSchemaInMemory, mayShadowAttached, SCHEMA_CHECK } from './schema-in-memory.js';
import { answerIfNoOp } from './no-op-ddl.js';

type Statement = Database.Statement<unknown[], unknown>;

const STATEMENT_CACHE_SIZE = 500;
const BUSY_RETRIES = 3;
const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** One connection and the requests it runs. */
export class StatementRunner {
  /** Statements retried after SQLITE_BUSY since the last report. */
  retries = 0;

  #db: Database.Database | undefined;
  /** Set after an error that leaves the connection's state unknown: reopen before the next statement. */
  #broken = false;
  /** The request running now has written (or may have: a script, a write procedure). */
  #wrote = false;
  readonly #statements = new Map<string, Statement>();
  readonly #cursors = new Cursors();
  readonly #mask: number;
  readonly #settings: ConnectionSettings;
  readonly #procedures: ProcedureRunner;
  /** Rows are packed only when they cross to the calling thread: its own connection's stay objects. */
  readonly #packs: boolean;
  readonly #failures = new FailureCounters(() => this.#prepare(COUNTERS_SQL).safeIntegers(true).get() as CountersRow);

  constructor(
    private readonly config: WorkerConfig,
    private readonly code: WorkerCode = { setup: undefined, procedures: new Map() },
  ) {
    this.#mask = config.claims.length - 1;
    this.#settings = new ConnectionSettings(config.interruptExtension !== undefined);
    this.#procedures = new ProcedureRunner(code, config.procedures);
    this.#packs = config.onCallingThread !== true;
  }

  /** Whether a transaction is open on the connection. */
  get inTransaction(): boolean {
    return this.#db?.inTransaction === true;
  }

  /** Whether the connection must be reopened before the next statement (its state is unknown). */
  get broken(): boolean {
    return this.#broken;
  }

  /** Whether cursors are open (a reader then never wraps a batch in its own read transaction). */
  get cursorsOpen(): boolean {
    return this.#cursors.size > 0;
  }

  /**
   * A one-shot stream (a young pool's, lent to its writer: see
   * pool/lent-reads.ts) answers only a result that ends within its first
   * chunk; otherwise its cursor closes and it is rerouted to a reader, so no
   * cursor outlives its batch.
   */
  endsInOneChunk(response: WireResponse): WireResponse {
    const chunk = chunkOf(response);
    if (chunk === undefined || chunk.done) return response;
    this.#cursors.close(chunk.cursor);
    return reroute(response.seq);
  }

  /** Opens the connection if it is not open, or reopens it when asked to or when its state is unknown. */
  ensureOpen(reopen: boolean): void {
    if (!reopen && !this.#broken && this.#db?.open === true) return;
    this.close();
    this.#open();
  }

  #open(): void {
    const db = openDatabase(this.config);
    try {
      runSetup(db, this.code, this.config);
    } catch (error) {
      db.close();
      throw error;
    }
    this.#db = db;
    this.#broken = false;
  }

  /** Closes the connection (an open transaction rolls back). Never throws. */
  close(): void {
    this.#procedures.forget();
    this.#cursors.clear();
    this.#statements.clear();
    this.#settings.forget();
    this.#failures.forget();
    Atomics.store(this.config.control, Control.Token, 0);
    try {
      if (this.#db?.open === true) this.#db.close();
    } catch {
      // Closing fails only with statements still running, which closing the cursors above ended.
    }
    this.#db = undefined;
  }

  /** Switches the connection to a session's settings (undefined: the pool's own). Called before a batch. */
  useSettings(settings: Settings | undefined): void {
    if (this.#settings.use(this.#db!, settings)) this.#statements.clear();
  }

  /** `sql` prepared, from the cache when `cached` (an EXPLAIN is not: it runs nothing, so SQLite never finds a cached one stale). */
  #prepare(sql: string, cached = true): Statement {
    const db = this.#db!;
    if (!cached) return db.prepare(sql);
    let statement = this.#statements.get(sql);
    if (statement !== undefined) {
      // An open cursor is using the cached statement: give this call its own.
      return statement.busy ? db.prepare(sql) : statement;
    }
    statement = db.prepare(sql);
    this.#statements.set(sql, statement);
    // Evict the oldest prepared (insertion order): cheap, and hot statements are re-prepared at most once per cycle.
    if (this.#statements.size > STATEMENT_CACHE_SIZE) {
      const oldest = this.#statements.keys().next().value;
      if (oldest !== undefined) this.#statements.delete(oldest);
    }
    return statement;
  }

  /**
   * Before a transaction begins on a reader: one read, which brings the schema in memory up to date with the file's.
   * A failure is left to the transaction's own first read (a deferred BEGIN takes no lock, so must not fail here).
   */
  #checkSchema(): void {
    try {
      this.#prepare(SCHEMA_CHECK).get();
    } catch {
      // the transaction's first read meets it
    }
  }

  /** Runs a control statement of the worker's own (BEGIN, COMMIT, SAVEPOINT, …), prepared once. */
  control(sql: string): void {
    this.#prepare(sql).run();
  }

  /** {@link control} with SQLITE_BUSY retried (BEGIN IMMEDIATE, COMMIT: SQLite documents both as retryable). */
  runControl(sql: string): void {
    for (let attempt = 0; ; attempt++) {
      try {
        this.control(sql);
        return;
      } catch (error) {
        if (leavesStateUnknown(codeOf(error))) this.#broken = true;
        if (attempt >= BUSY_RETRIES || !isBusy(error)) throw error;
        this.retries++;
        Atomics.wait(sleeper, 0, 0, 5 * 2 ** attempt);
      }
    }
  }

  /** Marks request `seq` started, unless the pool cancelled it first: the claim ring decides by compare-and-swap which came first. */
  claim(seq: number): boolean {
    const { claims, control, origin } = this.config;
    const slot = seq & this.#mask;
    for (;;) {
      const seen = Atomics.load(claims, slot);
      if (seen === -seq) return false;
      if (Atomics.compareExchange(claims, slot, seen, seq) === seen) break;
    }
    Atomics.store(control, Control.Since, sinceOrigin(origin));
    Atomics.store(control, Control.Running, seq);
    return true;
  }

  /** The connection's counters (failure-counters.ts) before writes that may run again, or to tell whether any ran. */
  countersMark(): CountersMark | undefined {
    if (this.#broken || this.#db?.open !== true) return undefined;
    try {
      return this.#failures.mark();
    } catch {
      return undefined; // the group's BEGIN meets what is wrong
    }
  }

  /** Writes rolled back since {@link countersMark} run again: their failures are measured from that mark (unknown: read again). */
  countersRestore(mark: CountersMark | undefined): void {
    if (mark === undefined) this.#failures.forget();
    else this.#failures.restore(mark);
  }

  /** Marks that nothing runs now. */
  idle(): void {
    Atomics.store(this.config.control, Control.Running, 0);
  }

  /** Marks, for the pool, whether a group's COMMIT may have happened (set before COMMIT, cleared at the next batch). */
  committing(on: boolean): void {
    Atomics.store(this.config.control, Control.Committing, on ? 1 : 0);
  }

  /**
   * Runs one claimed request. SQLITE_BUSY is retried (after the busy timeout
   * already waited) only where a retry is safe: an autocommit statement that
   * changed nothing, or a COMMIT. An interrupt meant for an earlier request
   * that has just finished is retried the same way.
   */
  run(request: WireRequest): WireResponse {
    this.#wrote = false;
    let response = this.#runWithRetries(request);
    if (this.#wrote) response = this.#failures.settle(request, response, this.#db?.open === true);
    // Told to the pool through the claim ring: if this thread dies before answering, the write may have committed.
    if (this.#wrote && response.status !== Status.Failed) Atomics.store(this.config.claims, request.seq & this.#mask, request.seq | WROTE);
    // The pool's COMMIT failed: roll back now, as the next holder's work may wait behind it (unless asked to keep it).
    if (request.final && !request.keepOpen && response.status === Status.Failed && this.inTransaction) this.rollback();
    return this.#settings.withChanges(response);
  }

  #runWithRetries(request: WireRequest): WireResponse {
    const inTransaction = this.inTransaction;
    // A cursor's next chunk cannot run again: its statement has stepped past the rows already answered.
    const rerunnable = request.op !== 'next';
    const retryable = rerunnable && (!inTransaction || /^\s*(COMMIT|END)\b/i.test(request.sql));
    // On the calling thread nothing may wait: the caller sends the statement to a worker instead.
    const retries = this.config.onCallingThread === true ? 0 : BUSY_RETRIES;
    for (let attempt = 0; ; attempt++) {
      try {
        return this.#execute(request);
      } catch (error) {
        if (isInterrupt(error)) {
          if (Atomics.load(this.config.control, Control.Target) === request.seq) {
            return failed(request.seq, new KindedError('interrupted', 'The statement was interrupted', 'SQLITE_INTERRUPT'));
          }
          // A stray interrupt, meant for a request that finished just before: only this statement was undone,
          // unless SQLite ended the transaction it ran in, so it may run again.
          if (rerunnable && attempt < retries && (!inTransaction || this.inTransaction)) continue;
        }
        if (leavesStateUnknown(codeOf(error))) this.#broken = true;
        if (!retryable || attempt >= retries || !isBusy(error)) return failed(request.seq, error);
        this.retries++;
        Atomics.wait(sleeper, 0, 0, 5 * 2 ** attempt);
      }
    }
  }

  #execute(request: WireRequest): WireResponse {
    const db = this.#db!;
    const { seq, op, sql } = request;
    if (request.inTransaction && !db.inTransaction) {
      throw new KindedError(
        'transaction-lost',
        'The transaction was already rolled back (SQLite ends a transaction after an interrupt, SQLITE_FULL or an I/O error); nothing of it was committed',
      );
    }
    // A transaction begun on a reader (a deferred one) compiles its statements against the schema the connection holds,
    // which lags other connections' changes (this Database's own, run on the writer, among them) until it reads; the
    // check, made before it begins, ends its read at once, so the transaction still takes its snapshot at its first read.
    if (this.config.role === 'reader' && !db.inTransaction && BEGIN_WORD.test(sql)) this.#checkSchema();
    if (op === 'exec') {
      // One CREATE … IF NOT EXISTS or DROP … IF EXISTS sent to a reader (the router's probe): its no-op, or the writer.
      if (request.probe) return answerIfNoOp(db, request) ?? reroute(seq);
      this.#settings.noteAssignments(db, sql);
      this.#wrote = this.config.role === 'writer' && !request.readOnly;
      if (this.#wrote && mayShadowAttached(db, sql, true)) this.#statements.clear();
      if (request.readOnly && this.config.role === 'writer') {
        this.control('PRAGMA query_only = 1');
        try {
          db.exec(sql);
        } finally {
          this.control('PRAGMA query_only = 0');
        }
      } else {
        db.exec(sql);
      }
      return ok(seq, undefined, false);
    }
    if (op === 'backup') throw new KindedError('query', 'A backup runs alone, on a lease (pool.backup)');
    if (op === 'call') {
      const readOnly = request.readOnly || this.config.role === 'reader';
      this.#wrote = !readOnly;
      const result = this.#procedures.call(db, sql, bindArgs(request.params), readOnly);
      return ok(seq, result, typeof result === 'object' && result !== null);
    }
    if (op === 'next' || op === 'close-cursor') return this.#cursors.answer(request, this.config.iterateChunkRows, this.#packs);
    // A PRAGMA that reads the schema (index_list, foreign_key_list) or an EXPLAIN answers from the schema in memory,
    // which lags another connection's change until a statement checks the file: one does, first, before it compiles
    // (an EXPLAIN compiled against the old schema would never be found stale).
    const schemaWord = fromSchemaInMemory(sql);
    if (!db.inTransaction && schemaWord !== undefined) this.#prepare(SCHEMA_CHECK).get();
    if (schemaWord === 'PRAGMA') this.#settings.noteAssignments(db, sql);
    const explain = schemaWord === 'EXPLAIN';
    // A conditional schema change is compiled afresh too: whether it writes (`readonly`) is read before it runs, and
    // one kept from an older schema would say no-op, then recompile at its step into a write (SQLITE_READONLY here).
    const statement = this.#prepare(sql, schemaWord === undefined || schemaWord === 'PRAGMA');
    // SQLite calls an EXPLAIN of a write not read-only, as the write would be; it runs nothing, so it is a read here
    // (the drop-in's compile check of a write, inside a deferred transaction, must not move it to the writer).
    const writes = !statement.readonly && !explain;
    if (writes && (this.config.role === 'reader' || request.readOnly)) {
      // A conditional schema change with nothing to do is SQLite's no-op, which runs where nothing may be written.
      const noOp = answerIfNoOp(db, request);
      if (noOp !== undefined) return noOp;
      if (request.probe) return reroute(seq);
      throw new KindedError(
        'read-only',
        'This statement writes, but it ran on a read-only connection (a read transaction or a read lease)',
      );
    }
    this.#wrote = writes;
    if (writes && mayShadowAttached(db, sql, false)) this.#statements.clear();
    if (writes) this.#failures.before();
    const args = bindArgs(request.params);
    const probed = request.probe && writes;
    if (op !== 'run' && !statement.reader) {
      // get/all/iterate of a statement without rows (DDL, an INSERT): run, and no rows, not better-sqlite3's error.
      statement.run(...args);
      return ok(seq, noRows(op), false, probed);
    }
    switch (op) {
      case 'run': {
        const { changes, lastInsertRowid } = statement.run(...args);
        return ok(seq, { changes, lastInsertRowid }, false, probed);
      }
      case 'get': {
        const row = statement.get(...args);
        return ok(seq, row, hasBlob(row), probed);
      }
      case 'all': {
        return rowsOk(seq, statement.all(...args), probed, this.#packs);
      }
      case 'values': {
        // Arrays of column values, for callers whose columns may share a name (a join's two `id`s).
        statement.raw(true);
        try {
          const rows = statement.all(...args);
          return ok(seq, rows, rowsHaveBlob(rows), probed);
        } finally {
          statement.raw(false);
        }
      }
      case 'iterate': {
        return chunkOk(seq, this.#cursors.open(statement.iterate(...args), this.config.iterateChunkRows), this.#packs);
      }
    }
  }

  /** A backup or restore (see worker-backup.ts). */
  async backup(request: WireRequest, onProgress: (step: BackupStep) => void): Promise<WireResponse> {
    try {
      const result = await backUp(this.#db!, backupJob(request.sql, request.params, this.config.busyTimeoutMs), onProgress);
      return ok(request.seq, result, false);
    } catch (error) {
      if (leavesStateUnknown(codeOf(error))) this.#broken = true;
      return failed(request.seq, error);
    }
  }

  /** Rolls back whatever transaction is open; false when even that failed (the connection is then reopened). */
  rollback(): boolean {
    try {
      if (this.#db?.inTransaction === true) this.#db.exec('ROLLBACK');
      return true;
    } catch {
      this.#broken = true;
      return false;
    }
  }
}
