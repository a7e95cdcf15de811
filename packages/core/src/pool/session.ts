/**
 * Sessions: a view of a pool whose statements run with connection settings of
 * their own, as if it had a connection to itself, while it shares the pool's
 * connections. A connection switches to a session's settings before running
 * its requests and back before running anyone else's (local/session.ts).
 */
import type { BackupProgress, Settings } from '../backend.js';
import { booleanOption, describe, isPlainObject, optionsObject } from '../config/checks.js';
import { ArgumentError, ConnectionStateError, OptionsError, PoolClosedError, SqliteError, toError } from '../errors.js';
import { classify, leavesNoSetting, pragmaAssignment, statements, summarize, type StatementSpan } from '../sql/statements.js';
import type { PragmaValue } from '../strategy.js';
import type { Params, QueryOptions, Row } from '../types.js';
import type { AcquireOptions, BackupOptions, RestoreOptions, TransactionOptions } from './call-rules.js';
import type { Engine } from './engine.js';
import type { Lease, StateTracker } from './lease.js';
import { QueryMethods, type Queryable, type StatementOp } from './query-methods.js';
import { restoreForSession } from './restore.js';
import { listenForChanges, type RowChange } from './row-changes.js';
import type { Scope } from './scope.js';
import { SessionObjects } from './session-objects.js';
import { ANSWERS_WHEN_SET, checkPragma, pragmaValue } from './session-pragmas.js';
import type { OpenTransaction } from './open-transaction.js';
import type { Transaction } from './transaction-scope.js';

/** Options of {@link Pool.session}. */
export interface SessionOptions {
  /**
   * Connection-scoped PRAGMAs its statements run with, e.g. `{ foreign_keys: false }`. Default: the pool's.
   * A `busy_timeout` here (or set later with `PRAGMA busy_timeout = ms`) also bounds how long the session's
   * calls wait for the writer while another transaction or lease holds it: once that one holder has kept it
   * for `busy_timeout` ms of the wait, the call fails with `SQLITE_BUSY` "database is locked", as a
   * connection of its own would. Without one, calls wait up to the pool's `acquireTimeoutMs`.
   */
  readonly pragmas?: Readonly<Record<string, PragmaValue>>;
  /**
   * Allow double-quoted string literals (`WHERE name = "bob"`), as node-sqlite3's
   * SQLite does and better-sqlite3's refuses. Needs the litepool extension
   * (shipped for Linux, macOS and Windows on x64 and arm64); without it the
   * setting has no effect. Default: false.
   */
  readonly doubleQuotedStrings?: boolean;
}

let nextSettings = 1;
/** SQLite's highest run-time limit category (SQLITE_LIMIT_WORKER_THREADS). */
const MAX_LIMIT_CATEGORY = 11;

/**
 * A view of a pool whose statements run with connection settings of its own
 * (from `pool.session()`). Query methods, transactions and leases work as on
 * the pool.
 */
