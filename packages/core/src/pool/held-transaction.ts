/**
 * A transaction held open until the caller ends it, for APIs whose
 * transactions are begin/commit calls rather than a callback (cross-thread
 * clients, Kysely): the pool's callback transaction with the callback's end
 * in the caller's hands, so its rollback-on-failure logic is reused.
 */
import type { Transaction } from './lease.js';

/** An open transaction; end it with exactly one of `commit` or `rollback`. */
export interface HeldTransaction {
  /** The transaction's handle. */
  readonly tx: Transaction;
  /** Commits; rejects if COMMIT failed (the transaction was rolled back). */
  commit(): Promise<void>;
  /** Rolls back. */
  rollback(): Promise<void>;
}

/** How `rollback()` ends the callback: a rejection the holder itself asked for, never reported. */
class RollbackRequested extends Error {}

/**
 * Begins a transaction through `begin` (a callback-style `transaction`),
 * resolving once its callback runs; rejects if it never began.
 */
export function holdTransaction(begin: (body: (tx: Transaction) => Promise<void>) => Promise<void>): Promise<HeldTransaction> {
  return new Promise((resolveHeld, rejectHeld) => {
    const settled = begin(
      (tx) =>
        new Promise<void>((finish, abandon) => {
          resolveHeld({
            tx,
            commit: () => {
              finish();
              return settled;
            },
            rollback: () => {
              abandon(new RollbackRequested());
              return settled.catch((error: unknown) => {
                if (!(error instanceof RollbackRequested)) throw error;
              });
            },
          });
        }),
    );
    settled.catch(rejectHeld); // a no-op once the callback ran
  });
}
