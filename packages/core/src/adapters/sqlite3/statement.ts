/**
 * node-sqlite3's `Statement`: compiled once, then run any number of times with
 * the parameters bound last. Its calls run one at a time, in the order made;
 * `finalize` waits for them. Like node-sqlite3, it runs only the first
 * statement of its SQL.
 */
import { EventEmitter } from 'node:events';
import type { QueryOptions, Row } from '../../index.js';
import { statements } from '../../sql/statements.js';
import { bindCallback, invoke, splitCallbacks, type AnyCallback } from './callbacks.js';
import { Database, withStrategyPragmas, type Job, type Target } from './database.js';
import { sqlite3Error, type Sqlite3Error } from './errors.js';
import { toError } from '../../errors.js';
import { bindArguments } from './params.js';

/** `this` inside a callback of `run`, `get`, `all`, `each`: the statement, with the outcome of its last `run`. */
export interface RunContext {
  /** The statement's SQL. */
  readonly sql: string;
  /** After `run`: the rowid of the last row inserted on its connection. */
  lastID: number;
  /** After `run`: rows changed. */
  changes: number;
}

/** SQL and values ready to run. */
type Binding = ReturnType<typeof bindArguments>;

/** A statement's work: a {@link Job} that also gets its binding. */
type BoundJob = (target: Target, options: QueryOptions, ran: () => void, bound: Binding) => Promise<void>;

/** Rows keyed by their first column: the value is the second column, or the whole row when it has more. */
function toMap(rows: readonly Row[]): Record<string, unknown> {
  const map: Record<string, unknown> = {};
  const [first] = rows;
  if (first === undefined) return map;
  const [key, value] = Object.keys(first);
  const whole = Object.keys(first).length > 2;
  for (const row of rows) map[String(row[key!])] = whole ? row : value === undefined ? undefined : row[value];
  return map;
}

/** What {@link textToRun} made of each SQL text (the drop-in makes a Statement per `db.get(sql)`). */
const texts = new Map<string, string>();

/**
 * The SQL a statement runs: its first statement (node-sqlite3 prepares only
 * that), with the strategy's PRAGMAs answered as they are; an empty statement
 * compiles and does nothing in node-sqlite3, and a query of no rows does the
 * same here. Memoized per text.
 */
function textToRun(sql: string): string {
  let text = texts.get(sql);
  if (text === undefined) {
    text = withStrategyPragmas(statements(sql)[0]?.text ?? 'SELECT 1 WHERE 0');
    // Bounded: an app that builds SQL text dynamically must not grow this forever.
    if (texts.size >= 10_000) texts.clear();
    texts.set(sql, text);
  }
  return text;
}

/** A prepared statement: bound parameters kept across calls until the next `bind` or call with parameters. */
export class Statement extends EventEmitter implements RunContext {
  /** The statement's SQL. */
  readonly sql: string;
  /** After `run`: the rowid of the last row inserted on its connection. */
  lastID = 0;
  /** After `run`: rows changed. */
  changes = 0;

  readonly #db: Database;
  /** The statement node-sqlite3 would compile: the first of the SQL. */
  readonly #text: string;
  /** Whether it compiled (false: its calls are dropped, as node-sqlite3 drops them). */
  readonly #prepared: Promise<boolean>;
  /** Made by `Database#run` and friends: compile errors reach the call's callback. */
  readonly #oneShot: boolean;
  /** The parameter arguments bound last. */
  #args: unknown[] = [];
  /** Settles when its last call has. */
  #queue: Promise<unknown>;
  #finalized = false;
  /** Rows of the current binding, for `get` stepping through them. */
  #rows: Row[] | undefined;
  #next = 0;

  /**
   * node-sqlite3's `new Statement(db, sql, callback?)`; usually made by
   * {@link Database.prepare}. `callback(err)` once it is compiled.
   */
  constructor(db: Database, sql: string, callback?: (err: Sqlite3Error | null) => void) {
    super();
    if (!(db instanceof Database)) throw new TypeError('Database object expected');
    if (typeof sql !== 'string') throw new TypeError('SQL query expected');
    if (callback !== undefined && typeof callback !== 'function') throw new TypeError('Callback expected');
    this.sql = sql;
    this.#db = db;
    this.#text = textToRun(sql);
    this.#oneShot = oneShotting;
    if (this.#oneShot) {
      this.#prepared = Promise.resolve(true);
      this.#queue = Promise.resolve();
      return;
    }
    const done = bindCallback(callback);
    // Compiling happens on a connection: EXPLAIN compiles the statement without running it.
    const compiled = bindArguments(this.#text, []);
    let ok = false;
    this.#queue = db.schedule(
      `EXPLAIN ${compiled.sql}`,
      'compile',
      async (target, options) => {
        await target.get(`EXPLAIN ${compiled.sql}`, compiled.params, options);
        ok = true;
        invoke(done, this, null);
      },
      (error) => db.deliverError(done, this, error, this),
    );
    this.#prepared = this.#queue.then(() => ok);
  }

  /** @internal The statement behind `Database#run` and friends: compiled with its call, errors to that call's callback. */
  static oneShot(db: Database, sql: string): Statement {
    oneShotting = true;
    try {
      return new Statement(db, sql);
    } finally {
      oneShotting = false;
    }
  }

