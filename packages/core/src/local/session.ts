/**
 * The worker's side of one connection: opens it (and reopens it when its
 * state is unknown), runs requests on it one at a time, and records in shared
 * memory which request runs and since when, so the pool can time it out,
 * interrupt it, or take back what has not started.
 */
import Database from 'better-sqlite3';
import { Control, Status, sinceOrigin, type WireError, type WireRequest, type WireResponse, type WorkerConfig } from './protocol.js';
import type { Settings } from '../pool/connection.js';
import type { LoadedProcedure, WorkerCode } from './worker-code.js';
import type { Params } from '../types.js';

type Statement = Database.Statement<unknown[], unknown>;

const STATEMENT_CACHE_SIZE = 500;
const BUSY_RETRIES = 3;
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const NO_ARGS: unknown[] = [];

/** An error that reaches the pool as a typed error of `kind`. */
export class KindedError extends Error {
  constructor(
    readonly kind: WireError['kind'],
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** A procedure's result, refused when it is a promise (the transaction it ran in would end before it settles). */
function synchronous(name: string, result: unknown): unknown {
  if (typeof (result as { then?: unknown } | null)?.then === 'function') {
    throw new TypeError(`The procedure ${name} returned a promise: procedures run synchronously, inside their transaction`);
  }
  return result;
}

/** What a procedure threw, as the pool passes it on: SQLite's errors stay SQLite's; others keep their name, message, code and stack. */
function procedureError(error: unknown): unknown {
  const code = codeOf(error);
  if (code?.startsWith('SQLITE_') === true) return error;
  const original = error instanceof Error ? error : new Error(String(error));
  const kinded = new KindedError('procedure', original.message, code);
  Object.defineProperty(kinded, 'name', { value: original.name, configurable: true, writable: true });
  kinded.stack = original.stack;
  return kinded;
}

/** SQLite result codes after which a connection's state is unknown: it is closed and reopened before the next statement. */
function leavesStateUnknown(code: string | undefined): boolean {
  return (
    code !== undefined && /^SQLITE_(IOERR|FULL|CORRUPT|NOTADB|CANTOPEN|NOMEM|PROTOCOL|READONLY_(ROLLBACK|RECOVERY|DBMOVED))/.test(code)
  );
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

const isBusy = (error: unknown): boolean => codeOf(error)?.startsWith('SQLITE_BUSY') === true;
const isInterrupt = (error: unknown): boolean => codeOf(error) === 'SQLITE_INTERRUPT';

/** The error of a request, flattened for the trip to the main thread. */
export function toWireError(error: unknown): WireError {
  const e = error instanceof Error ? error : new Error(String(error));
  const code = codeOf(e);
  const kind = e instanceof KindedError ? e.kind : code?.startsWith('SQLITE_') === true ? 'sqlite' : 'query';
  return { kind, name: e.name, message: e.message, code, stack: e.stack };
}

/** Buffers cross postMessage as Uint8Array: turn them back into Buffers for better-sqlite3. */
function toBuffer(value: unknown): unknown {
  return value instanceof Uint8Array && !Buffer.isBuffer(value) ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : value;
}

function bindArgs(params: Params | undefined): readonly unknown[] {
  if (params === undefined) return NO_ARGS;
  if (Array.isArray(params)) {
    // Copy only when a BLOB needs converting: most parameter lists are scalars.
    for (const value of params) if (value instanceof Uint8Array) return params.map(toBuffer);
    return params;
  }
  const named: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(params)) named[key] = toBuffer(value);
  return [named];
}

function hasBlob(row: unknown): boolean {
  if (row === null || typeof row !== 'object') return false;
  const record = row as Record<string, unknown>;
  for (const key in record) {
    const value = record[key];
    if (typeof value === 'object' && value !== null) return true;
  }
  return false;
}

function rowsHaveBlob(rows: readonly unknown[]): boolean {
  for (const row of rows) if (hasBlob(row)) return true;
  return false;
}

/** A PRAGMA value as SQL text: booleans as 1 and 0, numbers and bare words as they are. */
function pragmaLiteral(value: unknown): string {
  return typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
}

/** PRAGMAs that cannot be read back, with the value a fresh connection has. */
const WRITE_ONLY_DEFAULTS: Readonly<Record<string, number>> = { case_sensitive_like: 0 };

const ok = (seq: number, value: unknown, blobs: boolean, writes = false): WireResponse => ({
  seq,
  status: blobs ? Status.OkBlobs : Status.Ok,
  value,
  writes,
});
const failed = (seq: number, error: unknown): WireResponse => ({ seq, status: Status.Failed, value: toWireError(error) });
const skipped = (seq: number): WireResponse => ({ seq, status: Status.Skipped, value: undefined });

/** One connection and the requests it runs. */
export class WorkerSession {
  /** Statements retried after SQLITE_BUSY since the last report. */
  retries = 0;

  #db: Database.Database | undefined;
  /** Set after an error that leaves the connection's state unknown: reopen before the next statement. */
  #broken = false;
  readonly #statements = new Map<string, Statement>();
  readonly #cursors = new Map<number, IterableIterator<unknown>>();
  #nextCursor = 1;
  readonly #mask: number;
  /** The id of the settings the connection runs with now (0: the pool's own). */
  #settings = 0;
  /** The PRAGMAs those settings changed, with the values to put back. */
  readonly #baseline = new Map<string, unknown>();
  /** Those settings allowed double-quoted string literals. */
  #doubleQuoted = false;

  /** Write procedures wrapped in better-sqlite3 transactions, per connection (cleared when it closes). */
  readonly #transactional = new Map<string, (...args: unknown[]) => unknown>();

  constructor(
    private readonly config: WorkerConfig,
    private readonly code: WorkerCode = { setup: undefined, procedures: new Map() },
  ) {
    this.#mask = config.claims.length - 1;
  }

  /** Whether a transaction is open on the connection. */
  get inTransaction(): boolean {
    return this.#db?.inTransaction === true;
  }

  /** Opens the connection if it is not open, or reopens it when asked to or when its state is unknown. */
  ensureOpen(reopen: boolean): void {
    if (!reopen && !this.#broken && this.#db?.open === true) return;
    this.close();
    this.#open();
  }

  #open(): void {
    const { config } = this;
    const readonly = config.role === 'reader';
    const db = new Database(config.filename, {
      readonly,
      fileMustExist: readonly,
      timeout: config.busyTimeoutMs,
      ...(config.nativeBinding === undefined ? {} : { nativeBinding: config.nativeBinding }),
    });
    try {
      db.defaultSafeIntegers(config.safeIntegers);
      if (!readonly) {
        const mode = db.pragma(`journal_mode = ${config.journalMode}`, { simple: true });
        if (String(mode).toLowerCase() !== config.journalMode) {
          throw Object.assign(new Error(`SQLite refused journal_mode=${config.journalMode} (it kept ${String(mode)})`), {
            code: 'SQLITE_CANTOPEN',
          });
        }
      }
      for (const [name, value] of Object.entries(config.pragmas)) {
        db.pragma(`${name} = ${pragmaLiteral(value)}`);
      }
      if (config.interruptExtension !== undefined) {
        db.loadExtension(config.interruptExtension);
        Atomics.store(config.control, Control.Token, Number(db.prepare('SELECT litepool_slot()').pluck().get()));
      }
      this.#runSetup(db);
    } catch (error) {
      db.close();
      throw error;
    }
    this.#db = db;
    this.#broken = false;
  }

  /** The setup module's function, on a connection that has just opened. */
  #runSetup(db: Database.Database): void {
    const { setup } = this.code;
    if (setup === undefined) return;
    const { role, filename } = this.config;
    let result: unknown;
    try {
      result = setup(db, { role, filename });
    } catch (error) {
      throw new KindedError(
        'setup',
        `The setup module ${this.config.setup} threw on a ${role} connection: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    if (typeof (result as { then?: unknown } | null)?.then === 'function') {
      throw new KindedError(
        'setup',
        `The setup module ${this.config.setup} returned a promise: setup runs synchronously on each connection (await what it needs at the module's top level)`,
      );
    }
  }

  /** Closes the connection (an open transaction rolls back). Never throws. */
  close(): void {
    this.#transactional.clear();
    for (const iterator of this.#cursors.values()) {
      try {
        iterator.return?.();
      } catch {
        // The cursor's statement is gone with the connection either way.
      }
    }
    this.#cursors.clear();
    this.#statements.clear();
    this.#settings = 0;
    this.#baseline.clear();
    this.#doubleQuoted = false;
    Atomics.store(this.config.control, Control.Token, 0);
    try {
      if (this.#db?.open === true) this.#db.close();
    } catch {
      // Closing fails only with statements still running, which closing the cursors above ended.
    }
    this.#db = undefined;
  }

  #prepare(sql: string): Statement {
    const db = this.#db!;
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

  /**
   * Switches the connection to a session's settings (undefined: the pool's
   * own), first putting back what the previous session's settings changed.
   * Called before a batch, never inside a transaction of its own.
   */
  useSettings(settings: Settings | undefined): void {
    const id = settings?.id ?? 0;
    if (id === this.#settings) return;
    const db = this.#db!;
    // Inside a transaction some PRAGMAs (foreign_keys) do nothing: switching now would leak settings. Only a
    // transaction left open could bring another session's requests here; refuse rather than run them in it.
    if (db.inTransaction)
      throw new KindedError('transaction-control', 'A transaction was left open on this connection; its requests were not run');
    for (const [name, value] of this.#baseline) db.pragma(`${name} = ${pragmaLiteral(value)}`);
    this.#baseline.clear();
    if (this.#doubleQuoted) {
      db.prepare('SELECT litepool_dqs(0)').get();
      this.#doubleQuoted = false;
    }
    this.#settings = 0;
    if (settings !== undefined) {
      for (const [name, value] of Object.entries(settings.pragmas)) {
        if (!this.#baseline.has(name)) this.#baseline.set(name, db.pragma(name, { simple: true }) ?? WRITE_ONLY_DEFAULTS[name] ?? 0);
        db.pragma(`${name} = ${pragmaLiteral(value)}`);
      }
      // Without the litepool extension (not built for this platform) the setting cannot be made: SQLite's stays.
      if (settings.doubleQuotedStrings === true && this.config.interruptExtension !== undefined) {
        db.prepare('SELECT litepool_dqs(1)').get();
        this.#doubleQuoted = true;
      }
    }
    this.#settings = id;
  }

  /**
   * Marks request `seq` started, unless the pool cancelled it first. The claim
   * ring decides by compare-and-swap which of the two came first.
   */
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

  /** Marks that nothing runs now. */
  idle(): void {
    Atomics.store(this.config.control, Control.Running, 0);
  }

  /**
   * Runs one claimed request. SQLITE_BUSY is retried (after the busy timeout
   * already waited) only where a retry is safe: an autocommit statement that
   * changed nothing, or a COMMIT. An interrupt meant for an earlier request
   * that has just finished is retried the same way.
   */
  run(request: WireRequest): WireResponse {
    const response = this.#runWithRetries(request);
    // The pool's COMMIT failed: roll back now, as the next holder's work may already wait behind it.
    if (request.final && response.status === Status.Failed && this.inTransaction) this.rollback();
    return response;
  }

  #runWithRetries(request: WireRequest): WireResponse {
    const inTransaction = this.inTransaction;
    const retryable = !inTransaction || /^\s*(COMMIT|END)\b/i.test(request.sql);
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
          if (attempt < BUSY_RETRIES && (!inTransaction || this.inTransaction)) continue;
        }
        if (leavesStateUnknown(codeOf(error))) this.#broken = true;
        if (!retryable || attempt >= BUSY_RETRIES || !isBusy(error)) return failed(request.seq, error);
        this.retries++;
        Atomics.wait(sleeper, 0, 0, 5 * 2 ** attempt);
      }
    }
  }

  /** Whether the connection must be reopened before the next statement (its state is unknown). */
  get broken(): boolean {
    return this.#broken;
  }

  /** The answer for a request that was cancelled before it started. */
  skipped(seq: number): WireResponse {
    return skipped(seq);
  }

  /** The answer for a request that failed with `error` before running. */
  failed(seq: number, error: unknown): WireResponse {
    return failed(seq, error);
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
    if (op === 'exec') {
      if (request.readOnly && this.config.role === 'writer') {
        db.pragma('query_only = 1');
        try {
          db.exec(sql);
        } finally {
          db.pragma('query_only = 0');
        }
      } else {
        db.exec(sql);
      }
      return ok(seq, undefined, false);
    }
    if (op === 'backup') throw new KindedError('query', 'A backup runs alone, on a lease (pool.backup)');
    if (op === 'call') return this.#call(request);
    if (op === 'next' || op === 'close-cursor') {
      const cursor = request.cursor ?? 0;
      const iterator = this.#cursors.get(cursor);
      if (op === 'close-cursor' || iterator === undefined) {
        iterator?.return?.();
        this.#cursors.delete(cursor);
        return ok(seq, { cursor, rows: [], done: true }, false);
      }
      const chunk = this.#nextChunk(cursor, iterator);
      return ok(seq, chunk, rowsHaveBlob(chunk.rows));
    }
    const statement = this.#prepare(sql);
    if (!statement.readonly && (this.config.role === 'reader' || request.readOnly)) {
      if (request.probe) return { seq, status: Status.Reroute, value: undefined };
      throw new KindedError(
        'read-only',
        'This statement writes, but it ran on a read-only connection (a read transaction or a read lease)',
      );
    }
    const args = bindArgs(request.params);
    if (op !== 'run' && !statement.reader) {
      // get/all/iterate on a statement that returns no rows (DDL, an INSERT without RETURNING): run it, as
      // node-sqlite3 does, and answer with no rows, instead of better-sqlite3's "does not return data" error.
      statement.run(...args);
      const empty = op === 'get' ? undefined : op === 'iterate' ? { cursor: 0, rows: [], done: true } : [];
      return ok(seq, empty, false, request.probe && !statement.readonly);
    }
    switch (op) {
      case 'run': {
        const { changes, lastInsertRowid } = statement.run(...args);
        return ok(seq, { changes, lastInsertRowid }, false, request.probe && !statement.readonly);
      }
      case 'get': {
        const row = statement.get(...args);
        return ok(seq, row, hasBlob(row), request.probe && !statement.readonly);
      }
      case 'all': {
        const rows = statement.all(...args);
        return ok(seq, rows, rowsHaveBlob(rows), request.probe && !statement.readonly);
      }
      case 'values': {
        // Arrays of column values, for callers whose columns may share a name (a join's two `id`s).
        statement.raw(true);
        try {
          const rows = statement.all(...args);
          return ok(seq, rows, rowsHaveBlob(rows), request.probe && !statement.readonly);
        } finally {
          statement.raw(false);
        }
      }
      case 'iterate': {
        const cursor = this.#nextCursor++;
        const iterator = statement.iterate(...args);
        this.#cursors.set(cursor, iterator);
        const chunk = this.#nextChunk(cursor, iterator);
        return ok(seq, chunk, rowsHaveBlob(chunk.rows));
      }
    }
  }

  /**
   * A procedure call: a read-only procedure (or any on a reader) runs as it
   * is; a write procedure runs in a transaction of its own (BEGIN IMMEDIATE),
   * or in a SAVEPOINT when one is open already (a group commit, a lease).
   */
  #call(request: WireRequest): WireResponse {
    const procedure = this.code.procedures.get(request.sql);
    if (procedure === undefined) {
      throw new KindedError(
        'query',
        `No procedure named ${JSON.stringify(request.sql)} in ${this.config.procedures ?? '(no procedures module)'}`,
      );
    }
    const args = bindArgs(request.params);
    let result: unknown;
    try {
      result =
        procedure.readOnly || request.readOnly || this.config.role === 'reader'
          ? synchronous(request.sql, (procedure.fn as (...values: unknown[]) => unknown)(this.#db!, ...args))
          : this.#inTransaction(request.sql, procedure)(...args);
    } catch (error) {
      throw procedureError(error);
    }
    return ok(request.seq, result, typeof result === 'object' && result !== null);
  }

  #inTransaction(name: string, procedure: LoadedProcedure): (...args: unknown[]) => unknown {
    let wrapped = this.#transactional.get(name);
    if (wrapped === undefined) {
      const db = this.#db!;
      const fn = procedure.fn as (...values: unknown[]) => unknown;
      const transaction = db.transaction((...args: unknown[]) => synchronous(name, fn(db, ...args)));
      // Outside a transaction, take the write lock at BEGIN (a read-then-write never fails on the upgrade);
      // inside one, better-sqlite3 nests it as a SAVEPOINT.
      wrapped = (...args: unknown[]) => (db.inTransaction ? transaction(...args) : transaction.immediate(...args));
      this.#transactional.set(name, wrapped);
    }
    return wrapped;
  }

  #nextChunk(cursor: number, iterator: IterableIterator<unknown>): { cursor: number; rows: unknown[]; done: boolean } {
    const rows: unknown[] = [];
    while (rows.length < this.config.iterateChunkRows) {
      const step = iterator.next();
      if (step.done === true) {
        this.#cursors.delete(cursor);
        return { cursor, rows, done: true };
      }
      rows.push(step.value);
    }
    return { cursor, rows, done: false };
  }

  /**
   * An online backup of the connection's database to `request.sql` (its
   * params: `[method, pagesPerStep]`). With SQLite's backup API it runs in one
   * read transaction: the source stays one snapshot, so the backup never
   * restarts, and in WAL mode writers go on beside it. `vacuum` uses VACUUM
   * INTO instead (a compacted copy; the destination must not exist).
   */
  async backup(
    request: WireRequest,
    onProgress: (progress: { totalPages: number; remainingPages: number }) => void,
  ): Promise<WireResponse> {
    const db = this.#db!;
    const [method, pagesPerStep] = (request.params ?? []) as [string, number];
    try {
      if (method === 'vacuum') {
        const totalPages = Number(db.pragma('page_count', { simple: true }));
        db.prepare('VACUUM INTO ?').run(request.sql);
        return ok(request.seq, { totalPages, remainingPages: 0 }, false);
      }
      db.exec('BEGIN');
      try {
        db.prepare('SELECT 1 FROM sqlite_master LIMIT 1').get(); // the snapshot starts here
        // better-sqlite3 takes the next step's page count from the callback; 0 (or less) would pause it forever.
        const nextStep = pagesPerStep === -1 ? 0x7fffffff : pagesPerStep;
        const result = await db.backup(request.sql, {
          progress: (progress) => {
            onProgress(progress);
            return nextStep;
          },
        });
        return ok(request.seq, result, false);
      } finally {
        if (db.inTransaction) db.exec('COMMIT');
      }
    } catch (error) {
      if (leavesStateUnknown(codeOf(error))) this.#broken = true;
      return failed(request.seq, error);
    }
  }

  /** Whether cursors are open (a reader then never wraps a batch in its own read transaction). */
  get cursorsOpen(): boolean {
    return this.#cursors.size > 0;
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
