/**
 * A Drizzle ORM driver over a litepool pool:
 *
 * ```ts
 * import { drizzle, migrate } from '@litepool/core/drizzle';
 * const db = drizzle(pool, { schema });
 * await migrate(db, { migrationsFolder: './drizzle' });
 * await db.transaction(async (tx) => { … await … });
 * ```
 *
 * Queries go through the pool (reads to its readers, writes to its writer);
 * rows of selects come back as arrays ({@link Pool.values}) so Drizzle maps
 * joined columns that share a name. `db.transaction(async (tx) => …)` is a
 * `pool.transaction`: it holds the writer across awaits, and concurrent
 * transactions queue instead of interleaving (Drizzle's better-sqlite3
 * driver cannot await inside a transaction at all). Nested transactions are
 * savepoints.
 *
 * @module @litepool/core/drizzle
 */
import * as drizzleCore from 'drizzle-orm';
import {
  DefaultLogger,
  NoopLogger,
  createTableRelationsHelpers,
  entityKind,
  extractTablesRelationalConfig,
  fillPlaceholders,
  type DrizzleConfig,
  type ExtractTablesWithRelations,
  type Logger,
  type Query,
  type RelationalSchemaConfig,
  type TablesRelationalConfig,
} from 'drizzle-orm';
import { readMigrationFiles, type MigrationConfig } from 'drizzle-orm/migrator';
import {
  BaseSQLiteDatabase,
  SQLiteAsyncDialect,
  SQLitePreparedQuery,
  SQLiteSession,
  SQLiteTransaction,
  type PreparedQueryConfig,
  type SQLiteExecuteMethod,
  type SQLiteTransactionConfig,
  type SelectedFieldsOrdered,
} from 'drizzle-orm/sqlite-core';
import { ArgumentError, type Params, type Pool, type Queryable, type RunResult, type Session, type Transaction } from '../index.js';

/** What statements run on: the pool, a session of it, or (inside `db.transaction`) the transaction. */
type Target = Pool | Session | Transaction;

/** Drizzle's row mapper: exported by drizzle-orm at runtime, left out of its type declarations. */
type MapResultRow = (columns: SelectedFieldsOrdered, row: unknown[], joinsNotNullableMap: Record<string, boolean> | undefined) => unknown;
const { mapResultRow } = drizzleCore as unknown as { mapResultRow: MapResultRow };

/** A row mapper Drizzle builds for relational queries. */
type CustomResultMapper = (rows: unknown[][], mapColumnValue?: (value: unknown) => unknown) => unknown;

/** Drizzle's error wrapping and query cache, which its drivers call; internal to drizzle-orm, hence looked up. */
interface CachingQuery {
  queryWithCache?: (sql: string, params: unknown[], query: () => Promise<unknown>) => Promise<unknown>;
}

/** A statement Drizzle prepared, run through litepool. */
class LitepoolPreparedQuery extends SQLitePreparedQuery<PreparedQueryConfig & { type: 'async' }> {
  static override readonly [entityKind]: string = 'LitepoolPreparedQuery';
  /** Set by Drizzle's select builder: which joined tables may be all-NULL. */
  joinsNotNullableMap?: Record<string, boolean>;

  constructor(
    private readonly target: Target,
    query: Query,
    private readonly logger: Logger,
    private readonly fields: SelectedFieldsOrdered | undefined,
    executeMethod: SQLiteExecuteMethod,
    private readonly arrayMode: boolean,
    private readonly customResultMapper: CustomResultMapper | undefined,
  ) {
    super('async', executeMethod, query);
  }

