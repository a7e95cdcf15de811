/** The values that go into statements and come out of them. */

/** A value SQLite can bind: NULL, INTEGER/REAL (number, bigint), TEXT, BLOB (Buffer/Uint8Array). */
export type BindValue = null | number | bigint | string | Uint8Array;

/** Parameters, as better-sqlite3 takes them: positional (`?`, `?NNN`) or named (`:name`, `@name`, `$name`). */
export type Params = readonly BindValue[] | Readonly<Record<string, BindValue>>;

/** A result row: column name to value (number, bigint, string, Buffer, null). */
export type Row = Record<string, unknown>;

/** The outcome of `run`. */
export interface RunResult {
  /** Rows inserted, updated or deleted by the statement. */
  readonly changes: number;
  /** The rowid of the last inserted row (a bigint with `safeIntegers`). */
  readonly lastInsertRowid: number | bigint;
}

/** A chunk of a streamed result. */
export interface CursorChunk {
  readonly cursor: number;
  readonly rows: unknown[];
  readonly done: boolean;
}

/** Options of one call (`run`, `get`, `all`, `exec`, `iterate`). */
export interface QueryOptions {
  /**
   * Stops the call: while it waits in a queue it is removed; while its
   * statement runs, the statement is interrupted (and, inside a transaction,
   * the transaction is rolled back). Rejects with `ABORT_ERR`.
   */
  readonly signal?: AbortSignal;
  /**
   * Longest time the statement may run once it has started, in ms, for this
   * call; overrides the pool's `statementTimeoutMs`. 0: no limit.
   */
  readonly timeoutMs?: number;
}
