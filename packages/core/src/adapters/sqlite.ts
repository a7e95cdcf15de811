/**
 * A `sqlite` (the promise wrapper of node-sqlite3) compatible API over a
 * litepool pool: change `import { open } from 'sqlite'` to
 * `import { open } from '@litepool/core/sqlite'`. Built on the node-sqlite3
 * layer ({@link Sqlite3Database}), as `sqlite` is built on node-sqlite3.
 *
 * @module @litepool/core/sqlite
 */
import { ArgumentError, type Pool, type Row } from '../index.js';
import {
  Database as Sqlite3Database,
  type DatabaseOptions,
  type RunContext,
  type Sqlite3Error,
  type Statement as Sqlite3Statement,
} from './sqlite3.js';
import { applyMigrations, type MigrationParams } from './sqlite-migrations.js';

export type { MigrationData, MigrationParams } from './sqlite-migrations.js';

/** Options of {@link open}. */
export interface OpenOptions extends Omit<DatabaseOptions, 'mode'> {
  /** The database file, or `:memory:`. */
  filename: string;
  /** node-sqlite3 open flags. */
  mode?: number;
  /**
   * The node-sqlite3 `Database` class to open with, as in `sqlite`: litepool's
   * (`require('@litepool/core/sqlite3').Database`, the default), a subclass
   * of it, or a class with the same constructor and callbacks (the
   * `verbose()` or `cached` one). Anything that is not a constructor is
   * refused with an ArgumentError.
   */
  driver?: Sqlite3DatabaseClass;
}

/** A node-sqlite3 `Database` class: `new driver(filename, mode?, callback)`. */
export type Sqlite3DatabaseClass = new (
  filename: string,
  ...rest: [mode: number, callback: (err: Sqlite3Error | null) => void] | [callback: (err: Sqlite3Error | null) => void]
) => Sqlite3Database;

/** What `run` resolves to. */
export interface RunResult {
  /** The statement that ran: this one for {@link Statement.run}, the one behind the call for {@link Database.run}. */
  stmt: Statement;
  /** The rowid of the last row inserted (valid after an INSERT). */
  lastID: number;
  /** Rows changed. */
  changes: number;
}

/** The row callback of `each`. */
export type EachCallback<T> = (err: Sqlite3Error | null, row: T) => void;

/** A query object, as sql-template-strings makes them (`SQL\`SELECT … ${value}\``): the text and its values. */
export interface SqlQuery {
  /** The SQL text with `?` placeholders. */
  readonly sql: string;
  /** The values of its placeholders. */
  readonly values?: readonly unknown[];
}

/** SQL text, or a query object carrying its own values. */
export type Sql = string | SqlQuery;

/** The text and parameters of `sql` and `params`: a query object brings its values. */
function toCall(sql: Sql, params: readonly unknown[]): [string, ...unknown[]] {
  if (typeof sql === 'string') return [sql, ...params];
  if (typeof sql === 'object' && sql !== null && typeof sql.sql === 'string')
    return [sql.sql, ...(sql.values === undefined ? [] : [[...sql.values]]), ...params];
  throw new ArgumentError(`SQL must be a string or a query object { sql, values }, got ${typeof sql}`);
}

function promised<T>(
  start: (done: (this: RunContext, err: Sqlite3Error | null, value?: unknown) => void) => void,
  pick: (context: RunContext, value: unknown) => T,
): Promise<T> {
  return new Promise((resolve, reject) => {
    start(function (err, value) {
      if (err !== null) reject(err);
      else resolve(pick(this, value));
    });
  });
}

/**
 * Why an `each(…, callback)` call is refused, as the `sqlite` package refuses
 * it (its callers match these words): the last argument is not a function, or
 * the one before it is one too (a completion callback: `each` resolves with
 * the row count instead).
 */
function eachRefusal(owner: 'Database' | 'Statement', callback: unknown, params: readonly unknown[]): ArgumentError | undefined {
  if (typeof callback !== 'function')
    return new ArgumentError(`${owner}#each(): its last argument must be a callback function (one per row)`);
  if (typeof params.at(-1) === 'function') {
    return new ArgumentError(`${owner}#each() should only have a single callback, the row callback: it resolves with the row count`);
  }
  return undefined;
}

/** A prepared statement with promise methods. */
export class Statement {
  /**
   * @internal Use {@link Database.prepare}.
   * @param stmt the node-sqlite3 layer's statement
   */
  constructor(
    /** The node-sqlite3 layer's statement this one wraps. */
    readonly stmt: Sqlite3Statement,
  ) {}