export interface Session extends Queryable {
  /** The connection-scoped PRAGMAs its statements run with now (its options, and what it has set since). */
  readonly pragmas: Readonly<Record<string, PragmaValue>>;
  /** Whether it keeps state on the writer (TEMP objects, ATTACHed databases), so that all its statements run there. */
  readonly pinned: boolean;
  /** Whether {@link close} was called. */
  readonly closed: boolean;
  /** A transaction with the session's settings (see `Pool.transaction`). */
  transaction<T>(fn: (tx: Transaction) => Promise<T> | T, options?: TransactionOptions): Promise<T>;
  /** A transaction with the session's settings, held until the caller ends it (see `Pool.begin`). */
  begin(options?: TransactionOptions): Promise<OpenTransaction>;
  /** A lease with the session's settings (see `Pool.acquire`); the writer when the session is pinned to it. */
  acquire(options?: AcquireOptions): Promise<Lease>;
  /**
   * An online backup (see `Pool.backup`) on the session's connection: on the
   * writer when the session is pinned there, so `schema: 'temp'` (or an
   * ATTACHed database's name) copies the TEMP objects (or the database) the
   * session made into the destination's main database.
   */
  backup(destination: string, options?: BackupOptions): Promise<BackupProgress>;
  /**
   * A restore (see `Pool.restore`): `schema: 'temp'` replaces the TEMP objects the session made (other sessions' stay;
   * a name they hold fails it) and pins the session to the writer, where they live; an ATTACHed database's name, that one.
   */
  restore(source: string, options?: RestoreOptions): Promise<BackupProgress>;
  /**
   * Sets one of SQLite's run-time limits (`sqlite3_limit`) for the session's
   * statements from now on, as `configure('limit', …)` does on a node-sqlite3
   * connection: `category` is an `SQLITE_LIMIT_*` number (0-11, exported by
   * `@litepool/core/sqlite3` as `LIMIT_*`), `value` a non-negative integer
   * (SQLite caps it at its compile-time maximum). Statements already issued
   * keep the limits they were issued with. Needs the litepool extension
   * (shipped for Linux, macOS and Windows on x64 and arm64); without it, and
   * on a dqlite backend, the limit has no effect.
   */
  setLimit(category: number, value: number): void;
  /**
   * Calls `listener` for each row that the session's statements issued from
   * now on insert, update or delete (SQLite's update hook, as node-sqlite3's
   * `change` event), before the statement's caller gets its result;
   * `undefined` stops it. The hook's rules apply: no calls for WITHOUT ROWID
   * tables, internal tables, or rows a `DELETE` without `WHERE` removes in
   * one go; a statement that fails reports nothing. An exception the
   * listener throws is raised again as the app's, in a microtask. Needs the
   * litepool extension, as {@link setLimit} does.
   */
  watchChanges(listener: ((change: RowChange) => void) | undefined): void;
  /**
   * Loads a SQLite extension (a shared library; `path` as
   * `sqlite3_load_extension` takes it, its entry point found from the file's
   * name) for the session's statements from now on, as node-sqlite3's
   * `loadExtension` does on its connection: each connection loads it before
   * it first runs one of them, the first now, so a library that cannot load
   * rejects here (`SQLITE_ERROR`, SQLite's reason) and the session stays as
   * it was. SQLite cannot unload an extension: what it defines stays on the
   * connections that loaded it, where other sessions' statements may see it.
   * Resolves at once if the session has loaded `path` already. For every
   * connection of a pool, load extensions in a `setup` module instead.
   * Rejects with `ERR_INVALID_ARGUMENT` for anything but a non-empty string,
   * and on a backend whose connections cannot load one (dqlite).
   */
  loadExtension(path: string): Promise<void>;
  /**
   * Ends the session: the TEMP objects it created are dropped and the
   * databases it attached detached (as closing a connection would). Later
   * calls reject with `ERR_POOL_CLOSED`. Never rejects; idempotent.
   */
  close(): Promise<void>;
}

/** The pool's session (see {@link Session}). */
export class PoolSession extends QueryMethods implements Session, StateTracker {
  readonly #pool: Engine;
  #pragmas: Readonly<Record<string, PragmaValue>>;
  readonly #doubleQuoted: boolean | undefined;
  /** Run-time limits set with setLimit (category → value). */
  #limits: Readonly<Record<number, number>> = Object.freeze({});
  /** Extensions loaded with loadExtension, in order. */
  #extensions: readonly string[] = Object.freeze([]);
  /** The last loadExtension, settled either way (they run one after another). */
  #loading: Promise<void> = Promise.resolve();
  #changeListener: ((change: RowChange) => void) | undefined;
  #settings: Settings;
  #pinned = false;
  #closed = false;
  /** TEMP objects it created and databases it ATTACHed, dropped and detached when it closes. */
  readonly #objects = new SessionObjects();

  constructor(pool: Engine, options: SessionOptions) {
    super();
    const raw = optionsObject('session', options, ['pragmas', 'doubleQuotedStrings']);
    const pragmas = raw.pragmas ?? {};
    if (!isPlainObject(pragmas))
      throw new OptionsError(`session.pragmas must be an object of PRAGMA names to values, got ${describe(pragmas)}`);
    for (const [name, value] of Object.entries(pragmas))
      checkPragma(name, value, (message) => new OptionsError(`session.pragmas: ${message}`));
    const doubleQuoted =
      raw.doubleQuotedStrings === undefined ? undefined : booleanOption('session.doubleQuotedStrings', raw.doubleQuotedStrings, false);
    this.#pool = pool;
    this.#pragmas = Object.freeze({ ...(pragmas as Record<string, PragmaValue>) });
    this.#doubleQuoted = doubleQuoted;
    this.#settings = this.#makeSettings();
  }

  get pragmas(): Readonly<Record<string, PragmaValue>> {
    return this.#pragmas;
  }

  get pinned(): boolean {
    return this.#pinned;
  }

  get closed(): boolean {
    return this.#closed;
  }

