/**
 * Prepared statements (`pool.prepare(sql)`): the SQL is checked once, when
 * prepared, and crosses to each connection once; each call then sends the
 * statement's id and its parameters. Its route (reader or writer) is learnt
 * on first use, as for any statement of the pool.
 */
import type { Params, QueryOptions, Row, RunResult } from '../types.js';
import { POOL_SCOPE, type Pool } from './pool.js';

/** A statement prepared with {@link Pool.prepare}; use it as long as the pool is open. */
export class PreparedStatement {
  /** The statement's SQL. */
  readonly sql: string;
  readonly #pool: Pool;
  readonly #id: number;

  /** @internal Use {@link Pool.prepare}. */
  constructor(pool: Pool, sql: string, id: number) {
    this.#pool = pool;
    this.sql = sql;
    this.#id = id;
  }

  /** Runs it (it returns no rows, or they are ignored): `{ changes, lastInsertRowid }`. */
  run(params?: Params, options?: QueryOptions): Promise<RunResult> {
    return this.#pool.query('run', this.sql, params, options, POOL_SCOPE, this.#id) as Promise<RunResult>;
  }

  /** Its first row, or undefined. */
  get<T = Row>(params?: Params, options?: QueryOptions): Promise<T | undefined> {
    return this.#pool.query('get', this.sql, params, options, POOL_SCOPE, this.#id) as Promise<T | undefined>;
  }

  /** All its rows. */
  all<T = Row>(params?: Params, options?: QueryOptions): Promise<T[]> {
    return this.#pool.query('all', this.sql, params, options, POOL_SCOPE, this.#id) as Promise<T[]>;
  }

  /** All its rows as arrays of column values, in column order. */
  values<T extends unknown[] = unknown[]>(params?: Params, options?: QueryOptions): Promise<T[]> {
    return this.#pool.query('values', this.sql, params, options, POOL_SCOPE, this.#id) as Promise<T[]>;
  }

  /** Streams its rows (see {@link Pool.iterate}). */
  iterate<T = Row>(params?: Params, options?: QueryOptions): AsyncIterableIterator<T> {
    return this.#pool.iterate<T>(this.sql, params, options);
  }
}
