/**
 * What a lease is to its holder (the public {@link Lease}), and the terms
 * it is granted on: the connection and strategy hold, the settings of whose
 * call it is, and how its requests are flagged.
 */
import type { Connection, Settings } from '../backend.js';
import type { StrategyHold } from '../strategy.js';
import type { Queryable } from './query-methods.js';

/** How a lease ended, from {@link Lease.release}. */
export interface LeaseRelease {
  /** The lease was given back inside a transaction, which was rolled back before anyone else got the connection. */
  readonly rolledBack: boolean;
}

/** A connection lent exclusively to one caller until {@link Lease.release} (from `pool.acquire()`). */
export interface Lease extends Queryable {
  /** Whether this lease is on the writer. */
  readonly write: boolean;
  /** Whether statements that write (or change the connection's settings) are refused. */
  readonly readOnly: boolean;
  /** Whether {@link release} was called (or the pool revoked the lease). */
  readonly released: boolean;
  /** Whether the connection is inside a transaction, as SQLite reported after the last statement that settled (false once released). */
  readonly inTransaction: boolean;
  /**
   * Gives the connection back to the pool. Safe to call more than once. A
   * transaction left open is rolled back first (and reported): the promise
   * says so once the connection is back; it never rejects.
   */
  release(): Promise<LeaseRelease>;
  /**
   * Rolls back the transaction open on the connection, if any. Unlike
   * `exec('ROLLBACK')` it is allowed after the strategy's hold was lost (it
   * only undoes work), and it resolves when there was nothing to roll back.
   */
  rollback(): Promise<void>;
}

/** What the connection was lent with: the connection, the strategy hold it runs under, and how to give it back. */
export interface Grant {
  /** The connection, for this lease alone. */
  readonly connection: Connection;
  /** The strategy hold it runs under. */
  readonly hold: StrategyHold;
  /** Hands the connection back to its lane. Called once, when no request is in flight. */
  readonly giveBack: () => void;
}

/**
 * Who keeps track of connection state a caller creates on purpose: a session,
 * whose TEMP objects and ATTACHed databases live on the writer until it
 * closes (instead of being wiped when its lease ends).
 */
export interface StateTracker {
  /**
   * Records `sql` if it creates or drops such state, or sets a PRAGMA the
   * session then holds; true when it did (the connection then needs no
   * reset). `inTransaction`: it runs inside a transaction.
   */
  track(sql: string, inTransaction?: boolean): boolean;
}

/** How a lease was taken. */
export interface LeaseSettings {
  /** Whether this lease is on the writer. */
  readonly write: boolean;
  /** Whether statements that write (or change the connection's settings) are refused. */
  readonly readOnly: boolean;
  /** Limit of each statement's run time when the call sets none (0: none). */
  readonly statementTimeoutMs: number;
  /** The connection settings of the session it was taken for (undefined: the pool's own). */
  readonly settings: Settings | undefined;
  /** The session's record of its TEMP objects and ATTACHed databases, if any. */
  readonly tracker: StateTracker | undefined;
  /** Report the lease once it is held this long (0: never), with `stack`. */
  readonly leakDetectionMs: number;
  /** Where it was taken, for that report. */
  readonly stack: string | undefined;
}

/** What a lease tells its pool. */
export interface LeaseHooks {
  /** The lease gave its connection back. */
  released(lease: Lease): void;
  /** Something its holder should know (reported as a `warning` event). */
  warn(code: string, message: string): void;
  /** The lease now has nothing in flight (`true`: it does not keep the process alive), or has work again. */
  quiet(quiet: boolean): void;
}

/** How a request of a lease is sent. */
export interface RequestFlags {
  /** A reader may find the statement writes: it answers `Reroute` instead of running it. */
  readonly probe?: boolean;
  /** The cursor of `next` and `close-cursor`. */
  readonly cursor?: number;
  /** Part of a transaction the pool began (SQLite having ended it is an error, not autocommit). */
  readonly inTransaction?: boolean;
  /** Issued by the pool itself (BEGIN, COMMIT, SAVEPOINT): not subject to the rules for callers' statements. */
  readonly internal?: boolean;
  /** Ends the transaction (the pool's COMMIT): if it fails, the connection rolls back at once. */
  readonly final?: boolean;
  /** With `final`: if SQLite keeps the transaction open after the COMMIT failed, the connection keeps it. */
  readonly keepOpen?: boolean;
}
