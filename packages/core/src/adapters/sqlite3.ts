/**
 * A node-sqlite3 (`sqlite3`) compatible API over a litepool pool: change
 * `require('sqlite3')` to `require('@litepool/core/sqlite3')`.
 *
 * One `Database` is one pool. Statements run on its worker threads (reads in
 * parallel, writes on its one writer). `BEGIN … COMMIT/ROLLBACK` issued
 * through a `Database` holds the pool's writer for that `Database` until the
 * transaction ends, as node-sqlite3's one connection would. The strategy comes
 * from an options object in place of `mode` (`{ mode, strategy, … }`), else
 * from `LITEPOOL_STRATEGY`, else litepool's default.
 */
import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ArgumentError,
  LitepoolError,
  QueryError,
  SqliteError,
  createPool,
  type BindValue,
  type Lease,
  type Params,
  type Pool,
  type PoolOptions,
  type Row,
  type RunResult,
} from '../index.js';

/** Open read-only (writes fail with SQLITE_READONLY). */
export const OPEN_READONLY = 0x00000001;
/** Open for reading and writing. */
export const OPEN_READWRITE = 0x00000002;
/** Create the file if it does not exist. */
export const OPEN_CREATE = 0x00000004;
/** Accepted for compatibility; `file:` URIs are not interpreted. */
export const OPEN_URI = 0x00000040;
/** Accepted for compatibility (each connection has its own thread anyway). */
export const OPEN_FULLMUTEX = 0x00010000;
/** Accepted for compatibility; no effect. */
export const OPEN_SHAREDCACHE = 0x00020000;
/** Accepted for compatibility; no effect. */
export const OPEN_PRIVATECACHE = 0x00040000;

/* SQLite's primary result codes, as node-sqlite3 exports them (the `errno` of its errors). */
/** SQLITE_OK: Success. */
export const OK = 0;
/** SQLITE_ERROR: A generic error (SQL error or missing database). */
export const ERROR = 1;
/** SQLITE_INTERNAL: An internal logic error in SQLite. */
export const INTERNAL = 2;
/** SQLITE_PERM: Access permission denied. */
export const PERM = 3;
/** SQLITE_ABORT: An operation was aborted (a callback requested it). */
export const ABORT = 4;
/** SQLITE_BUSY: The database file is locked. */
export const BUSY = 5;
/** SQLITE_LOCKED: A table in the database is locked. */
export const LOCKED = 6;
/** SQLITE_NOMEM: A memory allocation failed. */
export const NOMEM = 7;
/** SQLITE_READONLY: An attempt to write a read-only database. */
export const READONLY = 8;
/** SQLITE_INTERRUPT: The operation was interrupted. */
export const INTERRUPT = 9;
/** SQLITE_IOERR: A disk I/O error occurred. */
export const IOERR = 10;
/** SQLITE_CORRUPT: The database disk image is malformed. */
export const CORRUPT = 11;
/** SQLITE_NOTFOUND: Unknown opcode (not used by SQLite itself). */
export const NOTFOUND = 12;
/** SQLITE_FULL: The database or the disk is full. */
export const FULL = 13;
/** SQLITE_CANTOPEN: Unable to open the database file. */
export const CANTOPEN = 14;
/** SQLITE_PROTOCOL: A database lock protocol error. */
export const PROTOCOL = 15;
/** SQLITE_EMPTY: Not used by SQLite. */
export const EMPTY = 16;
/** SQLITE_SCHEMA: The database schema changed. */
export const SCHEMA = 17;
/** SQLITE_TOOBIG: A string or BLOB exceeds the size limit. */
export const TOOBIG = 18;
/** SQLITE_CONSTRAINT: A constraint was violated. */
export const CONSTRAINT = 19;
/** SQLITE_MISMATCH: A data type mismatch. */
export const MISMATCH = 20;
/** SQLITE_MISUSE: The library was used incorrectly. */
export const MISUSE = 21;
/** SQLITE_NOLFS: Large file support is missing on the host. */
export const NOLFS = 22;
/** SQLITE_AUTH: Authorization denied. */
export const AUTH = 23;
/** SQLITE_FORMAT: Not used by SQLite. */
export const FORMAT = 24;
/** SQLITE_RANGE: A parameter index out of range, or the wrong number of parameters. */
export const RANGE = 25;
/** SQLITE_NOTADB: The file is not a database. */
export const NOTADB = 26;

