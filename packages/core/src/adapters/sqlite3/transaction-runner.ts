/**
 * A `Database`'s transaction, carried out as SQLite means each statement of
 * it: BEGIN through the pool's held transactions (a deferred one takes the
 * writer at its first write), the statements inside it on its connection,
 * COMMIT and ROLLBACK on it, and what SQLite keeps after a COMMIT that failed
 * (the transaction stays open, with its writes, for the caller to repair and
 * commit again, or roll back).
 *
 * Its state is kept twice. As issued, each call taken to succeed: that routes
 * the calls after it into the transaction's order when they are made. As run:
 * each call is planned again as it starts, so a call after one that failed
 * (a script stopped before its COMMIT, a BEGIN refused) gets what SQLite
 * gives it then, not what was planned for it.
 */
import {
  TransactionState,
  type OpenTransaction,
  type PragmaValue,
  type QueryOptions,
  type Session,
  type TransactionMode,
} from '../../index.js';
import type { Kind } from './call-order.js';
import { controlsNothing, planOf, unplanned, type Planned } from './transaction-plan.js';
import { CONTROL_TARGET, type Operation, type Target } from './target.js';

/** Whether connection settings enforce foreign keys (the drop-in's default is node-sqlite3's: off). */
const enforcesForeignKeys = (pragmas: Readonly<Record<string, PragmaValue>>): boolean =>
  Object.entries(pragmas).some(([name, value]) => name.toLowerCase() === 'foreign_keys' && value !== false && value !== 0);

/** What a transaction runner needs of its database. */
export interface RunnerHost {
  /** The session (the database is open when a plan runs). */
  session(): Session;
  /** Runs `operation` on `target` with the database's statement events (`sql` undefined: none). */
  run(sql: string | undefined, operation: Operation, target: Target): Promise<void>;
  /** The pool's mode for a BEGIN of `sql`. */
  beginMode(sql: string): TransactionMode;
  /** Runs one piece of a script on `target` (moving the database's run counters). */
  exec(target: Target, sql: string, options: QueryOptions): Promise<void>;
}

/** The transaction of one `Database`. */
export class TransactionRunner {
  /** Where the database's transaction is as issued: the calls made so far taken to succeed (see transaction-plan.ts). */
  readonly #issued = new TransactionState();
  /** Where it is as run: moved by each call as it runs, and back to where SQLite stopped a call that failed. */
  readonly #ran = new TransactionState();
  /** Calls issued as statements of the transaction and not yet run: when none is left, the issued state is the run one. */
  #queued = 0;
  readonly #host: RunnerHost;
  #tx: Promise<OpenTransaction | undefined> | undefined;
  /** The transaction kept open after its snapshot went stale: later calls (a reset, a failing read) keep it too. */
  #stale: OpenTransaction | undefined;

  constructor(host: RunnerHost) {
    this.#host = host;
  }

  /** Whether a transaction is or may be open: as issued, or as run (a call after a failed one may not know yet). */
  get open(): boolean {
    return this.#issued.open || this.#ran.open;
  }

  /**
   * Follows a call of `sql` as it is made; true when it is a statement of the
   * transaction or moves it, so it must run in order through {@link run}.
   */
  issue(sql: string, kind: Kind): boolean {
    // A compile (a prepare's check, bind, reset) runs nothing: it moves nothing, but inside a transaction it compiles there.
    if (kind === 'compile') {
      if (!this.open) return false;
    } else {
      if (!this.open && controlsNothing(sql)) return false;
      this.#issued.apply(sql);
    }
    this.#queued++;
    return true;
  }

  /** Whether a call {@link issue} did not take must run through {@link run}: SQLite's transaction is open as run. */
  get holds(): boolean {
    return this.#ran.open;
  }

