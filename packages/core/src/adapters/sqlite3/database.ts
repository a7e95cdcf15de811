/**
 * node-sqlite3's `Database` over a litepool pool. Every `Database` on one file
 * (with the same options) shares one pool (see shared-pools.ts) and is a
 * session of it, with node-sqlite3's connection settings: foreign keys off,
 * double-quoted string literals accepted, its own PRAGMAs and TEMP objects.
 * What it issues between BEGIN and the transaction's end runs, in order, on
 * the writer it holds for that time.
 */
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { ArgumentError, type Lease, type PoolOptions, type QueryOptions, type Session } from '../../index.js';
import { statements, summarize } from '../../sql/statements.js';
import { Backup } from './backup.js';
import { bindCallback, invoke, splitCallbacks, type AnyCallback } from './callbacks.js';
import { OPEN_CREATE, OPEN_READONLY, OPEN_READWRITE, sqlite3Error, toSqlite3Error, type Sqlite3Error } from './errors.js';
import { openShared, type PoolReference } from './shared-pools.js';
import { Statement } from './statement.js';
import { TransactionState } from '../../sql/transaction-state.js';

/** Options accepted in place of `mode`: the open flags plus the pool's options. */
export interface DatabaseOptions extends Partial<Omit<PoolOptions, 'filename'>> {
  /** node-sqlite3's open flags. Default: `OPEN_READWRITE | OPEN_CREATE`. */
  mode?: number;
}

/** Where a statement runs: the database's session, or the writer it holds for a transaction. */
export type Target = Session | Lease;

/**
 * Work for one statement, given where to run, the signal `interrupt()` fires,
 * and `ran`, to call once SQLite is done and before the caller's callbacks (it
 * emits `profile`).
 */
export type Job = (target: Target, options: QueryOptions, ran: () => void) => Promise<void>;

/** An event listener, whatever its parameters. */
export type Listener = (...args: never[]) => void;

/** A transaction this database holds: the writer's lease, and whether it is over. */
interface Holder {
  readonly lease: Promise<Lease>;
  ended: boolean;
}

