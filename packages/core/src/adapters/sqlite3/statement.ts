/**
 * node-sqlite3's `Statement`: compiled once, then run any number of times with
 * the parameters bound last. Its calls run one at a time, in the order made;
 * `finalize` waits for them. As node-sqlite3's, it runs only the first statement
 * of its SQL, and keeps its database from closing until it is finalized.
 */
import { type QueryOptions, type Row } from '../../index.js';
import { bindCallback, invoke, splitCallbacks, type AnyCallback } from './callbacks.js';
import type { Kind } from './call-order.js';
import { RANGE, type Sqlite3Error } from './constants.js';
import { EmitterBase, hiddenField } from './emitter-base.js';
import { sqlite3Error, toSqlite3Error } from './error-shape.js';
import type { Link } from './link.js';
import { settles, type Issued } from './queued-run.js';
import type { Target } from './target.js';
import { linkOf } from './link-registry.js';
import { toMap } from './map-rows.js';
import { argumentsKept, bindArguments, bindsNothing } from './params.js';
import { NO_STATEMENT, returnsRows, textToRun } from './statement-text.js';
import { StepCursor } from './step-cursor.js';
import { Compilation } from './statement-compile.js';
import { Finalizing, StatementCall, type Binding, type BoundOperation, type CallHost, type RunContext } from './statement-call.js';

export type { RunContext } from './statement-call.js';

/** Set while {@link Statement.oneShot} constructs. */
let oneShotting = false;
/** What a statement starts with when nothing waits for it to compile (settled promises: one for every statement). */
const COMPILES = Promise.resolve(true);
const NOTHING_QUEUED = Promise.resolve();
const NOTHING_CHANGED = { changes: 0, lastInsertRowid: 0 }; // what a query's run changed (RunCounters#record)

/** A prepared statement: bound parameters kept across calls until the next `bind` or call with parameters. */
export class Statement extends EmitterBase implements RunContext {
  /** The statement's SQL. */
  declare readonly sql: string;
  /** Set by `run` (absent before, as in node-sqlite3): the rowid of the last row inserted on its connection. */
  declare lastID: number;
  /** Set by `run` (absent before): rows changed. */
  declare changes: number;

