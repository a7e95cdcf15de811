/** Helpers for the tests of the node-sqlite3 drop-in (`@litepool/core/sqlite3`). */
import { Database, type RunContext, type Sqlite3Error } from '@litepool/core/sqlite3';
import type { TestContext } from 'node:test';
import { tempDb } from './temp.js';

/** Closes `db` if it is open; resolves once closed. */
export const closeDb = (db: Database): Promise<void> => new Promise((resolve) => (db.open ? db.close(() => resolve()) : resolve()));

/** A database closed after the test; resolves once open. */
export async function openDb(t: TestContext, filename = tempDb(t), mode?: ConstructorParameters<typeof Database>[1]): Promise<Database> {
  const db = await new Promise<Database>((resolve, reject) => {
    const opened: Database = new Database(filename, mode, (err) => (err ? reject(err) : resolve(opened)));
  });
  t.after(() => closeDb(db));
  return db;
}

/** One callback call as a promise, keeping `this`. */
export function call<T = unknown>(
  start: (done: (this: RunContext, err: Sqlite3Error | null, value?: unknown) => void) => void,
): Promise<{ self: RunContext; value: T }> {
  return new Promise((resolve, reject) =>
    start(function (err, value) {
      if (err) reject(err);
      else resolve({ self: this, value: value as T });
    }),
  );
}

/** `db.run(sql, ...params)` as a promise of its `this` (lastID, changes). */
export const run = (db: Database, sql: string, ...params: unknown[]): Promise<{ self: RunContext; value: unknown }> =>
  call((done) => db.run(sql, ...params, done));

/** `db.get(sql, ...params)` as a promise of its row. */
export const get = async <T = unknown>(db: Database, sql: string, ...params: unknown[]): Promise<T> =>
  (await call<T>((done) => db.get(sql, ...params, done))).value;

/** `db.all(sql, ...params)` as a promise of its rows. */
export const all = async <T = unknown>(db: Database, sql: string, ...params: unknown[]): Promise<T> =>
  (await call<T>((done) => db.all(sql, ...params, done))).value;
