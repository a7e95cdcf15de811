/**
 * Prepared statements (`pool.prepare(sql)`): the SQL is checked once, when
 * prepared, and crosses to each connection once; each call then sends the
 * statement's id and its parameters. Its route (reader or writer) is learnt
 * on first use, as for any statement of the pool.
 */
import type { Params, QueryOptions, Row, RunResult } from '../types.js';
import type { Engine } from './engine.js';
import { POOL_SCOPE } from './scope.js';

/** A statement prepared with `pool.prepare(sql)`; use it as long as the pool is open. */
export interface PreparedStatement {
  /** The statement's SQL. */
  readonly sql: string;
  /** Runs it (it returns no rows, or they are ignored): `{ changes, lastInsertRowid }`. */
  run(params?: Params, options?: QueryOptions): Promise<RunResult>;
  /** Its first row, or undefined. */
  get<T = Row>(params?: Params, options?: QueryOptions): Promise<T | undefined>;
  /** All its rows. */
  all<T = Row>(params?: Params, options?: QueryOptions): Promise<T[]>;
  /** All its rows as arrays of column values, in column order. */
  values<T extends unknown[] = unknown[]>(params?: Params, options?: QueryOptions): Promise<T[]>;
  /** Streams its rows (see `Pool.iterate`). */
  iterate<T = Row>(params?: Params, options?: QueryOptions): AsyncIterableIterator<T>;
}

/** The pool's prepared statement (see {@link PreparedStatement}). */
export class PoolPreparedStatement implements PreparedStatement {
  readonly #id: number;

  constructor(
    private readonly engine: Engine,
    readonly sql: string,
  ) {
    this.#id = engine.prepareId(sql);
  }

  run(params?: Params, options?: QueryOptions): Promise<RunResult> {
    return this.engine.query('run', this.sql, params, options, POOL_SCOPE, this.#id) as Promise<RunResult>;
  }

  get<T = Row>(params?: Params, options?: QueryOptions): Promise<T | undefined> {
    return this.engine.query('get', this.sql, params, options, POOL_SCOPE, this.#id) as Promise<T | undefined>;
  }

  all<T = Row>(params?: Params, options?: QueryOptions): Promise<T[]> {
    return this.engine.query('all', this.sql, params, options, POOL_SCOPE, this.#id) as Promise<T[]>;
  }

  values<T extends unknown[] = unknown[]>(params?: Params, options?: QueryOptions): Promise<T[]> {
    return this.engine.query('values', this.sql, params, options, POOL_SCOPE, this.#id) as Promise<T[]>;
  }

  iterate<T = Row>(params?: Params, options?: QueryOptions): AsyncIterableIterator<T> {
    return this.engine.stream<T>(this.sql, params, options, POOL_SCOPE);
  }
}
