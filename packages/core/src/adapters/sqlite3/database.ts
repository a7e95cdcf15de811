/**
 * node-sqlite3's `Database` over a litepool pool. Every `Database` on one
 * file (with the same options) shares one pool and is a session of it, with
 * node-sqlite3's connection settings: foreign keys off, double-quoted string
 * literals accepted, its own PRAGMAs and TEMP objects. Its statements run in
 * node-sqlite3's order, and each BEGIN means what it means in SQLite (see
 * link.ts, where the work is done).
 */
import { ArgumentError, clock, statements, type RowChange } from '../../index.js';
import { Backup } from './backup.js';
import { bindCallback, invoke, splitCallbacks } from './callbacks.js';
import { EmitterBase, hiddenField } from './emitter-base.js';
import { OPEN_CREATE, OPEN_FULLMUTEX, OPEN_READWRITE, type Sqlite3Error } from './constants.js';
import { sqlite3Error, toSqlite3Error } from './error-shape.js';
import { Link, type LinkOptions } from './link.js';
import { linkOf, register } from './link-registry.js';
import { quickCall } from './quick-call.js';
import { Statement } from './statement.js';

/** Options accepted in place of `mode`: the open flags, the pool's options, and how BEGIN is taken. */
export interface DatabaseOptions extends LinkOptions {
  /** node-sqlite3's open flags. Default: `OPEN_READWRITE | OPEN_CREATE | OPEN_FULLMUTEX`. */
  mode?: number;
}

/** An event listener, whatever its parameters. */
export type Listener = (...args: never[]) => void;

/** Events node-sqlite3 turns on in its native code when a listener is added. */
const NATIVE_EVENTS = new Set(['trace', 'profile', 'change']);

/** Statement's own methods: `verbose()` wraps the prototype's, and a `Database` call is traced as itself, not as its statement's. */
const STATEMENT_METHODS = Object.fromEntries(
  (['run', 'get', 'all', 'map', 'each', 'bind'] as const).map((name) => [
    name,
    // eslint-disable-next-line @typescript-eslint/unbound-method -- captured to be called with apply() on a statement
    Statement.prototype[name] as (...args: unknown[]) => unknown,
  ]),
) as Record<'run' | 'get' | 'all' | 'map' | 'each' | 'bind', (...args: unknown[]) => unknown>;

/** The options every `Database` of a module made by `withDefaults` gets (see index.ts). */
export const defaultsOf = new WeakMap<object, DatabaseOptions>();