  /** The node-sqlite3 layer's statement, as `sqlite`'s `getStatementInstance()` returns its driver's. */
  getStatementInstance(): Sqlite3Statement {
    return this.stmt;
  }

  /** Binds parameters for later calls. */
  bind(...params: unknown[]): Promise<void> {
    return promised(
      (done) => this.stmt.bind(...params, done),
      () => undefined,
    );
  }

  /** Rewinds `get` to the first row. */
  reset(): Promise<void> {
    return new Promise((resolve) => this.stmt.reset(() => resolve()));
  }

  /** Releases the statement. */
  finalize(): Promise<void> {
    return new Promise((resolve) => this.stmt.finalize(() => resolve()));
  }

  /** Runs it: `{ stmt, lastID, changes }`. */
  run(...params: unknown[]): Promise<RunResult> {
    return promised(
      (done) => this.stmt.run(...params, done),
      (context) => ({ stmt: this, lastID: context.lastID, changes: context.changes }),
    );
  }

  /** The next row (the first after `bind`/`reset`), or undefined. */
  get<T = Row>(...params: unknown[]): Promise<T | undefined> {
    return promised(
      (done) => this.stmt.get(...params, done),
      (_, row) => row as T | undefined,
    );
  }

  /** Every row. */
  all<T = Row[]>(...params: unknown[]): Promise<T> {
    return promised(
      (done) => this.stmt.all(...params, done),
      (_, rows) => rows as T,
    );
  }

  /** `callback(err, row)` per row; resolves with the row count. */
  each<T = Row>(...args: [...params: unknown[], callback: EachCallback<T>]): Promise<number> {
    const callback: unknown = args.pop();
    const refused = eachRefusal('Statement', callback, args);
    if (refused !== undefined) return Promise.reject(refused);
    return promised(
      (done) =>
        this.stmt.each(
          ...args,
          (err: Sqlite3Error | null, row: T) => (callback as (err: Sqlite3Error | null, row: T) => void)(err, row),
          done,
        ),
      (_, count) => count as number,
    );
  }
}

/** A `sqlite` Database: promise methods over litepool's node-sqlite3 layer. */
export class Database {
  /** The options it opens with (`new Database(config)`), as `sqlite` keeps them. */
  readonly config: OpenOptions | undefined;
  #db: Sqlite3Database | undefined;

  /**
   * `new Database({ filename, driver?, mode? })`, then {@link open}; or {@link open | open()} the function, which does both.
   * @param source the options to open with, or an open node-sqlite3 layer database to wrap
   */
  constructor(source: OpenOptions | Sqlite3Database) {
    if (source instanceof Sqlite3Database) {
      this.#db = source;
      this.config = undefined;
    } else {
      checkOpenOptions(source);
      this.config = source;
    }
  }

  /** The node-sqlite3 layer's database this one wraps (throws before {@link open}; after {@link close}, the closed one, which fails every call with SQLITE_MISUSE as in `sqlite`). */
  get db(): Sqlite3Database {
    const db = this.#db ?? this.#closed;
    if (db === undefined) throw new ArgumentError('The database is not open: call open() first');
    return db;
  }