/** PRAGMAs the strategy owns. */
const STRATEGY_PRAGMA = /^\s*PRAGMA\s+(?:(\w+)\s*\.\s*)?(journal_mode|locking_mode)\s*(?:=|\()/i;

/**
 * `PRAGMA journal_mode = …` (or `locking_mode`) as its query: the strategy
 * owns the mode, so setting it answers with the mode in force, as SQLite does
 * when it cannot change it.
 */
export function withStrategyPragmas(sql: string): string {
  const found = STRATEGY_PRAGMA.exec(sql);
  return found === null ? sql : `PRAGMA ${found[1] === undefined ? '' : `${found[1]}.`}${found[2]!}`;
}

const isClosedError = (): Sqlite3Error => sqlite3Error('MISUSE', 'Database is closed');

/** A node-sqlite3 `Database` backed by a shared litepool pool. Emits `open`, `close`, `error`, `trace` and `profile`. */
export class Database extends EventEmitter {
  /** The filename it was opened with. */
  readonly filename: string;
  /** The open flags. */
  readonly mode: number;
  /** Whether the database is open (after `open`, before `close`). */
  open = false;

  readonly #options: Omit<DatabaseOptions, 'mode'>;
  #reference: PoolReference | undefined;
  #session: Session | undefined;
  readonly #ready: Promise<Session>;
  #serialized = false;
  /** Work that later work must wait for: serialized statements and transactions. */
  #barrier: Promise<unknown> = Promise.resolve();
  /** Writes in flight outside a transaction: reads issued after them wait, so a caller reads its own writes. */
  readonly #writes = new Set<Promise<unknown>>();
  /** All work in flight (close waits for it). */
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #transaction = new TransactionState();
  #holder: Holder | undefined;
  #closing: Promise<void> | undefined;
  #interrupt = new AbortController();

  /**
   * @param filename a file path, or `:memory:` (a private temporary file, removed on close)
   * @param mode open flags (`OPEN_READWRITE | OPEN_CREATE` by default), or {@link DatabaseOptions}
   * @param callback called once opened (`this` is the database), with an error if opening failed
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
    if (typeof filename !== 'string') throw new TypeError('Database(filename): a string filename is expected');
    const { mode: flags = OPEN_READWRITE | OPEN_CREATE, ...options } = typeof mode === 'object' && mode !== null ? mode : { mode };
    if (!Number.isInteger(flags))
      throw new TypeError(`Database(filename, mode): mode must be an integer of OPEN_* flags, got ${String(flags)}`);
    this.filename = filename;
    this.mode = flags;
    this.#options = options;
    const opened = bindCallback(callback);
    // Opens after this turn, as node-sqlite3 does: listeners and configure() calls made right after the constructor apply.
    this.#ready = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#openSession());
    this.#ready.then(
      () => {
        this.open = true;
        invoke(opened, this, null);
        this.emit('open');
      },
      (error: unknown) => this.#fail(opened, this, toSqlite3Error(error)),
    );
    this.#barrier = this.#ready.catch(() => {});
  }

  async #openSession(): Promise<Session> {
    const memory = this.filename === ':memory:' || this.filename === '';
    if (this.#options.backend === undefined && !memory && !existsSync(this.filename) && (this.mode & OPEN_CREATE) === 0) {
      throw sqlite3Error('CANTOPEN', 'unable to open database file');
    }
    const strategy =
      this.#options.backend === undefined ? (this.#options.strategy ?? (process.env.LITEPOOL_STRATEGY || undefined)) : undefined;
    this.#reference = await openShared(this.filename, { ...this.#options, ...(strategy === undefined ? {} : { strategy }) });
    const readOnly = (this.mode & OPEN_READONLY) !== 0 && (this.mode & OPEN_READWRITE) === 0;
    // node-sqlite3's SQLite build: foreign keys off, double-quoted strings accepted.
    this.#session = this.#reference.pool.session({
      pragmas: { foreign_keys: false, ...(readOnly ? { query_only: true } : {}) },
      doubleQuotedStrings: true,
    });
    return this.#session;
  }

  /** The pool behind this database once open (shared with other `Database`s on the file), for litepool's own API. */
  get pool(): PoolReference['pool'] | undefined {
    return this.#reference?.pool;
  }

  /** @internal node-sqlite3's rule for an error: to the callback if there is one, else an `error` event on `emitter`. */
  deliverError(callback: AnyCallback | undefined, self: unknown, error: Sqlite3Error, emitter: EventEmitter = this): void {
    if (callback !== undefined) invoke(callback, self, error);
    else if (emitter !== this && emitter.listenerCount('error') === 0) this.#fail(undefined, this, error);
    else this.#emitError(emitter, error);
  }

  #fail(callback: AnyCallback | undefined, self: unknown, error: Sqlite3Error): void {
    if (callback !== undefined) invoke(callback, self, error);
    else this.#emitError(this, error);
  }

  /** An `error` event; with no listener, an uncaught exception (as EventEmitter, and node-sqlite3, make it). */
  #emitError(emitter: EventEmitter, error: Sqlite3Error): void {
    try {
      emitter.emit('error', error);
    } catch (thrown) {
      process.nextTick(() => {
        throw thrown;
      });
    }
  }

  /**
   * @internal Queues one statement (or script; `compile` for the check that it
   * compiles: a read, without trace or profile events): after a serialized block or an
   * open transaction, reads after earlier writes, after `after` (the
   * statement's own earlier calls); between BEGIN and the transaction's end
   * on the writer this database holds. Resolves when it has settled.
   */
  schedule(
    sql: string,
    kind: 'read' | 'write' | 'compile',
    job: Job,
    onError: (error: Sqlite3Error) => void,
    after?: Promise<unknown>,
  ): Promise<void> {
    if (this.#closing !== undefined) {
      const closed = isClosedError();
      return Promise.resolve().then(() => onError(closed));
    }
    const step = this.#transaction.apply(sql);
    if (step.endsNothing !== undefined) {
      const error = sqlite3Error('ERROR', `cannot ${step.endsNothing} - no transaction is active`);
      return this.#track(Promise.all([this.#barrier, after]).then(() => onError(error)));
    }
    const run = (target: Target): Promise<void> => this.#run(kind === 'compile' ? undefined : sql, job, target);
    let started: Promise<void>;
    const { transaction, savepoint } = summarize(sql);
    if (step.wasOpen || step.isOpen || transaction !== undefined || savepoint !== undefined) {
      const holder = step.wasOpen && this.#holder !== undefined ? this.#holder : this.#hold(after);
      const last = !step.isOpen;
      if (last) this.#holder = undefined;
      started = Promise.all([this.#barrier, after])
        .then(() => holder.lease)
        .then((lease) => this.#onHolder(holder, lease, last, run));
      this.#barrier = started.catch(() => {});
    } else {
      const waits: unknown[] = [this.#barrier, after];
      if (kind !== 'write' || this.#serialized) waits.push(...this.#writes);
      if (this.#serialized) waits.push(...this.#inFlight);
      started = Promise.all(waits)
        .then(() => this.#ready)
        .then(run);
      if (this.#serialized) this.#barrier = started.catch(() => {});
      else if (kind === 'write') {
        const write = started.catch(() => {});
        this.#writes.add(write);
        void write.then(() => this.#writes.delete(write));
      }
    }
    return this.#track(started.catch((error: unknown) => onError(toSqlite3Error(error))));
  }

  #track(work: Promise<void>): Promise<void> {
    this.#inFlight.add(work);
    void work.then(() => this.#inFlight.delete(work));
    return work;
  }

  /** Takes the writer (a reader, for a read-only database) for a transaction, once earlier work has settled. */
  #hold(after: Promise<unknown> | undefined): Holder {
    const readOnly = (this.mode & OPEN_READWRITE) === 0 && (this.mode & OPEN_READONLY) !== 0;
    const lease = Promise.all([this.#ready, this.#barrier, after, ...this.#inFlight]).then(([session]) =>
      session.acquire({ write: !readOnly }),
    );
    lease.catch(() => {});
    const holder: Holder = { lease, ended: false };
    this.#holder = holder;
    return holder;
  }

  /**
   * Runs a statement of a transaction on its lease. When SQLite has ended the
   * transaction (the statement that ends it, a BEGIN that failed, a
   * constraint's ROLLBACK), the writer goes back to the pool, and what is
   * still queued for the transaction runs as autocommit statements, as on
   * node-sqlite3's connection.
   */
  async #onHolder(holder: Holder, lease: Lease, last: boolean, run: (target: Target) => Promise<void>): Promise<void> {
    if (holder.ended) return run(this.#session!);
    try {
      await run(lease);
    } finally {
      if (last || !lease.inTransaction) {
        holder.ended = true;
        if (this.#holder === holder) {
          this.#holder = undefined;
          this.#transaction.reset();
        }
        // A failed COMMIT leaves the transaction open: roll it back before the writer goes back.
        if (lease.inTransaction) await lease.rollback().catch(() => {});
        await lease.release();
      }
    }
  }

  /** Runs `job` on `target`, with `trace` and `profile` events around it (none for compiling a statement: `sql` undefined). */
  async #run(sql: string | undefined, job: Job, target: Target): Promise<void> {
    if (sql === undefined) return job(target, { signal: this.#interrupt.signal }, () => {});
    if (this.listenerCount('trace') > 0) this.emit('trace', sql);
    const started = performance.now();
    const ran = (): void => {
      if (this.listenerCount('profile') > 0) this.emit('profile', sql, Math.round(performance.now() - started));
    };
    await job(target, { signal: this.#interrupt.signal }, ran);
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

  /** Runs a query; `callback(err, map)` with rows keyed by their first column (the value: the second column, or the row). */
  map(sql: string, ...args: unknown[]): this {
    return this.#oneShot('map', sql, args);
  }

  /** Runs a query; `callback(err, row)` per row (streamed), then `complete(err, count)`. A statement that fails to compile reports to `complete`. */
  each(sql: string, ...args: unknown[]): this {
    return this.#oneShot('each', sql, args);
  }

  #oneShot(op: 'run' | 'get' | 'all' | 'map' | 'each', sql: string, args: unknown[]): this {
    const statement = Statement.oneShot(this, sql);
    statement[op](...args);
    statement.finalize();
    return this;
  }

  /** Runs a script of statements without parameters; `callback(err)`. An empty script does nothing. */
  exec(sql: string, callback?: (this: Database, err: Sqlite3Error | null) => void): this {
    if (typeof sql !== 'string') throw new TypeError('exec(sql): SQL text expected');
    const done = bindCallback(callback);
    void this.schedule(
      sql,
      'write',
      async (target, options, ran) => {
        if (statements(sql).length > 0) await target.exec(withStrategyPragmas(sql), options);
        ran();
        invoke(done, this, null);
      },
      (error) => this.deliverError(done, this, error),
    );
    return this;
  }

  /** Prepares a statement; `callback(err)` once it is compiled (with parameters, once they are bound). */
  prepare(sql: string, ...args: unknown[]): Statement {
    const { params, callbacks } = splitCallbacks(args, 1);
    const callback = callbacks[0];
    // As node-sqlite3: a compile error reaches the callback; success is reported by the bind that follows.
    const statement = new Statement(this, sql, (err: Sqlite3Error | null) => {
      if (err !== null) invoke(callback, statement, err);
    });
    if (params.length > 0 || callback !== undefined) statement.bind(...params, ...(callback === undefined ? [] : [callback]));
    return statement;
  }

  /** Statements issued inside `callback` (or from now on, without one) run one at a time, in order. */
  serialize(callback?: () => void): this {
    return this.#setMode(true, callback);
  }

  /** Statements issued inside `callback` (or from now on, without one) may run at once (reads in parallel). */
  parallelize(callback?: () => void): this {
    return this.#setMode(false, callback);
  }

  #setMode(serialized: boolean, callback: (() => void) | undefined): this {
    const before = this.#serialized;
    this.#serialized = serialized;
    if (callback === undefined) return this;
    try {
      callback();
    } finally {
      this.#serialized = before;
    }
    return this;
  }

  /**
   * `configure('busyTimeout', ms)`: accepted and checked; litepool queues
   * writers instead of retrying on SQLITE_BUSY (lock waits use the pool's
   * `busyTimeoutMs`). `configure('trace' | 'profile', on)`: accepted (the events
   * follow their listeners). `limit` and `change` are not supported and throw.
   */
  configure(option: string, ...values: unknown[]): void {
    const [value] = values;
    switch (option) {
      case 'busyTimeout':
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
          throw new TypeError(`configure("busyTimeout", ms): a non-negative integer is expected, got ${String(value)}`);
        }
        return;
      case 'trace':
      case 'profile':
        return;
      case 'change':
        throw new ArgumentError(
          'The change event (SQLite update hook) is not supported by @litepool/core/sqlite3: the writes happen on worker threads',
        );
      case 'limit':
        throw new ArgumentError('configure("limit") is not supported by @litepool/core/sqlite3: each worker owns its connection');
      default:
        throw new TypeError(`configure("${option}"): unknown option`);
    }
  }

  /** node-sqlite3 turns on `change` events when a listener is added: here that throws, as the update hook is not supported. */
  override on(event: string | symbol, listener: Listener): this {
    if (event === 'change') this.configure('change', true);
    return super.on(event, listener as (...args: unknown[]) => void);
  }

  /** As {@link on}. */
  override addListener(event: string | symbol, listener: Listener): this {
    return this.on(event, listener);
  }

  /** As {@link on}, for one event. */
  override once(event: string | symbol, listener: Listener): this {
    if (event === 'change') this.configure('change', true);
    return super.once(event, listener as (...args: unknown[]) => void);
  }

  /** Loading an extension into a `Database` is not supported: its connections live on worker threads. `callback(err)`. */
  loadExtension(path: string, callback?: (err: Sqlite3Error | null) => void): this {
    const error = sqlite3Error(
      'ERROR',
      `loadExtension(${JSON.stringify(path)}) is not supported by @litepool/core/sqlite3: connections live on worker threads`,
    );
    const done = bindCallback(callback);
    queueMicrotask(() => this.deliverError(done, this, error));
    return this;
  }

  /** Interrupts the statements running or queued now: they fail with SQLITE_INTERRUPT (a write may still commit). */
  interrupt(): void {
    const current = this.#interrupt;
    this.#interrupt = new AbortController();
    current.abort(sqlite3Error('INTERRUPT', 'interrupted'));
  }

  /**
   * A backup of this database to `filename`: `backup(filename, callback?)`,
   * or node-sqlite3's long form `backup(filename, destName, sourceName,
   * filenameIsDest, callback?)` with `'main'`, `'main'`, `true`.
   */
  backup(filename: string, ...args: unknown[]): Backup {
    const { params, callbacks } = splitCallbacks(args, 1);
    if (params.length > 0) {
      const [destName, sourceName, filenameIsDest] = params;
      if (destName !== 'main' || sourceName !== 'main' || filenameIsDest !== true) {
        throw new ArgumentError(
          'backup(filename, destName, sourceName, filenameIsDest): only a backup of "main" into "main" of filename (filenameIsDest true) is supported',
        );
      }
    }
    return new Backup(this, filename, callbacks[0]);
  }

  /** @internal The session, once open (rejects if opening failed). */
  get ready(): Promise<Session> {
    return this.#ready;
  }

  /** Runs `callback` when the statements queued so far have finished. */
  wait(callback?: (err: null) => void): this {
    const done = bindCallback(callback);
    void Promise.all([this.#barrier, ...this.#inFlight]).then(() => invoke(done, this, null));
    return this;
  }

  /**
   * Waits for queued statements, rolls back a transaction left open, and
   * closes; the pool closes with the last `Database` on it. `callback(err)`,
   * then `close`. Always settles.
   */
  close(callback?: (err: Sqlite3Error | null) => void): void {
    const done = bindCallback(callback);
    if (this.#closing !== undefined) {
      const error = isClosedError();
      queueMicrotask(() => this.deliverError(done, this, error));
      return;
    }
    this.#closing = this.#shutdown();
    void this.#closing.then(() => {
      this.open = false;
      invoke(done, this, null);
      this.emit('close');
    });
  }

  async #shutdown(): Promise<void> {
    await Promise.all([this.#barrier, ...this.#inFlight]);
    const holder = this.#holder;
    this.#holder = undefined;
    this.#transaction.reset();
    if (holder !== undefined && !holder.ended) {
      holder.ended = true;
      const lease = await holder.lease.catch(() => undefined);
      if (lease?.inTransaction === true) await lease.rollback().catch(() => {});
      await lease?.release();
    }
    await this.#session?.close();
    await this.#reference?.release();
  }
}
