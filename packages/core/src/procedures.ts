/**
 * What a procedures module (`createPool({ procedures })`) exports: plain
 * synchronous functions `(db, ...args)`, called by name with `pool.call`.
 *
 * ```ts
 * // procedures.js, loaded by every worker thread
 * import { readOnlyProcedure } from '@litepool/core';
 * export function transfer(db, from, to, amount) {
 *   db.prepare('UPDATE accounts SET balance = balance - ? WHERE id = ?').run(amount, from);
 *   db.prepare('UPDATE accounts SET balance = balance + ? WHERE id = ?').run(amount, to);
 * }
 * export const balance = readOnlyProcedure((db, id) => db.prepare('SELECT balance FROM accounts WHERE id = ?').pluck().get(id));
 * ```
 */
import type Database from 'better-sqlite3';

export type { SetupContext } from './local/worker-code.js';

/** A procedure: runs synchronously in a worker thread with the connection and the caller's arguments. */
export type Procedure<Args extends unknown[] = never[], Result = unknown> = (db: Database.Database, ...args: Args) => Result;

/** A procedure declared read-only: it runs on a reader (the writer when there are none), outside a transaction. */
export type ReadOnlyProcedure<P extends Procedure<never[]>> = P & { readonly readOnly: true };

/**
 * Declares `procedure` read-only (it sets `procedure.readOnly = true`, which a
 * module may also do itself): `pool.call` runs it on a reader, where a write
 * fails with SQLITE_READONLY, in parallel with other reads.
 */
export function readOnlyProcedure<P extends Procedure<never[]>>(procedure: P): ReadOnlyProcedure<P> {
  if (typeof procedure !== 'function') throw new TypeError('readOnlyProcedure(fn): a function is expected');
  return Object.defineProperty(procedure, 'readOnly', { value: true, enumerable: true }) as ReadOnlyProcedure<P>;
}