  /** Opens it with the options it was made with (again after {@link close}); resolves once the pool's first connection answered. */
  open(): Promise<void> {
    if (this.#db !== undefined) return Promise.resolve();
    const { filename, driver, mode, ...rest } = this.config!;
    return new Promise((resolvePromise, reject) => {
      const opened = (err: Sqlite3Error | null): void => {
        if (err !== null) return reject(err);
        this.#db = db;
        resolvePromise();
      };
      // litepool's own class takes its pool options too; another driver gets node-sqlite3's arguments.
      const db: Sqlite3Database =
        driver === undefined || driver === Sqlite3Database
          ? new Sqlite3Database(filename, mode === undefined ? rest : { ...rest, mode }, opened)
          : mode === undefined
            ? new driver(filename, opened)
            : new driver(filename, mode, opened);
    });
  }

  /** The node-sqlite3 layer's database. */
  getDatabaseInstance(): Sqlite3Database {
    return this.db;
  }

  /** Loads a SQLite extension for this database's statements (see the node-sqlite3 layer's `loadExtension`); rejects with SQLITE_ERROR if it cannot load. */
  loadExtension(path: string): Promise<void> {
    return new Promise((resolve, reject) => this.db.loadExtension(path, (err) => (err === null ? resolve() : reject(err))));
  }

  /** The litepool pool behind it. */
  get pool(): Pool | undefined {
    return this.#db?.pool;
  }

  /** Listens to the node-sqlite3 layer's events (`error`, `close`, …). */
  on(event: string, listener: (...args: unknown[]) => void): this {
    this.db.on(event, listener);
    return this;
  }

  /** `configure('busyTimeout', ms)`: how long a statement waits for a lock another `Database` holds before `SQLITE_BUSY`; see the node-sqlite3 layer. */
  configure(option: 'busyTimeout', value: number): void {
    this.db.configure(option, value);
  }

  /** Runs a statement: `{ stmt, lastID, changes }`. */
  run(sql: Sql, ...params: unknown[]): Promise<RunResult> {
    return promised(
      (done) => this.db.run(...toCall(sql, params), done),
      // node-sqlite3 calls back with the statement behind the call as `this`.
      (context) => ({ stmt: new Statement(context as Sqlite3Statement), lastID: context.lastID, changes: context.changes }),
    );
  }

  /** The first row, or undefined. */
  get<T = Row>(sql: Sql, ...params: unknown[]): Promise<T | undefined> {
    return promised(
      (done) => this.db.get(...toCall(sql, params), done),
      (_, row) => row as T | undefined,
    );
  }

  /** Every row. */
  all<T = Row[]>(sql: Sql, ...params: unknown[]): Promise<T> {
    return promised(
      (done) => this.db.all(...toCall(sql, params), done),
      (_, rows) => rows as T,
    );
  }

  /** `callback(err, row)` per row (streamed); resolves with the row count. */
  each<T = Row>(sql: Sql, ...args: [...params: unknown[], callback: EachCallback<T>]): Promise<number> {
    const callback: unknown = args.pop();
    const refused = eachRefusal('Database', callback, args);
    if (refused !== undefined) return Promise.reject(refused);
    return promised(
      (done) =>
        this.db.each(
          ...toCall(sql, args),
          (err: Sqlite3Error | null, row: T) => (callback as (err: Sqlite3Error | null, row: T) => void)(err, row),
          done,
        ),
      (_, count) => count as number,
    );
  }

  /** Runs a script of statements. */
  exec(sql: Sql): Promise<void> {
    const [text] = toCall(sql, []);
    return new Promise((resolve, reject) => this.db.exec(text, (err) => (err === null ? resolve() : reject(err))));
  }

  /** Prepares a statement; rejects on a syntax error. */
  prepare(sql: Sql, ...params: unknown[]): Promise<Statement> {
    return new Promise((resolve, reject) => {
      const stmt = this.db.prepare(...toCall(sql, params), (err: Sqlite3Error | null) =>
        err === null ? resolve(new Statement(stmt)) : reject(err),
      );
    });
  }

  /** Runs `callback` with statements serialized (one at a time, in order). */
  serialize(callback?: () => void): void {
    this.db.serialize(callback);
  }

  /** Runs `callback` with statements parallelized. */
  parallelize(callback?: () => void): void {
    this.db.parallelize(callback);
  }

  /**
   * Applies the migrations not yet recorded in `table`, in order, each in a
   * transaction; undoes recorded ones whose file is gone, and with `force` the
   * last one, first. Files: `NNN.name.sql` with `-- Up` and `-- Down` parts.
   */
  migrate(config: MigrationParams = {}): Promise<void> {
    return applyMigrations(this, config);
  }

  /** Waits for queued statements and closes the pool; {@link open} opens it again. */
  close(): Promise<void> {
    const db = this.db; // closed already: the closed database answers SQLITE_MISUSE, as in node-sqlite3
    return new Promise((resolve, reject) =>
      db.close((err) => {
        if (err !== null) return reject(err);
        if (this.config !== undefined) {
          this.#closed = db;
          this.#db = undefined;
        }
        resolve();
      }),
    );
  }

  #closed: Sqlite3Database | undefined;
}

function checkOpenOptions(options: OpenOptions): void {
  if (typeof options !== 'object' || options === null || typeof options.filename !== 'string') {
    throw new ArgumentError('open({ filename }) needs a filename string');
  }
  const driver: unknown = options.driver;
  if (driver !== undefined && (typeof driver !== 'function' || driver.prototype === undefined)) {
    throw new ArgumentError(`open({ driver }): a node-sqlite3 Database class is expected, got ${typeof driver}`);
  }
}

/** Opens a database: resolves once the pool's first connection answered. */
export async function open(options: OpenOptions): Promise<Database> {
  checkOpenOptions(options);
  const db = new Database(options);
  await db.open();
  return db;
}