  readonly #db: object;
  readonly #link: Link;
  /** The statement node-sqlite3 would compile: the first of the SQL. */
  readonly #text: string;
  /** Whether it is a plain query (SELECT, VALUES), known at its first `get`. */
  #query: boolean | undefined;
  /** Whether it compiled, for a statement compiled at once (false: its calls are dropped, as node-sqlite3 drops them). */
  readonly #prepared: Promise<boolean>;
  /** Whether it compiles, as far as known. */
  readonly #compilation: Compilation;
  /** Its calls not yet answered, and its finalize. */
  readonly #finalizing = new Finalizing();
  /** Made by `Database#run` and friends: compile errors reach the call's callback. */
  readonly #oneShot: boolean;
  /** The parameter arguments bound last. */
  #args: unknown[] = [];
  /** Where `get` is in the rows of each binding. */
  readonly #cursor = new StepCursor();
  /** Settles when its last call has; and when its last call but a write has. */
  #queue: Issued;
  #beforeWrites: Issued | undefined;
  /** How its queued calls run and fail (one object per statement, shared by its calls). */
  readonly #host: CallHost = {
    perform: (call, target, options, ran) => this.#perform(call, target, options, ran),
    failed: (call, error) => this.#failed(call, error),
  };

  /**
   * node-sqlite3's `new Statement(db, sql, callback?)`; usually made by
   * `Database#prepare`. `callback(err)` once it is compiled.
   */
  constructor(db: object, sql: string, callback?: (err: Sqlite3Error | null) => void) {
    super();
    this.#link = linkOf(db);
    if (typeof sql !== 'string') throw new TypeError('SQL query expected');
    if (callback !== undefined && typeof callback !== 'function') throw new TypeError('Callback expected');
    hiddenField(this, 'sql', sql);
    this.#db = db;
    this.#text = textToRun(sql);
    this.#oneShot = oneShotting;
    this.#compilation = new Compilation(this.#link, this, this.#text);
    // An empty statement holds nothing in SQLite: it does not keep the database from closing (nor does a one-shot).
    if (!this.#oneShot && this.#text !== NO_STATEMENT) this.#link.handles.hold(this, true);
    if (this.#oneShot || callback === undefined) {
      // Nobody waits to hear that it compiled: its first call compiles it (see Compilation), saving a round trip.
      this.#prepared = COMPILES;
      this.#queue = NOTHING_QUEUED;
      return;
    }
    this.#queue = this.#beforeWrites = this.#link.schedule(
      `EXPLAIN ${this.#text}`,
      'compile',
      this.#compilation.check(bindCallback(callback)),
    );
    this.#prepared = settles(this.#queue).then(() => this.#compilation.compiled);
  }

  /**
   * node-sqlite3 compiles at prepare and emits a failure on the statement.
   * One prepared without a callback is compiled by its first call (nothing
   * else waits to hear), unless an `'error'` listener is added first: then
   * it is compiled at once, after the calls queued before, and a failure
   * (SQLITE_ERROR, as a compile's) reaches that listener.
   */
  #checkCompiles(event: string | symbol): void {
    const { checked, compiled, broken } = this.#compilation;
    if (event !== 'error' || this.#oneShot || checked || compiled || broken || this.#text === NO_STATEMENT || this.#finalizing.requested)
      return;
    this.#queue = this.#beforeWrites = this.#link.schedule(`EXPLAIN ${this.#text}`, 'compile', this.#compilation.check(), this.#queue);
  }

  static {
    // EventEmitter's ways to listen, each also asking for the compile check when the event is 'error'.
    type Listen = (this: Statement, event: string | symbol, listener: unknown) => Statement;
    const prototype = this.prototype as unknown as Record<'on' | 'addListener' | 'once', Listen>;
    for (const name of ['on', 'addListener', 'once'] as const) {
      const listen = prototype[name];
      prototype[name] = function (event, listener) {
        this.#checkCompiles(event);
        return listen.call(this, event, listener);
      };
    }
  }

  /** The statement behind `Database#run` and friends: compiled with its call, errors to that call's callback. */
  static oneShot(db: object, sql: string): Statement {
    oneShotting = true;
    try {
      return new this(db, sql);
    } finally {
      oneShotting = false;
    }
  }

  /**
   * Queues one call: after the statement's earlier calls, in its database's
   * order. Dropped if the statement did not compile; refused after `finalize`.
   * `operation` runs with the statement as `this`, given the call (its
   * binding, if it binds, and the binding's place for `get`).
   */
  #enqueue(
    kind: Kind,
    callback: AnyCallback | undefined,
    operation: BoundOperation,
    onError?: (error: Sqlite3Error) => void,
    runsSql = true,
    bound?: Binding,
    generation = 0,
  ): void {
    if (this.#finalizing.requested) {
      const error = sqlite3Error('MISUSE', 'Statement is already finalized');
      return this.#finalizing.late(() => this.#fail(callback, onError, error));
    }
    this.#finalizing.add();
    // Its calls run in the order made: a write waits for the calls before it but for writes, which the writer runs in order anyway.
    // A one-shot statement has this one call: nothing of its own to wait for.
    const after = this.#oneShot ? undefined : kind === 'write' ? this.#beforeWrites : this.#queue;
    const call = new StatementCall(this.#host, operation, callback, onError, bound, generation, runsSql);
    this.#queue = this.#link.schedule(this.#text, kind, call, after);
    if (kind !== 'write') this.#beforeWrites = this.#queue;
  }

  /** Runs one of its queued calls, once it is known to compile (a call of a statement that did not is dropped). */
  async #perform(call: StatementCall, target: Target, options: QueryOptions, ran: () => void): Promise<void> {
    if (!(await this.#prepared) || this.#compilation.broken) return this.#callDone();
    try {
      // The operation answers through #answer, which counts the call done.
      await call.operation.call(this, target, options, ran, call);
      if (call.runsSql) this.#compilation.compiled = true;
    } catch (error) {
      const compilation = this.#compilation;
      if (compilation.broken || (!this.#oneShot && (await compilation.callFailed(target, options, error)))) return this.#callDone();
      throw error;
    }
  }

  /** One of its queued calls failed. */
  #failed(call: StatementCall, error: Sqlite3Error): void {
    // A write that failed while it ran zeroes SQLite's count of changes, whichever method ran it.
    this.#link.counters.failed(this.#text, error);
    this.#fail(call.callback, call.onError, error);
    this.#callDone();
  }

  /** A call's error: to its own handler if it has one, else node-sqlite3's way (its callback, or an `error` event). */
  #fail(callback: AnyCallback | undefined, onError: ((error: Sqlite3Error) => void) | undefined, error: Sqlite3Error): void {
    if (onError === undefined) this.#link.deliverError(callback, this, error, this);
    else onError(error);
  }

  /** A call's success: its callback, then (in the same turn) what waits for its calls to be done. */
  #answer(callback: AnyCallback | undefined, ...args: unknown[]): void {
    invoke(callback, this, ...args);
    this.#callDone();
  }

  /** A call has delivered its outcome: once the last has, a requested finalize completes, in the same turn (as in node-sqlite3). */
  #callDone(): void {
    this.#finalizing.answered();
  }

  /** Takes parameter arguments (if any) and callbacks; new parameters start a new binding (a `get` starts over). */
  #take(args: readonly unknown[], count: 1 | 2): (AnyCallback | undefined)[] {
    const { params, callbacks } = splitCallbacks(args, count);
    if (!bindsNothing(params)) {
      this.#args = params;
      this.#cursor.rebind();
    }
    return callbacks;
  }

  /** A call that binds before it runs (`bind` itself: `binds`): a binding error goes to its callback. */
  #call(kind: Kind, callback: AnyCallback | undefined, run: BoundOperation, onError?: (error: Sqlite3Error) => void, binds = false): this {
    let bound: Binding;
    try {
      // SQLite compiles an empty statement to nothing; node-sqlite3 then fails each call that runs it as a misuse.
      if (this.#text === NO_STATEMENT && !binds) throw sqlite3Error('MISUSE', 'not an error');
      bound = bindArguments(this.#text, this.#args);
    } catch (error) {
      // The values bound before the one that failed stay bound (node-sqlite3 binds in order), for calls without values.
      if (this.#text !== NO_STATEMENT) this.#args = argumentsKept(this.#text, this.#args);
      this.#enqueue(kind, callback, () => Promise.reject(toSqlite3Error(error)), onError);
      return this;
    }
    this.#enqueue(kind, callback, run, onError, true, bound, this.#cursor.generation);
    return this;
  }

  /** Binds parameters for later calls (none given: keeps the current ones); `callback(err)`. */
  bind(...args: unknown[]): this {
    const [callback] = this.#take(args, 1);
    // 'compile': it runs nothing (no trace event; a prepared BEGIN bound begins nothing).
    return this.#call(
      'compile',
      callback,
      async (target, options) => {
        // A statement prepared without a callback is compiled by its first call: bind is one.
        if (!this.#compilation.compiled && !this.#oneShot) await this.#compilation.explain(target, options);
        this.#answer(callback, null);
      },
      undefined,
      true,
    );
  }

  /** Rewinds `get` to the first row; `callback(err)`. */
  reset(callback?: (err: null) => void): this {
    const done = bindCallback(callback);
    const generation = this.#cursor.rebind();
    this.#enqueue(
      'compile',
      done,
      () => {
        this.#cursor.rewind(generation);
        this.#answer(done, null);
        return Promise.resolve();
      },
      undefined,
      false,
    );
    return this;
  }

  /** Releases the statement once its queued calls have finished; `callback()` then. Later calls fail with SQLITE_MISUSE. */
  finalize(callback?: () => void): object {
    const done = bindCallback(callback);
    if (this.#finalizing.requested) {
      const error = sqlite3Error('MISUSE', 'Statement is already finalized');
      this.#finalizing.late(() => this.#link.deliverError(done, this, error, this));
    } else if (this.#oneShot) {
      this.#finalizing.requested = true; // a one-shot statement holds nothing: its call is already the link's work
    } else {
      // A call that joined a run of queued calls has answered when none is left: only a compile under way is waited for.
      const settled = this.#queue instanceof Promise ? this.#queue : this.#prepared;
      const finished = this.#finalizing.request(settled, () => {
        this.#link.handles.letGo(this);
        return () => invoke(done, this);
      });
      this.#link.pending(finished);
    }
    return this.#db;
  }

  /** Runs it; `callback(err)` with `this.lastID` and `this.changes`. */
  run(...args: unknown[]): this {
    const [callback] = this.#take(args, 1);
    return this.#call('write', callback, this.#runOnce);
  }

  async #runOnce(target: Target, options: QueryOptions, ran: () => void, { bound, generation, callback }: StatementCall): Promise<void> {
    const { sql, params } = bound!;
    if (!this.#oneShot && this.#isQuery()) {
      // A query's run steps it once: whether it found a row decides what `get` finds next. It moves no counter.
      const row = await target.get<Row>(sql, params, options);
      ran();
      this.#cursor.steppedOnce(generation, row);
      this.#link.counters.record(sql, NOTHING_CHANGED, this);
      this.#answer(callback, null);
      return;
    }
    const result = await target.run(sql, params, options);
    ran();
    if (!this.#oneShot) this.#cursor.exhaust(generation); // a one-shot has no later `get` to place
    this.#link.counters.record(sql, result, this);
    this.#answer(callback, null);
  }

  /** `callback(err, row)` with the next row (the first after new parameters or `reset`), or no row when done. */
  get(...args: unknown[]): this {
    const [callback] = this.#take(args, 1);
    return this.#call('read', callback, this.#nextRow);
  }

  async #nextRow(target: Target, options: QueryOptions, ran: () => void, { bound, generation, callback }: StatementCall): Promise<void> {
    const { sql, params } = bound!;
    const row = this.#oneShot ? await target.get<Row>(sql, params, options) : await this.#step(target, options, bound!, generation);
    ran();
    if (row === undefined) this.#answer(callback, null);
    else this.#answer(callback, null, row);
  }

  /** Whether it is a plain query (SELECT, VALUES), read from its text once. */
  #isQuery(): boolean {
    return (this.#query ??= returnsRows(this.#text));
  }

  /** The next row of a statement's binding (see StepCursor): a query's first row is read alone. */
  #step(target: Target, options: QueryOptions, { sql, params }: Binding, generation: number): Promise<Row | undefined> {
    const first = this.#isQuery() ? () => target.get<Row>(sql, params, options) : undefined;
    return this.#cursor.next(generation, () => target.all<Row>(sql, params, options), first);
  }

  /** `callback(err, rows)` with every row. */
  all(...args: unknown[]): this {
    return this.#everyRow(args, (rows) => rows);
  }

  /** `callback(err, map)`: rows keyed by their first column (the value: the second column, or the row when it has more). */
  map(...args: unknown[]): this {
    return this.#everyRow(args, toMap);
  }

  /** Reads every row (the cursor is then at the end) and answers with them as `shape` gives them. */
  #everyRow(args: readonly unknown[], shape: (rows: Row[]) => unknown): this {
    const [callback] = this.#take(args, 1);
    return this.#call('read', callback, async (target, options, ran, { bound, generation }) => {
      const { sql, params } = bound!;
      const rows = await target.all<Row>(sql, params, options);
      ran();
      this.#cursor.exhaust(generation);
      this.#answer(callback, null, shape(rows));
    });
  }

  /**
   * `callback(err, row)` per row, then `complete(err, count)`. An error while
   * binding or stepping goes to the row callback after the rows stepped before
   * it, then `complete(null, count)`; for `Database#each`, one before any row
   * that is not a binding error (it did not compile) goes to `complete` alone.
   */
  each(...args: unknown[]): this {
    const [onRow, complete] = this.#take(args, 2);
    let count = 0;
    /** A one-shot's error before any row came from a statement that compiles (a constraint, a function's error). */
    let stepped = false;
    // node-sqlite3's routing: a one-shot each's error before any row (its compile error) goes to `complete` alone; any
    // other to the row callback, after the rows stepped before it, then `complete` with no error and the rows' count.
    const onError = (error: Sqlite3Error): void => {
      const binding = error.errno === RANGE || this.#text === NO_STATEMENT;
      if (count === 0 && complete !== undefined && this.#oneShot && !binding && !stepped) {
        this.#link.deliverError(complete, this, error, this);
        return;
      }
      this.#link.deliverError(onRow, this, error, this);
      invoke(complete, this, null, count);
    };
    return this.#call(
      'read',
      onRow ?? complete,
      async (target, options, ran, { bound, generation }) => {
        const { sql, params } = bound!;
        try {
          for await (const row of target.iterate<Row>(sql, params, options)) {
            count++;
            invoke(onRow, this, null, row);
          }
        } catch (error) {
          if (count === 0 && this.#oneShot) stepped = await this.#compilation.compiles(target, options, error);
          throw error;
        }
        ran();
        this.#cursor.exhaust(generation);
        this.#answer(complete, null, count);
      },
      onError,
    );
  }
}