  /** Runs `query` through Drizzle's own wrapper (which reports failures as DrizzleQueryError). */
  #call<T>(params: unknown[], query: () => Promise<T>): Promise<T> {
    const { queryWithCache } = this as unknown as CachingQuery;
    this.logger.logQuery(this.query.sql, params);
    return typeof queryWithCache === 'function' ? (queryWithCache.call(this, this.query.sql, params, query) as Promise<T>) : query();
  }

  #params(placeholderValues: Record<string, unknown> | undefined): unknown[] {
    return fillPlaceholders(this.query.params, placeholderValues ?? {});
  }

  run(placeholderValues?: Record<string, unknown>): Promise<RunResult> {
    const params = this.#params(placeholderValues);
    return this.#call(params, () => this.target.run(this.query.sql, params as Params));
  }

  async all(placeholderValues?: Record<string, unknown>): Promise<unknown[]> {
    if (this.fields === undefined && this.customResultMapper === undefined) {
      const params = this.#params(placeholderValues);
      return this.#call(params, () => this.target.all(this.query.sql, params as Params));
    }
    return this.mapAllResult(await this.values(placeholderValues)) as unknown[];
  }

  override mapAllResult(rows: unknown): unknown {
    const arrays = rows as unknown[][];
    if (this.customResultMapper !== undefined) return this.customResultMapper(arrays);
    if (this.fields === undefined) return arrays;
    return arrays.map((row) => mapResultRow(this.fields!, row, this.joinsNotNullableMap));
  }

  async get(placeholderValues?: Record<string, unknown>): Promise<unknown> {
    if (this.fields === undefined && this.customResultMapper === undefined) {
      const params = this.#params(placeholderValues);
      return this.#call(params, () => this.target.get(this.query.sql, params as Params));
    }
    return this.mapGetResult(await this.values(placeholderValues));
  }

  override mapGetResult(rows: unknown): unknown {
    const arrays = rows as unknown[][];
    const [row] = arrays;
    if (row === undefined) return undefined;
    if (this.customResultMapper !== undefined) return this.customResultMapper(arrays);
    if (this.fields === undefined) return row;
    return mapResultRow(this.fields, row, this.joinsNotNullableMap);
  }

  values(placeholderValues?: Record<string, unknown>): Promise<unknown[][]> {
    const params = this.#params(placeholderValues);
    return this.#call(params, () => this.target.values(this.query.sql, params as Params));
  }

  /** @internal Drizzle asks whether rows come back as arrays. */
  isResponseInArrayMode(): boolean {
    return this.arrayMode;
  }
}

/** How a session begins a transaction: on the pool (or session) a litepool transaction, inside one a savepoint. */
type Begin = <T>(body: (tx: Transaction) => Promise<T>, config?: SQLiteTransactionConfig) => Promise<T>;

/** Drizzle's session: prepares statements for one target and runs transactions as litepool transactions. */
class LitepoolSession<TFullSchema extends Record<string, unknown>, TSchema extends TablesRelationalConfig> extends SQLiteSession<
  'async',
  RunResult,
  TFullSchema,
  TSchema
