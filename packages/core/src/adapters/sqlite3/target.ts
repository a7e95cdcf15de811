/** Where a `Database`'s statement runs, and the work it does there. */
import type { Queryable, QueryOptions } from '../../index.js';
import type { Sqlite3Error } from './constants.js';

/** Where a statement runs: the session, the transaction, or (for transaction control) nowhere. */
export type Target = Pick<Queryable, 'run' | 'get' | 'all' | 'exec' | 'iterate'>;

/**
 * One statement's work, given where it runs, the signal `interrupt()` fires,
 * and `ran`, to call once SQLite is done and before the caller's callbacks
 * (it emits `profile`).
 */
export type Operation = (target: Target, options: QueryOptions, ran: () => void) => Promise<void>;

/**
 * A call's work and where its error goes, as the methods of one object (a
 * loop of calls queued at once holds every one: an object each, not two
 * closures and their context).
 */
export interface Work {
  /** Runs it on `target` (see {@link Operation}). */
  perform(target: Target, options: QueryOptions, ran: () => void): Promise<void>;
  /** Its error, once it failed. */
  fail(error: Sqlite3Error): void;
}

/** A call that starts at once on the session (Link.startNow): run, then its result or its error delivered. */
export interface QuickWork<T> extends Work {
  /** Runs it on `target`. */
  query(target: Target, options: QueryOptions): Promise<T>;
  /** Hands out its result. */
  deliver(result: T): void;
}

/** The answers of transaction control, as SQLite gives them: no rows, nothing changed. */
export const CONTROL_TARGET: Target = {
  run: () => Promise.resolve({ changes: 0, lastInsertRowid: 0 }),
  get: () => Promise.resolve(undefined),
  all: () => Promise.resolve([]),
  exec: () => Promise.resolve(),
  iterate: async function* () {},
};
