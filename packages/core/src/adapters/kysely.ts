/**
 * A Kysely dialect over a litepool pool:
 *
 * ```ts
 * import { Kysely } from 'kysely';
 * import { LitepoolDialect } from '@litepool/core/kysely';
 * const db = new Kysely<DB>({ dialect: new LitepoolDialect({ pool }) });
 * ```
 *
 * Queries go through the pool (reads to its readers, writes to its writer).
 * A Kysely transaction is a `pool.transaction` held until Kysely commits or
 * rolls back, so it keeps the writer across awaits and concurrent
 * transactions queue instead of interleaving. SQL is compiled by Kysely's own
 * SQLite compiler, adapter and introspector.
 *
 * @module @litepool/core/kysely
 */
import {
  CompiledQuery,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import { ArgumentError, type OpenTransaction, type Params, type Pool, type Queryable } from '../index.js';

/** Options of {@link LitepoolDialect}. */
export interface LitepoolDialectConfig {
  /** The pool to run on. The dialect does not close it when Kysely is destroyed unless `closePool` is true. */
  pool: Pool;
  /** Close the pool in `db.destroy()`. Default: false (the pool is yours). */
  closePool?: boolean;
}

/** Statements that return rows; others run with `run` (changes, last insert rowid). */
const RETURNS_ROWS = /^\s*(select|with|pragma|values|explain)\b|\breturning\b/i;

class LitepoolConnection implements DatabaseConnection {
  /** Set between beginTransaction and commit/rollback. */
  held: OpenTransaction | undefined;

  constructor(private readonly pool: Pool) {}

  get #target(): Queryable {
    return this.held ?? this.pool;
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const { sql } = compiledQuery;
    const params = compiledQuery.parameters as Params;
    if (RETURNS_ROWS.test(sql)) return { rows: await this.#target.all<R>(sql, params) };
    const { changes, lastInsertRowid } = await this.#target.run(sql, params);
    return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
  }

  async *streamQuery<R>(compiledQuery: CompiledQuery, chunkSize = 100): AsyncIterableIterator<QueryResult<R>> {
    let rows: R[] = [];
    for await (const row of this.#target.iterate<R>(compiledQuery.sql, compiledQuery.parameters as Params)) {
      rows.push(row);
      if (rows.length >= chunkSize) {
        yield { rows };
        rows = [];
      }
    }
    if (rows.length > 0) yield { rows };
  }
}

class LitepoolDriver implements Driver {
  constructor(private readonly config: LitepoolDialectConfig) {}

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new LitepoolConnection(this.config.pool);
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const mode = settings.accessMode === 'read only' ? 'read' : 'immediate';
    (connection as LitepoolConnection).held = await this.config.pool.begin({ mode });
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const held = this.#end(connection);
    await held.commit();
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const held = this.#end(connection);
    await held.rollback();
  }

  #end(connection: DatabaseConnection): OpenTransaction {
    const litepool = connection as LitepoolConnection;
    const held = litepool.held;
    if (held === undefined) throw new ArgumentError('No transaction is open on this connection');
    litepool.held = undefined;
    return held;
  }

  async savepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await this.#savepointCommand(connection, 'savepoint', name);
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await this.#savepointCommand(connection, 'rollback to', name);
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await this.#savepointCommand(connection, 'release', name);
  }

  async #savepointCommand(connection: DatabaseConnection, command: string, name: string): Promise<void> {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
      throw new ArgumentError(`Savepoint names must be plain identifiers, got ${JSON.stringify(name)}`);
    await connection.executeQuery(CompiledQuery.raw(`${command} "${name}"`));
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    // A connection given back with its transaction still open (Kysely failed midway): roll it back.
    const held = (connection as LitepoolConnection).held;
    if (held !== undefined) {
      (connection as LitepoolConnection).held = undefined;
      await held.rollback();
    }
  }

  async destroy(): Promise<void> {
    if (this.config.closePool === true) await this.config.pool.close();
  }
}

/** Kysely's dialect for a litepool pool. */
export class LitepoolDialect implements Dialect {
  readonly #config: LitepoolDialectConfig;

  /** @param config the pool (see {@link LitepoolDialectConfig}) */
  constructor(config: LitepoolDialectConfig) {
    if (typeof config?.pool?.transaction !== 'function') throw new ArgumentError('LitepoolDialect needs { pool } from createPool()');
    this.#config = { ...config };
  }

  /** Kysely calls it once: a driver that hands out pool-backed connections. */
  createDriver(): Driver {
    return new LitepoolDriver(this.#config);
  }

  /** Kysely's own SQLite compiler. */
  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }

  /** Kysely's own SQLite adapter. */
  createAdapter(): DialectAdapter {
    return new SqliteAdapter();
  }

  /** Kysely's own SQLite introspector. */
  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}