/** Every primary result code by name: the `errno` of an error (`ERRNO.CONSTRAINT` is 19). */
export const ERRNO: Readonly<Record<string, number>> = Object.freeze({
  OK,
  ERROR,
  INTERNAL,
  PERM,
  ABORT,
  BUSY,
  LOCKED,
  NOMEM,
  READONLY,
  INTERRUPT,
  IOERR,
  CORRUPT,
  NOTFOUND,
  FULL,
  CANTOPEN,
  PROTOCOL,
  EMPTY,
  SCHEMA,
  TOOBIG,
  CONSTRAINT,
  MISMATCH,
  MISUSE,
  NOLFS,
  AUTH,
  FORMAT,
  RANGE,
  NOTADB,
});

/** An error as node-sqlite3 gives it: `message` "SQLITE_X: …", `errno` and `code` of SQLite's primary result code. */
export interface Sqlite3Error extends Error {
  /** SQLite's primary result code (19 for any constraint failure). */
  errno: number;
  /** `SQLITE_` and the primary code's name (`SQLITE_CONSTRAINT`). */
  code: string;
}

/** Options accepted in place of `mode`: the open flags plus the pool's options. */
export interface DatabaseOptions extends Partial<Omit<PoolOptions, 'filename'>> {
  /** node-sqlite3's open flags. Default: `OPEN_READWRITE | OPEN_CREATE`. */
  mode?: number;
}

/** `this` inside a `run` callback (and `get`/`all`/`each` callbacks): node-sqlite3 passes the statement. */
export interface RunContext {
  /** The statement's SQL. */
  readonly sql: string;
  /** The rowid of the last row inserted (valid after an INSERT). */
  lastID: number;
  /** Rows changed by the statement. */
  changes: number;
}

type Callback = (this: RunContext, err: Sqlite3Error | null, ...results: unknown[]) => void;
type Job = (target: Pool | Lease) => Promise<void>;

function sqlite3Error(code: string, message: string, cause?: unknown): Sqlite3Error {
  const name = code.replace(/^SQLITE_/, '');
  const error = new Error(`SQLITE_${name}: ${message}`, { cause }) as Sqlite3Error;
  error.errno = ERRNO[name] ?? ERROR;
  error.code = `SQLITE_${name}`;
  return error;
}

/** litepool's errors in node-sqlite3's shape; SQLite's extended codes fold to their primary code. */
function toSqlite3Error(error: unknown): Sqlite3Error {
  if (error instanceof Error && typeof (error as Partial<Sqlite3Error>).errno === 'number' && !(error instanceof LitepoolError)) {
    return error as Sqlite3Error; // already in this shape
  }
  if (error instanceof SqliteError) {
    return sqlite3Error(error.code.replace(/^(SQLITE_[A-Z]+)_.*$/, '$1'), error.message, error);
  }
  if (error instanceof LitepoolError) {
    // The driver refusing the parameters is what node-sqlite3 reports as SQLITE_RANGE.
    const range = error instanceof QueryError && /parameter|bind|named/i.test(error.message);
    return sqlite3Error(range ? 'RANGE' : error.code === 'ERR_READ_ONLY' ? 'READONLY' : 'MISUSE', error.message, error);
  }
  return sqlite3Error('ERROR', error instanceof Error ? error.message : String(error), error);
}

function bindValue(value: unknown): BindValue {
  if (value === undefined || value === null) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'string' || value instanceof Uint8Array) return value;
  // node-sqlite3 binds any other object as its string, '[object Object]' included.
  // eslint-disable-next-line @typescript-eslint/no-base-to-string
  return String(value);
}

