/**
 * Whether a connection is inside a transaction, read from the SQL sent on it
 * (before it runs): BEGIN or an outermost SAVEPOINT opens one; COMMIT, END,
 * ROLLBACK (not TO) or releasing that SAVEPOINT ends it. The node-sqlite3
 * drop-in routes a `Database`'s statements by it; a backend whose engine does
 * not report autocommit (dqlite) tracks its connections with it.
 */
import { classify, statementHeads, summarize } from './statements.js';

/** What one piece of SQL does to the transaction. */
export interface TransactionStep {
  /** A transaction was open before it. */
  readonly wasOpen: boolean;
  /** A transaction is open after it. */
  readonly isOpen: boolean;
  /** It is COMMIT, END or ROLLBACK (not TO) issued with no transaction open. */
  readonly endsNothing: 'commit' | 'rollback' | undefined;
  /** It is RELEASE or ROLLBACK TO issued with no transaction open: SQLite knows no savepoint then. */
  readonly releasesNothing: boolean;
}

/** The transaction state of one node-sqlite3 connection, followed statement by statement. */
export class TransactionState {
  #open = false;
  /** The transaction was started by SAVEPOINT: releasing its outermost savepoint ends it. */
  #bySavepoint = false;
  /** Savepoint names, outermost first. */
  #savepoints: string[] = [];

  /** Whether a transaction is open, as far as the SQL issued so far says. */
  get open(): boolean {
    return this.#open;
  }

  /** Forgets the transaction (it ended some other way: it failed to begin, or SQLite rolled it back). */
  reset(): void {
    this.#open = false;
    this.#bySavepoint = false;
    this.#savepoints = [];
  }

  /** A copy, to go back to. */
  clone(): TransactionState {
    const copy = new (this.constructor as new () => TransactionState)(); // not by name: see scripts/bundle.mjs
    copy.adopt(this);
    return copy;
  }

  /** Takes `other`'s state (undefined: no transaction), when the SQL followed did not all run. */
  adopt(other: TransactionState | undefined): void {
    if (other === undefined) return this.reset();
    this.#open = other.#open;
    this.#bySavepoint = other.#bySavepoint;
    this.#savepoints = [...other.#savepoints];
  }

  /** Follows `sql` (one statement or a script). */
  apply(sql: string): TransactionStep {
    const wasOpen = this.#open;
    // Most SQL neither begins nor ends anything: the memoized summary says so without lexing it again.
    const { transaction, savepoint } = summarize(sql);
    if (transaction === undefined && savepoint === undefined)
      return { wasOpen, isOpen: wasOpen, endsNothing: undefined, releasesNothing: false };
    let endsNothing: TransactionStep['endsNothing'];
    let releasesNothing = false;
    for (const head of statementHeads(sql)) {
      const kind = classify(head);
      if (kind === 'transaction') {
        if (head[0] === 'BEGIN') {
          if (!this.#open) {
            this.#open = true;
            this.#bySavepoint = false;
            this.#savepoints = [];
          }
        } else {
          if (!this.#open) endsNothing ??= head[0] === 'ROLLBACK' ? 'rollback' : 'commit';
          this.reset();
        }
      } else if (kind === 'savepoint') {
        if (!this.#open && head[0] !== 'SAVEPOINT') releasesNothing = true;
        this.#savepoint(head);
      }
    }
    return { wasOpen, isOpen: this.#open, endsNothing, releasesNothing };
  }

  #savepoint(head: readonly string[]): void {
    if (head[0] === 'SAVEPOINT') {
      if (!this.#open) {
        this.#open = true;
        this.#bySavepoint = true;
        this.#savepoints = [];
      }
      this.#savepoints.push(head[1] ?? '');
      return;
    }
    if (head[0] !== 'RELEASE') return; // ROLLBACK TO keeps the transaction open
    const name = head[1] === 'SAVEPOINT' ? head[2] : head[1];
    const at = this.#savepoints.lastIndexOf(name ?? '');
    if (at < 0) return;
    this.#savepoints.length = at;
    if (this.#bySavepoint && at === 0) this.reset();
  }
}
