/**
 * The query methods every handle offers (the pool, a session, a lease, a
 * transaction, a cross-thread client), written once over one `dispatch`.
 */
import type { Params, QueryOptions, Row, RunResult } from '../types.js';

/** The query methods shared by the pool, sessions, leases and transactions. */
export interface Queryable {
  /** Runs a statement that returns no rows (or ignores them). */
  run(sql: string, params?: Params, options?: QueryOptions): Promise<RunResult>;
  /** Runs a statement and returns its first row, or undefined. */
  get<T = Row>(sql: string, params?: Params, options?: QueryOptions): Promise<T | undefined>;
  /** Runs a statement and returns all its rows. */
  all<T = Row>(sql: string, params?: Params, options?: QueryOptions): Promise<T[]>;
  /**
   * Runs a statement and returns all its rows as arrays of column values, in
   * column order (for callers whose columns may share a name, as a join's two
   * `id` columns do).
   */
  values<T extends unknown[] = unknown[]>(sql: string, params?: Params, options?: QueryOptions): Promise<T[]>;
  /** Runs a script of one or more statements without parameters. */
  exec(sql: string, options?: QueryOptions): Promise<void>;
  /** Streams a statement's rows, a chunk per message; `break` stops the statement. A statement that fails yields the rows it stepped before the error, then throws it. */
  iterate<T = Row>(sql: string, params?: Params, options?: QueryOptions): AsyncIterableIterator<T>;
}

/** The one-shot statements every handle offers. */
export type StatementOp = 'run' | 'get' | 'all' | 'values' | 'exec';

/** `run`/`get`/`all`/`values`/`exec` on top of one `dispatch`, for the classes that implement {@link Queryable}. */
export abstract class QueryMethods {
  /** Sends one statement where this handle sends them. */
  protected abstract dispatch(
    op: StatementOp,
    sql: string,
    params: Params | undefined,
    options: QueryOptions | undefined,
  ): Promise<unknown>;

  /** Runs a statement that returns no rows (or ignores them). */
  run(sql: string, params?: Params, options?: QueryOptions): Promise<RunResult> {
    return this.dispatch('run', sql, params, options) as Promise<RunResult>;
  }

  /** Runs a statement and returns its first row, or undefined. */
  get<T = Row>(sql: string, params?: Params, options?: QueryOptions): Promise<T | undefined> {
    return this.dispatch('get', sql, params, options) as Promise<T | undefined>;
  }

  /** Runs a statement and returns all its rows. */
  all<T = Row>(sql: string, params?: Params, options?: QueryOptions): Promise<T[]> {
    return this.dispatch('all', sql, params, options) as Promise<T[]>;
  }

  /** Runs a statement and returns all its rows as arrays of column values, in column order. */
  values<T extends unknown[] = unknown[]>(sql: string, params?: Params, options?: QueryOptions): Promise<T[]> {
    return this.dispatch('values', sql, params, options) as Promise<T[]>;
  }

  /** Runs a script of one or more statements without parameters. */
  exec(sql: string, options?: QueryOptions): Promise<void> {
    return this.dispatch('exec', sql, undefined, options) as Promise<void>;
  }
}
