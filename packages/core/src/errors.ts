/**
 * Every error litepool raises is a {@link LitepoolError} with a stable `code`.
 * Errors SQLite raised keep SQLite's extended code (`SQLITE_BUSY`,
 * `SQLITE_CONSTRAINT_UNIQUE`, …) and carry the driver's error as `cause`.
 */

/** Stable codes of litepool's own errors (SQLite errors use SQLite's codes). */
export type LitepoolErrorCode =
  | 'ERR_POOL_CLOSED'
  | 'ERR_ACQUIRE_TIMEOUT'
  | 'ERR_QUEUE_FULL'
  | 'ERR_WORKER_CRASHED'
  | 'ERR_INVALID_OPTIONS'
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_TRANSACTION_CLOSED'
  | 'ERR_READ_ONLY'
  | 'ERR_QUERY'
  | 'ERR_STRATEGY_UNSUPPORTED'
  | 'ERR_LOCK_COMPROMISED'
  | 'ERR_STATEMENT_TIMEOUT'
  | 'ERR_TRANSACTION_CONTROL'
  | 'ERR_TRANSACTION_ABORTED'
  | 'ERR_CONNECTION_STATE'
  | 'ERR_SETUP'
  | 'ERR_COMMIT_UNKNOWN'
  | 'ABORT_ERR';

/** Brand shared by every copy of this package (loaders such as tsx can load a second copy). */
const BRAND = Symbol.for('litepool.error');

/**
 * Base class of every error litepool raises. `instanceof` works across copies
 * of the package (as undici's errors do): it checks a global brand and the
 * class names of the error's prototype chain.
 */
export class LitepoolError extends Error {
  /** `instanceof` for this class and its subclasses, across copies of the package (see the class description). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== 'object' || value === null || !(BRAND in value)) return false;
    for (let proto: unknown = Object.getPrototypeOf(value); proto !== null; proto = Object.getPrototypeOf(proto)) {
      if ((proto as { constructor?: { name?: string } }).constructor?.name === this.name) return true;
    }
    return false;
  }

  /** @internal The brand `instanceof` checks. */
  get [BRAND](): true {
    return true;
  }

  /** A stable, machine-readable code: litepool's `ERR_*` or SQLite's `SQLITE_*`. */
  readonly code: string;

  /**
   * @param message what went wrong, for people
   * @param code the stable code
   * @param options `cause`: the underlying error, when there is one
   */
  constructor(message: string, code: string, options?: { cause?: unknown }) {
    // No own `cause` when there is none (util.inspect would print `[cause]: undefined`).
    super(message, options?.cause === undefined ? undefined : options);
    this.code = code;
  }

  /** The class's name (`SqliteError`, `AcquireTimeoutError`, …), as in `error.name`. */
  override get name(): string {
    return this.constructor.name;
  }
}

/** SQLite raised this error; `code` is SQLite's extended result code name. */
export class SqliteError extends LitepoolError {
  /**
   * For a write that failed while it ran (a local pool's statement, not a
   * script or procedure): SQLite's count of changes after it,
   * `sqlite3_changes()`, the rows it changed that stay (what ON CONFLICT FAIL
   * or a trigger's RAISE(FAIL) left; 0 where SQLite undid the statement).
   * Undefined otherwise.
   */
  declare readonly changes?: number;
  /**
   * For such a write that inserted rows before it failed: the rowid of the
   * last one, `sqlite3_last_insert_rowid()` (SQLite moves it even for a row
   * it then undoes). Undefined otherwise.
   */
  declare readonly lastInsertRowid?: number | bigint;

  /**
   * @param message SQLite's message
   * @param code SQLite's extended result code name
   * @param options `cause`: the driver's error; `changes`, `lastInsertRowid`: see the properties
   */
  constructor(
    message: string,
    code: string,
    options?: { cause?: unknown; changes?: number | undefined; lastInsertRowid?: number | bigint | undefined },
  ) {
    super(message, code, options);
    // Set only when known, so an error without them has no such keys.
    if (options?.changes !== undefined) Object.assign(this, { changes: options.changes });
    if (options?.lastInsertRowid !== undefined) Object.assign(this, { lastInsertRowid: options.lastInsertRowid });
  }
}

/** A statement failed outside SQLite: wrong parameter count or type, `get()` on a statement that returns no data, … */
export class QueryError extends LitepoolError {
  /** @param message the driver's message @param options the driver's error as `cause` */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_QUERY', options);
  }
}

/** The pool is closing or closed (or destroyed): no new work is accepted. */
export class PoolClosedError extends LitepoolError {
  /** @param message why @param options the destroy reason as `cause`, if any */
  constructor(message = 'The pool is closed', options?: { cause?: unknown }) {
    super(message, 'ERR_POOL_CLOSED', options);
  }
}

/** No connection became free within `acquireTimeoutMs`; `cause` is the last underlying failure, if any. */
export class AcquireTimeoutError extends LitepoolError {
  /** @param timeoutMs the limit that passed @param options the last underlying failure as `cause` */
  constructor(timeoutMs: number, options?: { cause?: unknown }) {
    super(`No connection became free within ${timeoutMs} ms (acquireTimeoutMs)`, 'ERR_ACQUIRE_TIMEOUT', options);
  }
}