  /**
   * Queues one call: after the statement's earlier calls, in its database's
   * order. Dropped if the statement did not compile; refused after `finalize`.
   */
  #enqueue(kind: 'read' | 'write', callback: AnyCallback | undefined, job: Job, onError?: (error: Sqlite3Error) => void): void {
    const fail = onError ?? ((error: Sqlite3Error) => this.#db.deliverError(callback, this, error, this));
    if (this.#finalized) {
      const error = sqlite3Error('MISUSE', 'Statement is already finalized');
      queueMicrotask(() => fail(error));
      return;
    }
    const prepared = this.#prepared;
    this.#queue = this.#db.schedule(
      this.#text,
      kind,
      async (target, options, ran) => {
        if (await prepared) await job(target, options, ran);
      },
      fail,
      this.#queue,
    );
  }

  /** Takes parameter arguments (if any) and callbacks; new parameters restart `get`'s stepping. */
  #take(args: readonly unknown[], count: 1 | 2): (AnyCallback | undefined)[] {
    const { params, callbacks } = splitCallbacks(args, count);
    if (params.length > 0) {
      this.#args = params;
      this.#rows = undefined;
      this.#next = 0;
    }
    return callbacks;
  }

  /** A call that binds before it runs: a binding error goes to its callback. */
  #call(kind: 'read' | 'write', callback: AnyCallback | undefined, run: BoundJob, onError?: (error: Sqlite3Error) => void): this {
    let bound: Binding;
    try {
      bound = bindArguments(this.#text, this.#args);
    } catch (error) {
      this.#enqueue(kind, callback, () => Promise.reject(toError(error)), onError);
      return this;
    }
    this.#enqueue(kind, callback, (target, options, ran) => run(target, options, ran, bound), onError);
    return this;
  }

  /** Binds parameters for later calls (none given: keeps the current ones); `callback(err)`. */
  bind(...args: unknown[]): this {
    const [callback] = this.#take(args, 1);
    return this.#call('read', callback, () => Promise.resolve(invoke(callback, this, null)));
  }

  /** Rewinds `get` to the first row; `callback(err)`. */
  reset(callback?: (err: null) => void): this {
    const done = bindCallback(callback);
    this.#enqueue('read', done, () => {
      this.#rows = undefined;
      this.#next = 0;
      invoke(done, this, null);
      return Promise.resolve();
    });
    return this;
  }

  /** Releases the statement once its queued calls have finished; `callback()` then. Later calls fail with SQLITE_MISUSE. */
  finalize(callback?: () => void): Database {
    const done = bindCallback(callback);
    if (!this.#finalized) {
      this.#finalized = true;
      void this.#queue.then(() => invoke(done, this));
    } else {
      const error = sqlite3Error('MISUSE', 'Statement is already finalized');
      queueMicrotask(() => this.#db.deliverError(done, this, error, this));
    }
    return this.#db;
  }

  /** Runs it; `callback(err)` with `this.lastID` and `this.changes`. */
  run(...args: unknown[]): this {
    const [callback] = this.#take(args, 1);
    return this.#call('write', callback, async (target, options, ran, { sql, params }) => {
      const result = await target.run(sql, params, options);
      ran();
      this.lastID = Number(result.lastInsertRowid);
      this.changes = result.changes;
      invoke(callback, this, null);
    });
  }

  /** `callback(err, row)` with the next row (the first after new parameters or `reset`), or no row when done. */
  get(...args: unknown[]): this {
    const [callback] = this.#take(args, 1);
    return this.#call('read', callback, async (target, options, ran, { sql, params }) => {
      let row: Row | undefined;
      if (this.#oneShot) row = await target.get<Row>(sql, params, options);
      else {
        this.#rows ??= await target.all<Row>(sql, params, options);
        row = this.#rows[this.#next++];
      }
      ran();
      if (row === undefined) invoke(callback, this, null);
      else invoke(callback, this, null, row);
    });
  }

  /** `callback(err, rows)` with every row. */
  all(...args: unknown[]): this {
    const [callback] = this.#take(args, 1);
    return this.#call('read', callback, async (target, options, ran, { sql, params }) => {
      const rows = await target.all<Row>(sql, params, options);
      ran();
      invoke(callback, this, null, rows);
    });
  }

  /** `callback(err, map)`: rows keyed by their first column (the value: the second column, or the row when it has more). */
  map(...args: unknown[]): this {
    const [callback] = this.#take(args, 1);
    return this.#call('read', callback, async (target, options, ran, { sql, params }) => {
      const rows = await target.all<Row>(sql, params, options);
      ran();
      invoke(callback, this, null, toMap(rows));
    });
  }

  /**
   * `callback(err, row)` per row, then `complete(err, count)`. An error while
   * stepping goes to the row callback; for `Database#each`, one before any
   * row (the statement did not compile) goes to `complete`.
   */
  each(...args: unknown[]): this {
    const [onRow, complete] = this.#take(args, 2);
    let count = 0;
    const onError = (error: Sqlite3Error): void => {
      const compileError = this.#oneShot && count === 0 && complete !== undefined;
      this.#db.deliverError(compileError ? complete : onRow, this, error, this);
    };
    return this.#call(
      'read',
      onRow ?? complete,
      async (target, options, ran, { sql, params }) => {
        for await (const row of target.iterate<Row>(sql, params, options)) {
          count++;
          invoke(onRow, this, null, row);
        }
        ran();
        invoke(complete, this, null, count);
      },
      onError,
    );
  }
}

/** Set while {@link Statement.oneShot} constructs. */
let oneShotting = false;