  /**
   * Runs `sql` as SQLite would now, planned against where the transaction is
   * as run: inside it where one is open; stops at the first error. `issued`:
   * {@link issue} took it.
   */
  async run(sql: string, kind: Kind, operation: Operation, issued: boolean): Promise<void> {
    try {
      await this.#runPlan(sql, kind, kind === 'compile' ? unplanned(sql, this.#ran.open) : planOf(this.#ran, sql), operation);
    } finally {
      // Not below 0: calls queued when the database closed (abandon) may still run, to fail.
      if (issued && this.#queued > 0 && --this.#queued === 0) this.#issued.adopt(this.#ran);
    }
  }

  /** Runs planned pieces in order, inside the transaction where there is one; stops at the first error. */
  async #runPlan(sql: string, kind: Kind, plan: readonly Planned[], operation: Operation): Promise<void> {
    let current: Planned | undefined;
    try {
      for (const piece of plan) {
        current = piece;
        if (piece.error !== undefined) {
          // SQLite starts the statement before it fails: its `trace` event, as node-sqlite3's.
          const { error } = piece;
          await this.#host.run(piece.sql, () => Promise.reject(error), CONTROL_TARGET);
          throw error;
        }
        // A statement runs its own operation; a script's pieces run as scripts, then its operation completes it.
        if (plan.length === 1) return await this.#runPiece(sql, kind, piece, operation);
        await this.#runPiece(piece.sql, kind, piece, (target, options) => this.#host.exec(target, piece.sql, options));
      }
    } catch (error) {
      // Stopped at `current`: while the transaction lasts (SQLite keeps it open, after a COMMIT that failed on a
      // constraint too) it is where the pieces before left it, not where planned (a plain statement moved nothing).
      if (this.#tx === undefined) this.#ran.reset();
      else if (current?.before !== undefined) this.#ran.adopt(current.before);
      throw error;
    }
    await this.#host.run(undefined, operation, CONTROL_TARGET);
  }

  /** Rolls back a transaction left open (the database closes). */
  async abandon(): Promise<void> {
    const tx = await this.#tx?.catch(() => undefined);
    this.#tx = this.#stale = undefined;
    this.#issued.reset();
    this.#ran.reset();
    this.#queued = 0;
    await tx?.rollback();
  }

  async #runPiece(sql: string, kind: Kind, piece: Planned, operation: Operation): Promise<void> {
    const host = this.#host;
    switch (piece.control) {
      case 'begin':
      case 'savepoint-begin': {
        const begun = host.session().begin({ mode: host.beginMode(sql) });
        this.#tx = begun;
        try {
          await begun;
        } catch (error) {
          this.#tx = undefined;
          this.#ran.reset();
          throw error;
        }
        // BEGIN is carried out by the pool; a SAVEPOINT that began the transaction runs inside it.
        return piece.control === 'begin' ? host.run(sql, operation, CONTROL_TARGET) : this.#inTransaction(sql, kind, operation);
      }
      case 'commit':
      case 'rollback':
      case 'release-commit': {
        const tx = await this.#tx;
        // SQLite keeps a transaction whose COMMIT failed on a deferred foreign key open, with its writes, for the caller
        // to repair and commit again, or roll back: so does the pool when asked. Only foreign keys are ever deferred:
        // without them the pool may hand the writer on with the COMMIT in flight (sooner for whoever waits for it).
        try {
          if (piece.control === 'rollback') await tx?.rollback();
          else await tx?.commit({ keepOpenOnFailure: enforcesForeignKeys(host.session().pragmas) });
        } finally {
          if (tx === undefined || tx.ended) this.#tx = this.#stale = undefined;
        }
        return host.run(sql, operation, CONTROL_TARGET);
      }
      default:
        return this.#tx === undefined
          ? host.run(kind === 'compile' ? undefined : sql, operation, host.session())
          : this.#inTransaction(sql, kind, operation);
    }
  }

  /**
   * A statement inside the transaction; if SQLite ended the transaction
   * meanwhile, its connection goes back. After SQLITE_BUSY_SNAPSHOT the
   * transaction stays open, as in SQLite, until the caller's COMMIT or
   * ROLLBACK: its later statements fail (the pool's transaction is over),
   * none runs outside it, where a ROLLBACK would not undo it, and calls that
   * run nothing (a statement's reset) do not end it.
   */
  async #inTransaction(sql: string, kind: Kind, operation: Operation): Promise<void> {
    const tx = (await this.#tx)!;
    try {
      await this.#host.run(kind === 'compile' ? undefined : sql, operation, tx);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      // Its snapshot is stale (or the pool ended it for that): SQLite keeps such a transaction open.
      if (code === 'SQLITE_BUSY_SNAPSHOT' || code === 'ERR_TRANSACTION_ABORTED') this.#stale = tx;
      throw error;
    } finally {
      if (!tx.active && tx !== this.#stale && this.#tx !== undefined) {
        this.#tx = undefined;
        this.#ran.reset();
        await tx.rollback();
      }
    }
  }
}
