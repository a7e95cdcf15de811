/**
 * The handle `pool.begin()` gives: a transaction's statements, and the means
 * to end it, refused once it has ended.
 */
import { TransactionError } from '../errors.js';
import {
  CLOSED_TRANSACTION,
  TransactionScope,
  type Transaction,
  type TransactionChannel,
  type TransactionMode,
} from './transaction-scope.js';

/** How {@link OpenTransaction.commit} treats a COMMIT that fails. */
export interface CommitOptions {
  /**
   * When COMMIT fails and SQLite keeps the transaction open (a deferred
   * constraint unmet, such as a `DEFERRABLE INITIALLY DEFERRED` foreign key),
   * keep it open: the promise rejects with SQLite's error, the transaction
   * stays `active` and not `ended`, for the caller to repair it and commit
   * again, or roll back, as with SQLite's own COMMIT. Default `false`: a
   * failed COMMIT rolls the transaction back.
   */
  readonly keepOpenOnFailure?: boolean;
}

/** A transaction held open until the caller ends it (see `Pool.begin`). */
export interface OpenTransaction extends Transaction {
  /**
   * Commits; rejects if COMMIT failed (the transaction was then rolled back,
   * unless `options.keepOpenOnFailure` kept it open). Once it has ended, later
   * calls reject with `ERR_TRANSACTION_CLOSED`.
   */
  commit(options?: CommitOptions): Promise<void>;
  /** Rolls back. Resolves once the connection is back in the pool; never rejects for a transaction that is still open. */
  rollback(): Promise<void>;
  /** Whether it has ended: `rollback` was called, or `commit` (unless `keepOpenOnFailure` kept it open after a failed COMMIT). */
  readonly ended: boolean;
  /**
   * Whether the transaction is still open: false once it ended, or once
   * SQLite ended it itself (an `ON CONFLICT ROLLBACK`, an interrupt of a
   * write, an I/O error), or after SQLITE_BUSY_SNAPSHOT. Call `rollback()` to
   * give its connection back then.
   */
  readonly active: boolean;
}

/** The transaction behind a handle: its statements, its state, and how it ends. */
export interface HeldTransaction extends TransactionChannel, Pick<OpenTransaction, 'commit' | 'rollback' | 'ended' | 'active'> {
  /** Its locking mode. */
  readonly mode: TransactionMode;
}

/** The handle of a held transaction: `tx` and the means to end it. */
export class OpenScope extends TransactionScope implements OpenTransaction {
  readonly #owner: HeldTransaction;

  constructor(owner: HeldTransaction) {
    super(owner, owner.mode, 0);
    this.#owner = owner;
  }

  get ended(): boolean {
    return this.#owner.ended;
  }

  get active(): boolean {
    return this.#owner.active;
  }

  async commit(options?: CommitOptions): Promise<void> {
    if (this.#owner.ended) throw new TransactionError(CLOSED_TRANSACTION, 'ERR_TRANSACTION_CLOSED');
    // Kept open after a failed COMMIT, its statements still run here.
    if (options?.keepOpenOnFailure !== true) this.close();
    try {
      await this.#owner.commit(options);
    } finally {
      if (this.#owner.ended) this.close();
    }
  }

  async rollback(): Promise<void> {
    this.close();
    await this.#owner.rollback();
  }
}