  #makeSettings(): Settings {
    const listener = this.#changeListener;
    const settings: Settings = Object.freeze({
      id: nextSettings++,
      pragmas: this.#pragmas,
      doubleQuotedStrings: this.#doubleQuoted,
      limits: this.#limits,
      watchChanges: listener !== undefined,
      extensions: this.#extensions,
    });
    if (listener !== undefined) listenForChanges(settings, listener);
    return settings;
  }

  setLimit(category: number, value: number): void {
    if (!Number.isInteger(category) || category < 0 || category > MAX_LIMIT_CATEGORY)
      throw new ArgumentError(
        `setLimit: the category must be an SQLITE_LIMIT_* number from 0 to ${MAX_LIMIT_CATEGORY}, got ${describe(category)}`,
      );
    if (!Number.isSafeInteger(value) || value < 0)
      throw new ArgumentError(`setLimit: the value must be a non-negative integer, got ${describe(value)}`);
    this.#limits = Object.freeze({ ...this.#limits, [category]: Math.min(value, 0x7fffffff) });
    this.#settings = this.#makeSettings();
  }

  watchChanges(listener: ((change: RowChange) => void) | undefined): void {
    if (listener !== undefined && typeof listener !== 'function')
      throw new ArgumentError(`watchChanges: a function or undefined is expected, got ${describe(listener)}`);
    this.#changeListener = listener;
    this.#settings = this.#makeSettings();
  }

  loadExtension(path: string): Promise<void> {
    // One at a time: a library that cannot load must not fail the check of another loaded beside it.
    const load = this.#loading.then(() => this.#load(path));
    this.#loading = load.catch(() => {});
    return load;
  }

  async #load(path: string): Promise<void> {
    if (typeof path !== 'string' || path === '')
      throw new ArgumentError(`loadExtension: a path (a non-empty string) is expected, got ${describe(path)}`);
    const refused = this.#refuse();
    if (refused !== undefined) throw refused;
    if (!this.#pool.loadsExtensions) throw new ArgumentError("loadExtension: this pool's backend cannot load SQLite extensions");
    if (this.#extensions.includes(path)) return;
    const before = this.#extensions;
    this.#extensions = Object.freeze([...before, path]);
    this.#settings = this.#makeSettings();
    try {
      // Any statement with the new settings loads it on the connection that runs it: a library that cannot load fails here.
      await this.#pool.query('get', 'SELECT 1', undefined, undefined, this.#scope);
    } catch (error) {
      this.#extensions = before;
      this.#settings = this.#makeSettings();
      throw error;
    }
  }

  get #scope(): Scope {
    return { settings: this.#settings, pinned: this.#pinned, tracker: this };
  }

  #refuse(): PoolClosedError | undefined {
    return this.#closed ? new PoolClosedError('The session is closed') : undefined;
  }

  protected dispatch(op: StatementOp, sql: string, params: Params | undefined, options: QueryOptions | undefined): Promise<unknown> {
    const refused = this.#refuse();
    if (refused !== undefined) return Promise.reject(refused);
    // Most statements change no connection state: the memoized summary says so without lexing them again.
    if (typeof sql !== 'string' || !this.#mayChangeState(sql)) return this.#pool.query(op, sql, params, options, this.#scope);
    try {
      if (op === 'exec') return this.#exec(sql, options);
      const [only, ...more] = statements(sql);
      const single = more.length === 0 ? only : undefined;
      const refusal = single === undefined ? undefined : this.#detachRefusal(single.text);
      if (refusal !== undefined) return Promise.reject(new SqliteError(refusal, 'SQLITE_ERROR'));
      const absorbed = single === undefined ? undefined : this.#absorb(single);
      if (absorbed !== undefined) {
        // Asked for rows, a PRAGMA that answers its new value when set (busy_timeout, mmap_size, …) answers it here too.
        if (op !== 'run' && ANSWERS_WHEN_SET.has(absorbed))
          return this.#pool.query(op, `PRAGMA ${absorbed}`, undefined, options, this.#scope);
        return Promise.resolve(op === 'run' ? { changes: 0, lastInsertRowid: 0 } : op === 'get' ? undefined : []);
      }
    } catch (error) {
      return Promise.reject(toError(error));
    }
    this.track(sql);
    return this.#pool.query(op, sql, params, options, this.#scope);
  }

  /** A script: the session's PRAGMA settings among it change its settings; the rest runs, in order, with them. */
  async #exec(script: string, options: QueryOptions | undefined): Promise<void> {
    let pending: string[] = [];
    const flush = async (): Promise<void> => {
      if (pending.length === 0) return;
      const chunk = pending.join(';\n');
      pending = [];
      this.track(chunk);
      await this.#pool.query('exec', chunk, undefined, options, this.#scope);
    };
    for (const statement of statements(script)) {
      const refusal = this.#detachRefusal(statement.text);
      if (refusal !== undefined) {
        // As SQLite runs a script: what came before stays, nothing after runs.
        await flush();
        throw new SqliteError(refusal, 'SQLITE_ERROR');
      }
      if (classify(statement.head) === 'state' && statement.head[0] === 'PRAGMA') {
        await flush();
        this.#absorb(statement);
      } else {
        pending.push(statement.text);
      }
    }
    await flush();
  }

  /**
   * SQLite's error for a DETACH while the session keeps nothing on the writer (so it attached no database there, and
   * another session's of the same name must not go); a pinned session's DETACH runs, and SQLite answers it.
   */
  #detachRefusal(text: string): string | undefined {
    return this.#pinned ? undefined : this.#objects.detachRefusal(text);
  }

  /** A connection-scoped `PRAGMA x = y` becomes part of the session's settings: the PRAGMA's name when `statement` was one. */
  #absorb(statement: StatementSpan): string | undefined {
    if (statement.head[0] !== 'PRAGMA' || classify(statement.head) !== 'state') return undefined;
    const assignment = pragmaAssignment(statement.text);
    if (assignment === undefined) return undefined;
    const { name } = assignment;
    const value = pragmaValue(assignment.value);
    checkPragma(name, value, (message) => new ConnectionStateError(message));
    this.#pragmas = Object.freeze({ ...this.#pragmas, [name]: value });
    this.#settings = this.#makeSettings();
    return name;
  }

  /** Whether `sql` may set a PRAGMA, create or drop a TEMP object, or attach a database (a DROP only matters once there are TEMP objects). */
  #mayChangeState(sql: string): boolean {
    return summarize(sql).state !== undefined || this.#objects.hasTemp;
  }

  /**
   * Records the TEMP objects and ATTACHed databases `sql` creates or drops,
   * and takes the connection-scoped PRAGMAs it sets as the session's own (run
   * on its lease or in its transaction, they set the connection there and
   * then, and its later statements keep them, as one connection would); true
   * when it did any.
   */
  track(sql: string, inTransaction = false): boolean {
    if (!this.#mayChangeState(sql)) return false;
    let tracked = false;
    for (const statement of statements(sql)) {
      const text = statement.text;
      if (statement.head[0] === 'PRAGMA') {
        if (!leavesNoSetting(text, inTransaction) && this.#absorbs(statement)) tracked = true;
        continue;
      }
      const recorded = this.#objects.record(text);
      if (recorded === 'made') tracked = this.#pin();
      else if (recorded === 'dropped') tracked = true;
    }
    return tracked;
  }

  /** Whether `statement` set a PRAGMA the session now holds (one it may not hold is left to the lease's reset). */
  #absorbs(statement: StatementSpan): boolean {
    try {
      return this.#absorb(statement) !== undefined;
    } catch {
      return false;
    }
  }

  /** Pins the session to the writer (once), telling the router the writer now holds a schema no reader has. */
  #pin(): true {
    if (!this.#pinned) this.#pool.router.writerSchemas(1);
    return (this.#pinned = true);
  }

  iterate<T = Row>(sql: string, params?: Params, options?: QueryOptions): AsyncIterableIterator<T> {
    const refused = this.#refuse();
    if (refused !== undefined) return Promise.reject(refused) as never;
    return this.#pool.stream<T>(sql, params, options, this.#scope);
  }

  transaction<T>(fn: (tx: Transaction) => Promise<T> | T, options?: TransactionOptions): Promise<T> {
    const refused = this.#refuse();
    if (refused !== undefined) return Promise.reject(refused);
    return this.#pool.transaction(fn, options, this.#scope);
  }

  begin(options?: TransactionOptions): Promise<OpenTransaction> {
    const refused = this.#refuse();
    if (refused !== undefined) return Promise.reject(refused);
    return this.#pool.begin(options, this.#scope);
  }

  acquire(options?: AcquireOptions): Promise<Lease> {
    const refused = this.#refuse();
    if (refused !== undefined) return Promise.reject(refused);
    return this.#pool.acquire(options, this.#scope);
  }

  backup(destination: string, options?: BackupOptions): Promise<BackupProgress> {
    const refused = this.#refuse();
    if (refused !== undefined) return Promise.reject(refused);
    return this.#pool.backup(destination, options, this.#scope);
  }

  restore(source: string, options?: RestoreOptions): Promise<BackupProgress> {
    const refused = this.#refuse();
    if (refused !== undefined) return Promise.reject(refused);
    return restoreForSession(this.#pool, source, options, { objects: this.#objects, pin: () => this.#pin(), scope: () => this.#scope });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    const { drops, detaches } = this.#objects.cleanup();
    const scope = this.#scope;
    this.#closed = true;
    const dropAll = ['PRAGMA defer_foreign_keys = ON', ...drops].join(';\n');
    if (drops.length > 0) await this.#pool.transaction((tx) => tx.exec(dropAll), { mode: 'deferred' }, scope).catch(() => {});
    if (detaches.length > 0) await this.#pool.query('exec', detaches.join(';\n'), undefined, undefined, scope).catch(() => {});
    if (this.#pinned) this.#pool.router.writerSchemas(-1);
  }
}