/** More than `maxQueue` requests were already waiting. */
export class QueueFullError extends LitepoolError {
  /** @param maxQueue the limit that was reached */
  constructor(maxQueue: number) {
    super(`The queue is full: ${maxQueue} requests are already waiting (maxQueue)`, 'ERR_QUEUE_FULL');
  }
}

/** The worker thread that ran the request died (crash, uncaught exception, out of memory); it is replaced. */
export class WorkerCrashedError extends LitepoolError {
  /** @param message what the worker did @param options the worker's error as `cause` */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_WORKER_CRASHED', options);
  }
}

/** The pool options (or a strategy's options) are invalid. */
export class OptionsError extends LitepoolError {
  /** @param message the exact problem, naming the option */
  constructor(message: string) {
    super(message, 'ERR_INVALID_OPTIONS');
  }
}

/** A call received an argument of the wrong type or shape. */
export class ArgumentError extends LitepoolError {
  /** @param message the exact problem, naming the argument */
  constructor(message: string) {
    super(message, 'ERR_INVALID_ARGUMENT');
  }
}

/**
 * A transaction or lease was misused, or lost:
 * - `ERR_TRANSACTION_CLOSED`: used after it settled or was released;
 * - `ERR_READ_ONLY`: asked to write on a read-only connection;
 * - `ERR_TRANSACTION_CONTROL`: BEGIN, COMMIT, ROLLBACK, SAVEPOINT or RELEASE
 *   where the pool manages the transaction (a one-shot call, a transaction
 *   callback);
 * - `ERR_TRANSACTION_ABORTED`: SQLite had already rolled the transaction back
 *   (after an interrupt, SQLITE_FULL or an I/O error); nothing of it was committed.
 */
export class TransactionError extends LitepoolError {}

/**
 * A statement that changes its connection rather than the database (a
 * connection-scoped PRAGMA, ATTACH, DETACH, CREATE TEMP …) was sent where it
 * would reach an arbitrary connection of the pool or leak to the next caller:
 * set PRAGMAs with `createPool({ pragmas })` or a setup module, or run such
 * statements on a lease (`pool.acquire()`), whose connection is reset when released.
 */
export class ConnectionStateError extends LitepoolError {
  /** @param message the statement and where to run it instead */
  constructor(message: string) {
    super(message, 'ERR_CONNECTION_STATE');
  }
}

/**
 * A statement ran longer than its limit (`statementTimeoutMs`, or the call's
 * `timeoutMs`) and was interrupted: it made no change, and a transaction it
 * ran in was rolled back.
 */
export class StatementTimeoutError extends LitepoolError {
  /** @param timeoutMs the limit that passed @param options what happened to the statement as `cause`, if known */
  constructor(timeoutMs: number, options?: { cause?: unknown }) {
    super(`The statement ran longer than ${timeoutMs} ms and was interrupted (statementTimeoutMs)`, 'ERR_STATEMENT_TIMEOUT', options);
  }
}

/** The strategy cannot run on this database (WAL on a network filesystem, …): `ERR_STRATEGY_UNSUPPORTED`. */
export class StrategyError extends LitepoolError {}

/**
 * The cross-process lock was lost while work ran under it (another process
 * took it over). The work was rolled back; nothing was written after the loss.
 */
export class LockCompromisedError extends LitepoolError {
  /** @param message what happened @param options the lock library's error as `cause` */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_LOCK_COMPROMISED', options);
  }
}

/**
 * The pool's `setup` (or `procedures`) module could not be loaded, or its
 * setup function threw, on a connection: that connection did not open, and
 * the calls waiting for it fail with this error (the module is named in the
 * message; the original error is `cause`). The next call tries again.
 */
export class SetupError extends LitepoolError {
  /** @param message the module and what failed @param options the module's error as `cause` */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_SETUP', options);
  }
}

/**
 * A write was under way when its connection was lost (its worker thread
 * died, its dqlite leader went away) and no answer came: it may or may not
 * have committed. Nothing else is ever reported this way: a rejection with
 * any other error means the write is not in the database. The app decides:
 * read to see whether it took effect, or make the write idempotent and run it
 * again. `cause`: what happened to the connection.
 */
export class CommitUnknownError extends LitepoolError {
  /** @param message what was lost @param options what happened to the connection as `cause` */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_COMMIT_UNKNOWN', options);
  }
}

/** The caller's `AbortSignal` fired; `cause` is the signal's reason. */
export class AbortError extends LitepoolError {
  /** @param options the signal's reason as `cause` */
  constructor(options?: { cause?: unknown }) {
    super('The operation was aborted', 'ABORT_ERR', options);
  }
}

/** Built-in error classes, by name. */
const BUILT_IN_ERRORS: Readonly<Record<string, ErrorConstructor>> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/**
 * An error from another thread, rebuilt: a built-in class as that
 * class, another as an Error keeping its `name`; with its `code` and, if
 * given, its stack.
 */
export function errorNamed(name: string, message: string, code: string | undefined, stack?: string): Error {
  const Class = BUILT_IN_ERRORS[name] ?? Error;
  const error = new Class(message);
  if (Class === Error && name !== 'Error') Object.defineProperty(error, 'name', { value: name, configurable: true, writable: true });
  if (code !== undefined) Object.assign(error, { code });
  if (stack !== undefined) error.stack = stack;
  return error;
}

/** `value` as an Error (a non-Error thrown value wrapped), for rejections. */
export function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