/**
 * node-sqlite3's parameter forms: spread values, one array, or one object
 * whose keys keep their prefix (`$id`, `:id`, `@id`), which better-sqlite3 omits.
 */
function toParams(args: readonly unknown[]): Params | undefined {
  if (args.length === 0) return undefined;
  const [first] = args;
  if (args.length === 1 && Array.isArray(first)) return first.map(bindValue);
  if (args.length === 1 && typeof first === 'object' && first !== null && !(first instanceof Uint8Array) && !(first instanceof Date)) {
    const named: Record<string, BindValue> = {};
    for (const [key, value] of Object.entries(first)) {
      if (/^\d+$/.test(key)) return Object.values(first).map(bindValue); // {1: a, 2: b}: positional
      named[key.replace(/^[$:@]/, '')] = bindValue(value);
    }
    return named;
  }
  return args.map(bindValue);
}

/** Splits `(params…, callback?)` or `(params…, rowCallback?, completeCallback?)`. */
function splitArgs(args: readonly unknown[], callbacks: 1 | 2): { params: unknown[]; callbacks: (Callback | undefined)[] } {
  const params = [...args];
  const found: (Callback | undefined)[] = [];
  while (found.length < callbacks && typeof params.at(-1) === 'function') found.unshift(params.pop() as Callback);
  if (callbacks === 2 && found.length === 1) found.push(undefined);
  return { params, callbacks: found };
}

const closedError = (): Sqlite3Error => sqlite3Error('MISUSE', 'Database is closed');

const BEGIN = /^\s*BEGIN\b/i;
const END = /^\s*(COMMIT|END|ROLLBACK)\b(?!\s+TO\b)/i;

/** A node-sqlite3 `Database` backed by a litepool pool. Emits `open`, `close`, `error` (and `trace`/`profile` are not emitted). */
export class Database extends EventEmitter {
  /** The filename it was opened with. */
  readonly filename: string;
  /** The open flags. */
  readonly mode: number;
  /** Whether the database is open (after `open`, before `close`). */
  open = false;

  #options: Partial<Omit<PoolOptions, 'filename'>>;
  #pool: Pool | undefined;
  #ready: Promise<Pool>;
  #serialized = false;
  /** Work that later work must wait for: serialized statements and transactions. */
  #barrier: Promise<unknown> = Promise.resolve();
  /** Parallel writes in flight: reads issued after them wait, so a caller reads its own writes. */
  #writes = new Set<Promise<unknown>>();
  /** All work in flight (close waits for it). */
  #inFlight = new Set<Promise<unknown>>();
  /** Set at issue time between BEGIN and COMMIT/ROLLBACK: statements go to `#lease`, in order. */
  #inTransaction = false;
  #lease: Promise<Lease> | undefined;
  #closing: Promise<void> | undefined;
  #busyTimeout: number | undefined;
  /** For `:memory:`: a private temporary file (worker threads cannot share a memory database), removed on close. */
  #scratch: string | undefined;

