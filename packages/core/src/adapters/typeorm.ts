/**
 * Concurrent transactions for TypeORM's `sqlite` driver on litepool:
 *
 * ```ts
 * import sqlite3 from '@litepool/core/sqlite3';
 * import { connectionPerQueryRunner } from '@litepool/core/typeorm';
 * const dataSource = connectionPerQueryRunner(new DataSource({ type: 'sqlite', database: 'app.db', driver: sqlite3, … }));
 * await dataSource.initialize();
 * ```
 *
 * TypeORM's sqlite driver hands every caller the same query runner on one
 * connection: concurrent `dataSource.transaction()` calls then nest inside
 * one another (the second BEGIN becomes a SAVEPOINT of the first), whatever
 * the driver. This gives each query runner a connection of its own, as
 * TypeORM's drivers for client-server databases do: a litepool `Database`,
 * a session of the one shared pool, opened with TypeORM's own setup
 * (`PRAGMA foreign_keys = ON`, …) and closed when the runner is released.
 * Concurrent transactions then queue for the writer instead of interleaving.
 *
 * @module @litepool/core/typeorm
 */
import { ArgumentError } from '../index.js';
import { Database } from './sqlite3.js';

/** The parts of TypeORM's query runner this uses. */
interface QueryRunner {
  connect(): Promise<unknown>;
  release(): Promise<void>;
  isReleased: boolean;
}

/** The parts of TypeORM's sqlite driver this uses (TypeORM 0.3). */
interface SqliteDriver {
  readonly options: { readonly type?: unknown };
  readonly sqlite?: { readonly Database?: unknown };
  createQueryRunner(mode?: unknown): QueryRunner;
  createDatabaseConnection(): Promise<Database>;
  disconnect(): Promise<void>;
}

const closeQuietly = (db: Database): Promise<void> => new Promise((resolve) => (db.open ? db.close(() => resolve()) : resolve()));

/**
 * Gives each TypeORM query runner of `dataSource` its own litepool
 * connection (see the module's description). Call it on a `type: 'sqlite'`
 * DataSource whose `driver` is `@litepool/core/sqlite3` (or a module from its
 * `withDefaults()`), before or after
 * `initialize()`; it returns the DataSource. Throws `ERR_INVALID_ARGUMENT` for
 * any other DataSource.
 */
export function connectionPerQueryRunner<T extends object>(dataSource: T): T {
  const driver = (dataSource as { driver?: unknown }).driver as SqliteDriver | undefined;
  if (typeof driver !== 'object' || driver === null || driver.options.type !== 'sqlite' || typeof driver.createQueryRunner !== 'function') {
    throw new ArgumentError('connectionPerQueryRunner(dataSource): a TypeORM DataSource of type "sqlite" is expected');
  }
  const given = driver.sqlite?.Database;
  if (given !== Database && !(typeof given === 'function' && given.prototype instanceof Database)) {
    throw new ArgumentError('connectionPerQueryRunner(dataSource): the DataSource must use @litepool/core/sqlite3 as its driver');
  }
  const Runner = driver.createQueryRunner().constructor as new (owner: SqliteDriver) => QueryRunner;
  const open = new Set<Database>();
  driver.createQueryRunner = () => {
    const runner = new Runner(driver);
    let connection: Promise<Database> | undefined;
    runner.connect = () =>
      (connection ??= driver.createDatabaseConnection().then((db) => {
        open.add(db);
        return db;
      }));
    const release = runner.release.bind(runner);
    runner.release = async () => {
      await release();
      runner.isReleased = true;
      const db = await connection?.catch(() => undefined);
      if (db !== undefined) {
        open.delete(db);
        await closeQuietly(db);
      }
    };
    return runner;
  };
  const disconnect = driver.disconnect.bind(driver);
  driver.disconnect = async () => {
    // Runners never released still hold a connection: closing them lets the shared pool close too.
    await Promise.all([...open].map(closeQuietly));
    open.clear();
    await disconnect();
  };
  return dataSource;
}