/** The defaults of `constructor`'s module: its own, or those of the class it extends. */
function defaultsFor(constructor: object): DatabaseOptions | undefined {
  for (let at: object | null = constructor; at !== null; at = Object.getPrototypeOf(at) as object | null) {
    const found = defaultsOf.get(at);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** A node-sqlite3 `Database` backed by a shared litepool pool. Emits `open`, `close`, `error`, `trace` and `profile`. */
export class Database extends EmitterBase {
  /** The filename it was opened with. */
  declare readonly filename: string;
  /** The open flags. */
  declare readonly mode: number;

  /**
   * @param filename a file path, `:memory:` or `''` (a private in-memory database), or a `file:` URI
   * @param mode open flags (`OPEN_READWRITE | OPEN_CREATE | OPEN_FULLMUTEX` by default), or {@link DatabaseOptions}
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
    // node-sqlite3's words for its argument errors (here and in configure): tests compare them.
    if (typeof filename !== 'string') throw new TypeError('String expected');
    const given = typeof mode === 'object' && mode !== null ? mode : mode === undefined ? {} : { mode };
    const { mode: flags = OPEN_READWRITE | OPEN_CREATE | OPEN_FULLMUTEX, ...options } = { ...defaultsFor(new.target), ...given };
    if (!Number.isInteger(flags))
      throw new TypeError(`Database(filename, mode): mode must be an integer of OPEN_* flags, got ${String(flags)}`);
    hiddenField(this, 'filename', filename);
    hiddenField(this, 'mode', flags);
    const strategy = options.backend === undefined ? (options.strategy ?? (process.env.LITEPOOL_STRATEGY || undefined)) : undefined;
    register(this, new Link(this, { ...options, ...(strategy === undefined ? {} : { strategy }) }, bindCallback(callback)));
  }

  /** Whether the database is open (after `open`, before `close`). */
  get open(): boolean {
    return linkOf(this).open;
  }

  /** The pool behind this database once open (shared with other `Database`s on the file), for litepool's own API. */
  get pool(): Link['pool'] {
    return linkOf(this).pool;
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
    if (op !== 'map' && op !== 'each' && quickCall(this, op, sql, args)) return this;
    const statement = Statement.oneShot(this, sql);
    STATEMENT_METHODS[op].apply(statement, args);
    statement.finalize();
    return this;
  }

  /** Runs a script of statements without parameters; `callback(err)`. An empty script does nothing. */
  exec(sql: string, callback?: (this: Database, err: Sqlite3Error | null) => void): this {
    if (typeof sql !== 'string') throw new TypeError('exec(sql): SQL text expected');
    const link = linkOf(this);
    const done = bindCallback(callback);
    // Exclusive, as node-sqlite3 schedules it: after the calls made before it (a statement's bind among them), and
    // before those made after.
    void link.schedule(
      sql,
      'write',
      {
        perform: async (target, options) => {
          if (statements(sql).length > 0) await link.counters.exec(target, sql, options);
          invoke(done, this, null);
        },
        fail: (error) => link.deliverError(done, this, error),
      },
      undefined,
      true,
    );
    return this;
  }

  /** Prepares a statement; `callback(err)` once it is compiled (with parameters, once they are bound). */
  prepare(sql: string, ...args: unknown[]): Statement {
    const { params, callbacks } = splitCallbacks(args, 1);
    const callback = callbacks[0];
    // As node-sqlite3: a compile error reaches the callback (once); success is reported by the bind that follows.
    let failed = false;
    const statement = new Statement(
      this,
      sql,
      callback === undefined
        ? undefined
        : (err: Sqlite3Error | null) => {
            if (err === null) return;
            failed = true;
            invoke(callback, statement, err);
          },
    );
    const bound = callback === undefined ? [] : [(err: Sqlite3Error | null) => failed || invoke(callback, statement, err)];
    if (params.length > 0 || callback !== undefined) STATEMENT_METHODS.bind.apply(statement, [...params, ...bound]);
    return statement;
  }

  /** Statements issued inside `callback` (or from now on, without one) run one at a time, in order. */
  serialize(callback?: () => void): this {
    linkOf(this).setMode(true, callback);
    return this;
  }

  /** Statements issued inside `callback` (or from now on, without one) may run at once (reads in parallel). */
  parallelize(callback?: () => void): this {
    linkOf(this).setMode(false, callback);
    return this;
  }

  /**
   * `configure('busyTimeout', ms)`: how long a statement waits for a lock
   * another `Database` (or process) holds before it fails with `SQLITE_BUSY`
   * (1000 ms by default, as node-sqlite3's); `PRAGMA busy_timeout` reads it.
   * `configure('trace' | 'profile' | 'change', on)`: turns
   * the event on or off. `configure('limit', id, value)`: one of SQLite's
   * run-time limits (`LIMIT_*`) for this database's statements from now on.
   * The last two need the litepool extension (see `Session.setLimit`).
   */
  configure(option: string, ...values: unknown[]): this {
    const [value] = values;
    if (linkOf(this).closed) throw sqlite3Error('MISUSE', 'Database is closed');
    if (values.length === 0) throw new TypeError('Expected 2arguments');
    switch (option) {
      case 'busyTimeout':
        if (typeof value !== 'number') throw new TypeError('Value must be an integer');
        linkOf(this).config.busyTimeout(value);
        return this;
      case 'trace':
      case 'profile':
        linkOf(this).configureEvent(option, value === true);
        return this;
      case 'change':
        linkOf(this).config.watchChanges(value === true ? (change) => this.#emitChange(change) : undefined);
        return this;
      case 'limit': {
        const [category, limit] = values;
        if (values.length < 2) throw new TypeError('Expected 3arguments');
        if (typeof category !== 'number') throw new TypeError('limit id must be an integer');
        if (typeof limit !== 'number') throw new TypeError('limit value must be an integer');
        linkOf(this).config.limit(category, limit);
        return this;
      }
      default:
        throw new TypeError(`${String(option)} is not a valid configuration option`);
    }
  }

  /** `change`'s arguments as node-sqlite3 gives them. */
  #emitChange(change: RowChange): void {
    this.emit('change', change.type, change.database, change.table, change.rowid);
  }

  /** As EventEmitter's; `trace`, `profile` and `change` are turned on as in node-sqlite3. */
  override on(event: string | symbol, listener: Listener): this {
    super.on(event, listener as (...args: unknown[]) => void);
    if (typeof event === 'string' && NATIVE_EVENTS.has(event)) this.configure(event, true);
    return this;
  }

  /** As {@link on}. */
  override addListener(event: string | symbol, listener: Listener): this {
    return this.on(event, listener);
  }

  /** As {@link on}, for one event. */
  override once(event: string | symbol, listener: Listener): this {
    super.once(event, listener as (...args: unknown[]) => void);
    if (typeof event === 'string' && NATIVE_EVENTS.has(event)) this.configure(event, true);
    return this;
  }

  /** As EventEmitter's; the last `trace`, `profile` or `change` listener removed turns the event off. */
  override removeListener(event: string | symbol, listener: Listener): this {
    super.removeListener(event, listener as (...args: unknown[]) => void);
    if (typeof event === 'string' && NATIVE_EVENTS.has(event) && this.listenerCount(event) === 0) this.configure(event, false);
    return this;
  }

  /** As {@link removeListener}. */
  override off(event: string | symbol, listener: Listener): this {
    return this.removeListener(event, listener);
  }

  /** As EventEmitter's; `trace`, `profile` and `change` are turned off with their listeners. */
  override removeAllListeners(event?: string | symbol): this {
    super.removeAllListeners(event);
    for (const name of NATIVE_EVENTS) if (event === undefined || event === name) this.configure(name, false);
    return this;
  }

  /**
   * Loads a SQLite extension (a shared library) for this database's
   * statements once the calls before it have run, before those after it, as
   * node-sqlite3's does (see `Session.loadExtension`: the connections that
   * run them load it; SQLite cannot unload it). `callback(err)`.
   */
  loadExtension(path: string, callback?: (err: Sqlite3Error | null) => void): this {
    if (typeof path !== 'string') throw new TypeError('Argument 0 must be a string');
    const link = linkOf(this);
    const done = bindCallback(callback);
    if (link.closing) {
      clock.queueMicrotask(() => link.deliverError(done, this, sqlite3Error('MISUSE', 'Database is closed')));
      return this;
    }
    link
      .exclusive((session) => session.loadExtension(path))
      .then(
        () => invoke(done, this, null),
        (error: unknown) => link.deliverError(done, this, toSqlite3Error(error)),
      );
    return this;
  }

  /** Interrupts the statements running or queued now: they fail with SQLITE_INTERRUPT. Throws before open and after close. */
  interrupt(): void {
    linkOf(this).interrupt();
  }

  /**
   * A backup of this database to `filename`: `backup(filename, callback?)`,
   * or node-sqlite3's long form `backup(filename, sourceName, destName,
   * filenameIsDest, callback?)`: with `filenameIsDest` true, a schema of this
   * database (`main`, `temp`, an ATTACHed one) into `main` of `filename`;
   * false, a restore: `main` of `filename` into a schema of this database
   * (see `Session.restore`).
   */
  backup(filename: string, ...args: unknown[]): Backup {
    const { params, callbacks } = splitCallbacks(args, 1);
    if (params.length === 0) return new Backup(this, filename, { schema: 'main', restore: false }, callbacks[0]);
    const [sourceName, destName, filenameIsDest] = params;
    if (typeof sourceName !== 'string' || typeof destName !== 'string' || typeof filenameIsDest !== 'boolean') {
      throw new ArgumentError('backup(filename, sourceName, destName, filenameIsDest): two schema names and a boolean are expected');
    }
    const file = filenameIsDest ? destName : sourceName;
    if (file.toLowerCase() !== 'main') {
      throw new ArgumentError(`backup: only the main database of ${filename} can be ${filenameIsDest ? 'written' : 'read'}, not "${file}"`);
    }
    const schema = filenameIsDest ? sourceName : destName;
    return new Backup(this, filename, { schema, restore: !filenameIsDest }, callbacks[0]);
  }

  /**
   * Runs `callback` once the statements queued before it have finished: in
   * parallel mode once nothing is in flight (calls made meanwhile too), in
   * serialized mode before the calls made after it (node-sqlite3's order).
   */
  wait(callback?: (err: null) => void): this {
    linkOf(this).wait(callback);
    return this;
  }

  /**
   * Waits for queued statements, rolls back a transaction left open, and
   * closes; the pool closes with the last `Database` on it. `callback(err)`,
   * then `close`. Fails (SQLITE_BUSY) while statements are not finalized or
   * backups not finished, as node-sqlite3 does.
   */
  close(callback?: (err: Sqlite3Error | null) => void): void {
    linkOf(this).close(callback);
  }
}

// node-sqlite3 defines these in JavaScript, so they are enumerable on its prototype: code that saves
// the prototype's methods with for…in (to restore them after verbose()) finds them here too.
for (const name of ['prepare', 'run', 'get', 'all', 'each', 'map', 'backup'] as const) {
  Object.defineProperty(Database.prototype, name, { enumerable: true });
}