  /**
   * @param filename a file path, or `:memory:` (a private temporary file, removed on close)
   * @param mode open flags (`OPEN_READWRITE | OPEN_CREATE` by default), or {@link DatabaseOptions}
   * @param callback called once opened, with an error if opening failed
   */
  constructor(
    filename: string,
    mode?: number | DatabaseOptions | ((err: Sqlite3Error | null) => void),
    callback?: (err: Sqlite3Error | null) => void,
  ) {
    super();
    if (typeof mode === 'function') {
      callback = mode;
      mode = undefined;
    }
    if (typeof filename !== 'string') throw new ArgumentError(`Database(filename) needs a string, got ${typeof filename}`);
    const { mode: flags = OPEN_READWRITE | OPEN_CREATE, ...options } = typeof mode === 'object' && mode !== null ? mode : { mode };
    this.filename = filename;
    this.mode = flags;
    this.#options = options;
    // Opens after this turn, so configure() calls right after the constructor apply.
    this.#ready = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#openPool());
    this.#ready.then(
      () => {
        this.open = true;
        callback?.call(this as never, null);
        this.emit('open');
      },
      (error: Sqlite3Error) => this.deliver(callback, this, error),
    );
    this.#barrier = this.#ready.catch(() => {});
  }

  async #openPool(): Promise<Pool> {
    const memory = this.filename === ':memory:' || this.filename === '';
    if (!memory && !existsSync(this.filename) && (this.mode & OPEN_CREATE) === 0) {
      throw sqlite3Error('CANTOPEN', 'unable to open database file');
    }
    const strategy = this.#options.strategy ?? process.env.LITEPOOL_STRATEGY ?? undefined;
    const pragmas = { ...(this.#options.pragmas ?? {}), ...((this.mode & OPEN_READONLY) !== 0 ? { query_only: 1 } : {}) };
    if (memory) this.#scratch = mkdtempSync(join(tmpdir(), 'litepool-memory-'));
    try {
      this.#pool = createPool({
        ...this.#options,
        filename: this.#scratch === undefined ? this.filename : join(this.#scratch, 'memory.db'),
        ...(strategy === undefined || strategy === '' ? {} : { strategy }),
        ...(this.#busyTimeout === undefined ? {} : { busyTimeoutMs: this.#busyTimeout }),
        pragmas,
      });
      await this.#pool.get('SELECT 1');
      return this.#pool;
    } catch (error) {
      await this.#pool?.destroy().catch(() => {});
      this.#pool = undefined;
      if (this.#scratch !== undefined) rmSync(this.#scratch, { recursive: true, force: true });
      throw toSqlite3Error(error);
    }
  }

  /** The pool behind this database, once open (for litepool's own API: `stats()`, `transaction()`, …). */
  get pool(): Pool | undefined {
    return this.#pool;
  }

  /**
   * Queues one statement: in order after a serialized block or an open
   * transaction, reads after earlier writes; on the transaction's lease
   * between BEGIN and its end.
   */
  #schedule(sql: string, kind: 'read' | 'write', job: Job, onError: (error: Sqlite3Error) => void): void {
    if (this.#closing !== undefined) {
      const closed = closedError();
      queueMicrotask(() => onError(closed));
      return;
    }
    const begins = BEGIN.test(sql) && !this.#inTransaction;
    const inTransaction = begins || this.#inTransaction;
    const ends = this.#inTransaction && END.test(sql);
    if (begins) {
      this.#inTransaction = true;
      const barrier = this.#barrier;
      this.#lease = Promise.all([this.#ready, barrier, ...this.#inFlight]).then(([pool]) => pool.acquire({ write: true }));
      this.#lease.catch(() => {});
    }
    if (ends) this.#inTransaction = false;
    const lease = this.#lease;
    let started: Promise<unknown>;
    if (inTransaction) {
      started = this.#barrier
        .then(() => lease!)
        .then(async (target) => {
          try {
            await job(target);
          } catch (error) {
            if (ends && !/^\s*ROLLBACK/i.test(sql)) await target.run('ROLLBACK').catch(() => {}); // a failed COMMIT leaves nothing open
            throw error;
          } finally {
            if (ends) void target.release();
          }
        });
      this.#barrier = started.catch(() => {});
      if (ends) this.#lease = undefined;
    } else {
      const waits = [this.#barrier, ...(kind === 'read' || this.#serialized ? this.#writes : [])];
      if (this.#serialized) waits.push(...this.#inFlight);
      started = Promise.all(waits)
        .then(() => this.#ready)
        .then(job);
      if (this.#serialized) this.#barrier = started.catch(() => {});
      else if (kind === 'write') {
        const write = started.catch(() => {});
        this.#writes.add(write);
        void write.then(() => this.#writes.delete(write));
      }
    }
    const tracked = started.catch((error: unknown) => onError(toSqlite3Error(error)));
    this.#inFlight.add(tracked);
    void tracked.then(() => this.#inFlight.delete(tracked));
  }

  /** @internal Runs one statement for this database or one of its statements. */
  dispatch(op: 'run' | 'get' | 'all', context: RunContext, params: Params | undefined, callback: Callback | undefined): void {
    const fail = (error: Sqlite3Error): void => this.#report(context, callback, error);
    this.#schedule(
      context.sql,
      op === 'run' ? 'write' : 'read',
      async (target) => {
        const value: unknown = await target[op](context.sql, params);
        if (op !== 'run') {
          callback?.call(context, null, value);
          return;
        }
        const { lastInsertRowid, changes } = value as RunResult;
        context.lastID = Number(lastInsertRowid);
        context.changes = changes;
        callback?.call(context, null);
      },
      fail,
    );
  }

  /** @internal `each`: a row callback per row, then `complete(err, count)`. */
  dispatchEach(context: RunContext, params: Params | undefined, onRow: Callback | undefined, complete: Callback | undefined): void {
    this.#schedule(
      context.sql,
      'read',
      async (target) => {
        let count = 0;
        for await (const row of target.iterate<Row>(context.sql, params)) {
          count++;
          onRow?.call(context, null, row);
        }
        complete?.call(context, null, count);
      },
      (error) => this.#report(context, onRow ?? complete, error, complete),
    );
  }

  #report(context: RunContext, callback: Callback | undefined, error: Sqlite3Error, complete?: Callback): void {
    this.deliver(callback, context, error);
    if (complete !== undefined && complete !== callback) complete.call(context, error);
  }

  /** @internal node-sqlite3's rule for an error: to the callback if there is one, else the `error` event. */
  deliver<This>(callback: ((this: This, err: Sqlite3Error) => void) | undefined, self: This, error: Sqlite3Error): void {
    if (callback !== undefined) callback.call(self, error);
    else this.emit('error', error);
  }

  /** Runs a statement; `callback(err)` with `this.lastID` and `this.changes`. */
  run(sql: string, ...args: unknown[]): this {
    return this.#oneShot('run', sql, args);
  }

  /** Runs a query; `callback(err, row)` with the first row, or undefined. */
  get(sql: string, ...args: unknown[]): this {
    return this.#oneShot('get', sql, args);
  }

  /** Runs a query; `callback(err, rows)` with every row. */
  all(sql: string, ...args: unknown[]): this {
    return this.#oneShot('all', sql, args);
  }

  #oneShot(op: 'run' | 'get' | 'all', sql: string, args: readonly unknown[]): this {
    const { params, callbacks } = splitArgs(args, 1);
    this.dispatch(op, { sql, lastID: 0, changes: 0 }, toParams(params), callbacks[0]);
    return this;
  }

  /** Runs a query; `callback(err, row)` per row (streamed), then `complete(err, count)`. */
  each(sql: string, ...args: unknown[]): this {
    const { params, callbacks } = splitArgs(args, 2);
    this.dispatchEach({ sql, lastID: 0, changes: 0 }, toParams(params), callbacks[0], callbacks[1]);
    return this;
  }

  /** Runs a script of statements without parameters; `callback(err)`. */
  exec(sql: string, callback?: (this: Database, err: Sqlite3Error | null) => void): this {
    this.#schedule(
      sql,
      'write',
      async (target) => {
        await target.exec(sql);
        callback?.call(this, null);
      },
      (error) => this.deliver(callback, this, error),
    );
    return this;
  }

  /** Prepares a statement (checked on a connection: a syntax error reaches `callback(err)`). */
  prepare(sql: string, ...args: unknown[]): Statement {
    return new Statement(this, sql, ...args);
  }

  /** Statements issued inside `callback` (or from now on, without one) run one at a time, in order. */
  serialize(callback?: () => void): void {
    this.#setMode(true, callback);
  }

  /** Statements issued inside `callback` (or from now on, without one) may run at once (reads in parallel). */
  parallelize(callback?: () => void): void {
    this.#setMode(false, callback);
  }

  #setMode(serialized: boolean, callback: (() => void) | undefined): void {
    const before = this.#serialized;
    this.#serialized = serialized;
    if (callback === undefined) return;
    try {
      callback();
    } finally {
      this.#serialized = before;
    }
  }

  /** `configure('busyTimeout', ms)` before the first statement; other options are not supported and throw. */
  configure(option: 'busyTimeout', value: number): void {
    if (option !== 'busyTimeout')
      throw new ArgumentError(`configure("${String(option)}") is not supported by litepool's sqlite3 API (only busyTimeout)`);
    if (!Number.isInteger(value) || value < 0) throw new ArgumentError(`busyTimeout must be a non-negative integer, got ${String(value)}`);
    if (this.#pool !== undefined)
      throw new ArgumentError('configure("busyTimeout") must be called before the database opens (right after the constructor)');
    this.#busyTimeout = value;
  }

  /** Waits for queued statements, closes the pool; `callback(err)`, then `close`. */
  close(callback?: (err: Sqlite3Error | null) => void): void {
    if (this.#closing !== undefined) {
      const error = closedError();
      queueMicrotask(() => this.deliver(callback, undefined, error));
      return;
    }
    this.#closing = (async () => {
      await Promise.all([this.#barrier, ...this.#inFlight]);
      const pool = await this.#ready.catch(() => undefined);
      await pool?.close();
      if (this.#scratch !== undefined) rmSync(this.#scratch, { recursive: true, force: true });
    })();
    this.#closing.then(
      () => {
        this.open = false;
        callback?.(null);
        this.emit('close');
      },
      (error: unknown) => this.deliver(callback, undefined, toSqlite3Error(error)),
    );
  }

  /** Runs `callback` when queued statements have finished (node-sqlite3's `wait`). */
  wait(callback?: (err: null) => void): this {
    void Promise.all([this.#barrier, ...this.#inFlight]).then(() => callback?.(null));
    return this;
  }
}

/** A prepared statement: bound parameters kept across calls until `bind` or `reset`. */
export class Statement implements RunContext {
  /** The statement's SQL. */
  readonly sql: string;
  /** After `run`: the rowid of the last row inserted (valid after an INSERT). */
  lastID = 0;
  /** After `run`: rows changed. */
  changes = 0;
  #db: Database;
  #params: Params | undefined;
  #finalized = false;
  /** `get` returns the next row on each call, as node-sqlite3 steps its statement, until `reset`. */
  #rows: Promise<Row[]> | undefined;
  #next = 0;

  /** @internal Use {@link Database.prepare}. */
  constructor(db: Database, sql: string, ...args: unknown[]) {
    this.#db = db;
    this.sql = sql;
    const { params, callbacks } = splitArgs(args, 1);
    this.#params = toParams(params);
    // Preparing happens on a connection: EXPLAIN compiles the statement without running it. Parameters
    // left unbound fail after compiling (a QueryError): the statement itself is fine.
    db.dispatch('get', { sql: `EXPLAIN ${sql}`, lastID: 0, changes: 0 }, this.#params, (err) =>
      callbacks[0]?.call(this, err === null || err.cause instanceof QueryError ? null : err),
    );
  }

  #usable(callback: Callback | undefined): boolean {
    if (!this.#finalized) return true;
    const error = sqlite3Error('MISUSE', 'Statement is already finalized');
    queueMicrotask(() => this.#db.deliver(callback, this, error));
    return false;
  }

  #take(args: readonly unknown[], count: 1 | 2): (Callback | undefined)[] {
    const { params, callbacks } = splitArgs(args, count);
    if (params.length > 0) {
      this.#params = toParams(params);
      this.#rows = undefined;
      this.#next = 0;
    }
    return callbacks;
  }

  /** Binds parameters for later calls; `callback(err)`. */
  bind(...args: unknown[]): this {
    const [callback] = this.#take(args, 1);
    if (this.#usable(callback)) queueMicrotask(() => callback?.call(this, null));
    return this;
  }

  /** Rewinds `get` to the first row; `callback(err)`. */
  reset(callback?: (err: null) => void): this {
    this.#rows = undefined;
    this.#next = 0;
    queueMicrotask(() => callback?.call(this, null));
    return this;
  }

  /** Releases the statement; later calls fail with `SQLITE_MISUSE`. */
  finalize(callback?: (err: null) => void): Database {
    this.#finalized = true;
    queueMicrotask(() => callback?.call(this, null));
    return this.#db;
  }

  /** Runs it; `callback(err)` with `this.lastID` and `this.changes`. */
  run(...args: unknown[]): this {
    const [callback] = this.#take(args, 1);
    if (this.#usable(callback)) this.#db.dispatch('run', this, this.#params, callback);
    return this;
  }

  /** `callback(err, row)` with the next row (the first after `bind`/`reset`), or undefined when done. */
  get(...args: unknown[]): this {
    const [callback] = this.#take(args, 1);
    if (!this.#usable(callback)) return this;
    if (this.#rows === undefined) {
      let loaded!: (rows: Row[]) => void;
      this.#rows = new Promise((resolve) => (loaded = resolve));
      this.#db.dispatch('all', this, this.#params, (err, rows) => {
        if (err !== null) {
          this.#rows = undefined;
          callback?.call(this, err);
          return;
        }
        loaded(rows as Row[]);
        callback?.call(this, null, (rows as Row[])[this.#next++]);
      });
      return this;
    }
    void this.#rows.then((rows) => callback?.call(this, null, rows[this.#next++]));
    return this;
  }

  /** `callback(err, rows)` with every row. */
  all(...args: unknown[]): this {
    const [callback] = this.#take(args, 1);
    if (this.#usable(callback)) this.#db.dispatch('all', this, this.#params, callback);
    return this;
  }

  /** `callback(err, row)` per row, then `complete(err, count)`. */
  each(...args: unknown[]): this {
    const [onRow, complete] = this.#take(args, 2);
    if (this.#usable(onRow ?? complete)) this.#db.dispatchEach(this, this.#params, onRow, complete);
    return this;
  }
}

/** What `@litepool/core/sqlite3` is, as a whole: node-sqlite3's module object. */
export interface Sqlite3Module {
  /** A database (a litepool pool behind node-sqlite3's API). */
  readonly Database: typeof Database;
  /** A prepared statement. */
  readonly Statement: typeof Statement;
  /** Returns this module (node-sqlite3 adds long stack traces; litepool's are long already). */
  readonly verbose: () => Sqlite3Module;
  /** Open read-only. */
  readonly OPEN_READONLY: number;
  /** Open for reading and writing. */
  readonly OPEN_READWRITE: number;
  /** Create the file if missing. */
  readonly OPEN_CREATE: number;
  /** Accepted; `file:` URIs are not interpreted. */
  readonly OPEN_URI: number;
  /** Accepted; no effect. */
  readonly OPEN_FULLMUTEX: number;
  /** Accepted; no effect. */
  readonly OPEN_SHAREDCACHE: number;
  /** Accepted; no effect. */
  readonly OPEN_PRIVATECACHE: number;
  /** SQLite's primary result codes by name, as on node-sqlite3's module (`sqlite3.CONSTRAINT`). */
  readonly [code: string]: unknown;
}

/** node-sqlite3's `verbose()`: returns the module (stack traces are already long in litepool). */
export function verbose(): Sqlite3Module {
  return sqlite3;
}

/** The module object, for `import sqlite3 from '@litepool/core/sqlite3'`. */
const sqlite3: Sqlite3Module = {
  Database,
  Statement,
  verbose,
  OPEN_READONLY,
  OPEN_READWRITE,
  OPEN_CREATE,
  OPEN_URI,
  OPEN_FULLMUTEX,
  OPEN_SHAREDCACHE,
  OPEN_PRIVATECACHE,
  ...ERRNO,
};
export default sqlite3;
