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