> {
  static override readonly [entityKind]: string = 'LitepoolSession';

  constructor(
    private readonly target: Target,
    private readonly begin: Begin,
    private readonly asyncDialect: SQLiteAsyncDialect,
    private readonly schema: RelationalSchemaConfig<TSchema> | undefined,
    private readonly logger: Logger,
  ) {
    super(asyncDialect);
  }

  prepareQuery(
    query: Query,
    fields: SelectedFieldsOrdered | undefined,
    executeMethod: SQLiteExecuteMethod,
    isResponseInArrayMode: boolean,
    customResultMapper?: CustomResultMapper,
  ): LitepoolPreparedQuery {
    return new LitepoolPreparedQuery(this.target, query, this.logger, fields, executeMethod, isResponseInArrayMode, customResultMapper);
  }

  transaction<T>(transaction: (tx: LitepoolTransaction<TFullSchema, TSchema>) => Promise<T>, config?: SQLiteTransactionConfig): Promise<T> {
    return this.begin((tx) => transaction(this.#scope(tx)), config);
  }

  /** A Drizzle transaction over litepool transaction `tx`; its own transactions nest as savepoints. */
  #scope(tx: Transaction): LitepoolTransaction<TFullSchema, TSchema> {
    const nest: Begin = (body) => tx.transaction(body);
    const Session = this.constructor as typeof LitepoolSession<TFullSchema, TSchema>; // not by name: see scripts/bundle.mjs
    const session = new Session(tx, nest, this.asyncDialect, this.schema, this.logger);
    return new LitepoolTransaction<TFullSchema, TSchema>(this.asyncDialect, session, this.schema);
  }
}

/** `tx` inside `db.transaction(async (tx) => …)`; `tx.transaction(…)` nests as a savepoint, `tx.rollback()` rolls back. */
export class LitepoolTransaction<
  TFullSchema extends Record<string, unknown>,
  TSchema extends TablesRelationalConfig,
> extends SQLiteTransaction<'async', RunResult, TFullSchema, TSchema> {
  static override readonly [entityKind]: string = 'LitepoolTransaction';
  readonly #session: LitepoolSession<TFullSchema, TSchema>;

  /** @internal Made by the driver. */
  constructor(
    dialect: SQLiteAsyncDialect,
    session: LitepoolSession<TFullSchema, TSchema>,
    schema: RelationalSchemaConfig<TSchema> | undefined,
  ) {
    super('async', dialect, session, schema);
    this.#session = session;
  }

  /** A nested transaction (a savepoint): rolled back alone if `transaction` throws. */
  override transaction<T>(transaction: (tx: LitepoolTransaction<TFullSchema, TSchema>) => Promise<T>): Promise<T> {
    return this.#session.transaction(transaction);
  }
}

/** A Drizzle database on a litepool pool. */
export class LitepoolDatabase<TSchema extends Record<string, unknown> = Record<string, never>> extends BaseSQLiteDatabase<
  'async',
  RunResult,
  TSchema
> {
  static override readonly [entityKind]: string = 'LitepoolDatabase';
}

/** Options of {@link drizzle}: Drizzle's own (`schema`, `logger`, `casing`). */
export type LitepoolDrizzleConfig<TSchema extends Record<string, unknown> = Record<string, never>> = DrizzleConfig<TSchema>;

/**
 * A Drizzle database over `pool` (or a session of it, for statements with
 * connection settings of their own). The pool stays yours: close it yourself.
 */
export function drizzle<TSchema extends Record<string, unknown> = Record<string, never>>(
  pool: Pool | Session,
  config: LitepoolDrizzleConfig<TSchema> = {},
): LitepoolDatabase<TSchema> & { $client: Pool | Session } {
  if (typeof pool !== 'object' || pool === null || typeof (pool as Partial<Queryable>).values !== 'function') {
    throw new ArgumentError('drizzle(pool): a litepool Pool (or Session) is expected');
  }
  const dialect = new SQLiteAsyncDialect(config.casing === undefined ? {} : { casing: config.casing });
  const logger =
    config.logger === true
      ? new DefaultLogger()
      : config.logger === false || config.logger === undefined
        ? new NoopLogger()
        : config.logger;
  let schema: RelationalSchemaConfig<ExtractTablesWithRelations<TSchema>> | undefined;
  if (config.schema !== undefined) {
    const tables = extractTablesRelationalConfig(config.schema, createTableRelationsHelpers);
    schema = {
      fullSchema: config.schema,
      schema: tables.tables as ExtractTablesWithRelations<TSchema>,
      tableNamesMap: tables.tableNamesMap,
    };
  }
  const begin: Begin = (body, options) => {
    // Drizzle's behaviors: deferred as asked; immediate and exclusive both take the write lock at BEGIN (litepool's default).
    const mode = options?.behavior === 'deferred' ? 'deferred' : 'immediate';
    return pool.transaction(body, { mode });
  };
  const session = new LitepoolSession<TSchema, ExtractTablesWithRelations<TSchema>>(pool, begin, dialect, schema, logger);
  const db = new LitepoolDatabase<TSchema>('async', dialect, session, schema);
  return Object.assign(db, { $client: pool });
}

/**
 * Applies the migrations in `config.migrationsFolder` (as drizzle-kit writes
 * them) not yet recorded, in one transaction: Drizzle's migrator, on litepool.
 */
export async function migrate<TSchema extends Record<string, unknown>>(
  db: LitepoolDatabase<TSchema>,
  config: MigrationConfig,
): Promise<void> {
  const migrations = readMigrationFiles(config);
  const internals = db as unknown as {
    dialect: SQLiteAsyncDialect;
    session: SQLiteSession<'async', unknown, TSchema, TablesRelationalConfig>;
  };
  await internals.dialect.migrate(migrations, internals.session, config);
}
