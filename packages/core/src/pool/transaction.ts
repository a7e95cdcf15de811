/**
 * A transaction on the pool, with SQLite's locking semantics per mode:
 *
 * - `immediate` holds the writer from the start; its BEGIN IMMEDIATE travels
 *   with its first statement, and its COMMIT with the next holder's first
 *   message (the writer is handed on while the COMMIT is in flight).
 * - `read` holds a reader: one snapshot, writes refused.
 * - `deferred` takes no lock until it needs one, as SQLite's BEGIN DEFERRED:
 *   its reads run in a read transaction on a reader (the snapshot starts at
 *   the first read), and at its first write or connection setting (a few
 *   wait for it: reader-settings.ts) it takes the writer. If another connection
 *   committed since its snapshot began, that write fails with SQLITE_BUSY_SNAPSHOT,
 *   as in SQLite, and the transaction is over. So it never deadlocks other work.
 *
 * Callback transactions (`pool.transaction(fn)`) and held ones
 * (`pool.begin()`) are the same object, ended by the callback or by the caller.
 */
import type { Op } from '../backend.js';
import { SqliteError, TransactionError } from '../errors.js';
import { onlyQueries, summarize } from '../sql/statements.js';
import { holdSavepoint, holdSetting } from './reader-settings.js';
import type { Params, QueryOptions } from '../types.js';
import { Reroute, type PoolLease } from './lease.js';
import type { LeaseWait } from './leasing.js';
import type { StatementOp } from './query-methods.js';
import type { Router } from './router.js';
import type { Scope } from './scope.js';
import { OpenScope, type CommitOptions, type OpenTransaction } from './open-transaction.js';
import {
  CLOSED_TRANSACTION,
  TransactionScope,
  type Transaction,
  type TransactionChannel,
  type TransactionMode,
} from './transaction-scope.js';

/** What a transaction needs from its pool. */
export interface TransactionHost {
  /** Leases a connection: the writer (`write`) or a reader, read-only or not. */
  lease(kind: 'read' | 'write', scope: Scope, readOnly: boolean, terms?: LeaseWait): Promise<PoolLease>;
  /** What is known of statements' routes (a deferred transaction sends reads to its reader). */
  readonly router: Router;
  /** Whether the pool has readers (without them a read transaction runs on the writer). */
  readonly readers: boolean;
  /**
   * Whether a deferred transaction reads on a reader until its first write:
   * the pool has readers and its strategy lets a reader's hold last while the
   * writer's is taken (`readsDuringWrite`; under `mutex` or `file-lock` the
   * move to the writer would wait for the transaction's own read). If not,
   * it runs on the writer from its first statement.
   */
  readonly deferredOnReaders: boolean;
  /** A COMMIT handed off with the writer: the pool waits for it before closing. */
  committing(settled: Promise<void>): void;
}

const BUSY_SNAPSHOT =
  'database is locked: another connection committed after this deferred transaction began reading, so it cannot write (SQLITE_BUSY_SNAPSHOT); roll it back and run it again';

/** The end of a deferred transaction's move to the writer, run once the statement that carried its BEGIN is answered. */
type Move = () => Promise<void>;

/** Where a deferred transaction is: no connection yet, a reader's read transaction, the writer, or over after BUSY_SNAPSHOT. */
type Stage = 'unbound' | 'reader' | 'writer' | 'stale';

/** One transaction of the pool (see the module description). */
export class PoolTransaction implements TransactionChannel {
  #lease: PoolLease | undefined;
  #stage: Stage = 'unbound';
  /** A read ran on the reader: the snapshot has begun (a later write must check it is still current). */
  #snapshot = false;
  /** Savepoints run on the reader or held, and settings held (reader-settings.ts), replayed on the writer when the transaction moves there. */
  readonly #replayed: string[] = [];
  /** While not on the writer, statements of a deferred transaction run one after another (a write moves it). */
  #chain: Promise<unknown> = Promise.resolve();
  #ended = false;

  private constructor(
    private readonly host: TransactionHost,
    readonly mode: TransactionMode,
    private readonly scope: Scope,
  ) {}

  /** Begins a transaction: takes its connection now (`immediate`, `read`), or at its first statement (`deferred`). */
  static async begin(host: TransactionHost, mode: TransactionMode, scope: Scope): Promise<PoolTransaction> {
    const transaction = new this(host, mode, scope);
    if (mode === 'immediate' || (mode === 'deferred' && (!host.deferredOnReaders || scope.pinned))) {
      await transaction.#bindWriter(mode === 'immediate' ? 'BEGIN IMMEDIATE' : 'BEGIN DEFERRED');
    } else if (mode === 'read') {
      const onWriter = !host.readers || scope.pinned;
      transaction.#lease = await host.lease(onWriter ? 'write' : 'read', scope, true);
      transaction.#lease.prelude('BEGIN');
      transaction.#stage = 'reader';
    }
    return transaction;
  }

  /** The handle of a caller (see {@link OpenTransaction}), closed when the transaction ends. */
  open(): OpenTransaction {
    return new OpenScope(this);
  }

  /** Whether the transaction was committed or rolled back. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Whether it is still open (see {@link OpenTransaction.active}). */
  get active(): boolean {
    if (this.#ended || this.#stage === 'stale') return false;
    const lease = this.#lease;
    return lease === undefined || lease.preludeState.state === 'unsent' || lease.inTransaction;
  }

  /** Runs `fn` in the transaction: commits when it resolves, rolls back and rethrows when it throws. */
  async run<T>(fn: (tx: Transaction) => Promise<T> | T): Promise<T> {
    const scope = new TransactionScope(this, this.mode, 0);
    let result: T;
    try {
      result = await fn(scope);
    } catch (error) {
      scope.close();
      await this.rollback();
      throw error;
    }
    scope.close();
    await this.commit();
    return result;
  }

  statement(op: StatementOp, sql: string, params: Params | undefined, options: QueryOptions | undefined): Promise<unknown> {
    return this.#send(op, sql, params, options, false);
  }

  internal(op: Op, sql: string, params?: Params): Promise<unknown> {
    return this.#send(op, sql, params, undefined, true);
  }

  async *stream<T>(sql: string, params: Params | undefined, options: QueryOptions | undefined): AsyncIterableIterator<T> {
    if (this.#ended) throw new TransactionError(CLOSED_TRANSACTION, 'ERR_TRANSACTION_CLOSED');
    const flags = { inTransaction: true };
    if (this.#stage !== 'writer' && this.mode === 'deferred') {
      // The stream starts in order with the other statements; its rows then come from the connection it started on.
      const placed = this.#chain.then(() => this.#place('iterate', sql, false, true));
      this.#chain = placed.catch(() => {});
      const { probe } = await placed;
      if (this.#stage === 'reader') this.#snapshot = true;
      try {
        yield* this.#current().stream<T>(sql, params, options, { ...flags, probe });
        return;
      } catch (error) {
        if (!(error instanceof Reroute)) throw error;
        this.host.router.remember(sql, true);
        await this.#toWriter(true);
      }
    }
    yield* this.#current().stream<T>(sql, params, options, flags);
  }

  /**
   * Commits (nothing to do when no statement ran); the lease goes back. With
   * `keepOpenOnFailure`, a COMMIT that SQLite refused while keeping its
   * transaction open leaves it open here too.
   */
  async commit(options?: CommitOptions): Promise<void> {
    const held = this.#lease;
    if (options?.keepOpenOnFailure === true && held !== undefined && this.#stage === 'writer' && !this.#ended) {
      const begun = held.preludeState.state;
      if (begun === 'ok' || begun === 'none') return this.#commitOrKeep(held);
    }
    const lease = this.#end();
    if (lease === undefined) return;
    try {
      const begun = lease.preludeState;
      if (begun.state === 'unsent') return; // no statement ran: there is nothing to commit
      if (begun.state === 'failed') throw begun.error;
      if (lease.write && !lease.readOnly) {
        const handedOff = lease.commitAndHandOff('COMMIT');
        if (handedOff !== undefined) {
          this.host.committing(
            handedOff.then(
              () => {},
              () => {},
            ),
          );
          await handedOff;
          return;
        }
      }
      await lease.request('exec', 'COMMIT', undefined, undefined, { internal: true, inTransaction: true, final: true });
    } catch (error) {
      // A failed COMMIT was rolled back by the connection (the request was final); roll back in any case.
      if (!lease.released) await lease.rollback().catch(() => {});
      throw error;
    } finally {
      void lease.release();
    }
  }

  /** A COMMIT whose failure leaves the transaction open when SQLite kept it open (an unmet deferred constraint). */
  async #commitOrKeep(lease: PoolLease): Promise<void> {
    try {
      await lease.request('exec', 'COMMIT', undefined, undefined, { internal: true, inTransaction: true, final: true, keepOpen: true });
    } catch (error) {
      if (!this.#ended && lease.inTransaction) throw error; // still the caller's: to repair and commit, or roll back
      this.#end();
      if (!lease.released) await lease.rollback().catch(() => {});
      void lease.release();
      throw error;
    }
    this.#end();
    void lease.release();
  }

  /** Rolls back whatever ran; the lease goes back. Never rejects. */
  async rollback(): Promise<void> {
    const lease = this.#end();
    if (lease === undefined) return;
    const begun = lease.preludeState;
    if (begun.state !== 'unsent' && begun.state !== 'failed' && !lease.released) await lease.rollback().catch(() => {});
    void lease.release();
  }

  /** Marks the transaction over; the lease it held, if any, is the caller's to end. */
  #end(): PoolLease | undefined {
    if (this.#ended) return undefined;
    this.#ended = true;
    const lease = this.#lease;
    this.#lease = undefined;
    this.#stage = 'stale';
    return lease;
  }

  #current(): PoolLease {
    if (this.#lease === undefined) throw new TransactionError(CLOSED_TRANSACTION, 'ERR_TRANSACTION_CLOSED');
    return this.#lease;
  }

  #send(op: Op, sql: string, params: Params | undefined, options: QueryOptions | undefined, internal: boolean): Promise<unknown> {
    if (this.#ended) return Promise.reject(new TransactionError(CLOSED_TRANSACTION, 'ERR_TRANSACTION_CLOSED'));
    const flags = { inTransaction: true, internal };
    if (this.#stage === 'writer' || this.mode !== 'deferred') return this.#current().request(op, sql, params, options, flags);
    const run = this.#chain.then(async () => {
      const unbound = this.#stage === 'unbound';
      const held = internal ? undefined : (holdSetting(op, sql) ?? (unbound ? holdSavepoint(op, sql, params) : undefined));
      if (held?.replay === true) this.#replayed.push(sql);
      if (held !== undefined) return held.answer;
      const { probe, moved } = await this.#place(op, sql, internal);
      const lease = this.#current();
      try {
        const value = await this.#afterMove(moved, () => lease.request(op, sql, params, options, { ...flags, probe }));
        if (this.#stage === 'reader') {
          if (summarize(sql).savepoint !== undefined) this.#replayed.push(sql);
          else this.#snapshot = true;
        }
        return value;
      } catch (error) {
        if (!(error instanceof Reroute)) throw error;
        this.host.router.remember(sql, true);
        const reroutedMove = await this.#toWriter();
        return this.#afterMove(reroutedMove, () => this.#current().request(op, sql, params, options, flags));
      }
    });
    this.#chain = run.catch(() => {});
    return run;
  }

  /**
   * Puts a deferred transaction where `sql` must run: the writer for a write,
   * a reader otherwise (taken at the first statement). Returns whether the
   * statement goes as a probe (its route is unknown: the reader sends it back
   * if it writes), and the end of a move to the writer still to run once the
   * statement is answered (see {@link #toWriter}; `beginNow`: none, the move is complete).
   */
  async #place(op: Op, sql: string, internal: boolean, beginNow = false): Promise<{ probe: boolean; moved: Move | undefined }> {
    if (this.#stage === 'stale') {
      throw new TransactionError(
        'This transaction was rolled back after SQLITE_BUSY_SNAPSHOT; roll it back and run it again',
        'ERR_TRANSACTION_ABORTED',
      );
    }
    const { savepoint, state } = summarize(sql);
    // A statement that sets the connection (PRAGMA defer_foreign_keys, …) may not run on a shared reader: the writer takes it.
    // A script of queries alone reads, as SQLite's exec of SELECTs takes no lock; any other may write.
    const route =
      savepoint !== undefined || (op === 'exec' && onlyQueries(sql))
        ? 'read'
        : op === 'exec' || op === 'call' || state !== undefined
          ? 'write'
          : this.host.router.route(op, sql, this.scope.pinned);
    if (route === 'write') return { probe: false, moved: await this.#toWriter(beginNow) };
    if (this.#stage === 'unbound') {
      this.#lease = await this.host.lease('read', this.scope, true);
      // The savepoints held so far begin there (the settings held wait for the writer).
      const savepoints = this.#replayed.filter((held) => summarize(held).savepoint !== undefined);
      this.#lease.prelude(['BEGIN', ...savepoints].join(';\n'));
      this.#stage = 'reader';
    }
    return { probe: route === 'probe' && !internal, moved: undefined };
  }

  /** Sends a statement, then ends the move to the writer it began (`moved`) whatever its outcome; the move's error comes first. */
  async #afterMove<T>(moved: Move | undefined, send: () => Promise<T>): Promise<T> {
    if (moved === undefined) return send();
    const outcome = await send().then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    await moved();
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }

  async #bindWriter(begin: string): Promise<void> {
    this.#lease = await this.host.lease('write', this.scope, false);
    this.#lease.prelude(begin);
    this.#stage = 'writer';
  }

  /**
   * Moves a deferred transaction to the writer: takes it (waiting, as
   * SQLite's busy handler would) and begins there (replaying savepoints).
   * The BEGIN IMMEDIATE travels with the next statement, and the move ends
   * (the returned {@link Move}) once that is answered: a round trip saved on
   * every read-then-write transaction. With `beginNow` the BEGIN is sent
   * alone and the move ends before this returns.
   */
  async #toWriter(beginNow = false): Promise<Move | undefined> {
    if (this.#stage === 'writer') return undefined;
    const reader = this.#lease;
    const begin = ['BEGIN IMMEDIATE', ...this.#replayed].join(';\n');
    if (reader === undefined) {
      await this.#bindWriter(begin);
      return undefined;
    }
    // Having read, it is a read transaction's upgrade: SQLite fails that busy at once rather than wait.
    const writer = await this.host.lease('write', this.scope, false, { upgrade: this.#snapshot });
    if (!beginNow) writer.prelude(begin);
    else {
      try {
        await writer.request('exec', begin, undefined, undefined, { internal: true });
      } catch (error) {
        void writer.release();
        throw error;
      }
    }
    this.#lease = writer;
    this.#stage = 'writer';
    const move = (): Promise<void> => this.#leaveReader(reader, writer);
    if (!beginNow) return move;
    await move();
    return undefined;
  }

  /**
   * Ends a move to the writer once BEGIN IMMEDIATE has run there: checks that
   * nothing was committed since the reader's snapshot began. The writer's
   * lock is taken first, so no commit can slip in after the check. A BEGIN
   * that failed (or never went) leaves the transaction on its reader.
   */
  async #leaveReader(reader: PoolLease, writer: PoolLease): Promise<void> {
    const begun = writer.preludeState.state;
    if (begun === 'failed' || begun === 'unsent') {
      this.#lease = reader;
      this.#stage = 'reader';
      void writer.release();
      return;
    }
    let stale = false;
    if (this.#snapshot) {
      // data_version stays put inside the read transaction and moves once it ends if anyone committed meanwhile.
      const flags = { internal: true, inTransaction: true };
      const [before, , after] = await Promise.all([
        reader.request('get', 'PRAGMA data_version', undefined, undefined, flags),
        reader.request('exec', 'COMMIT', undefined, undefined, flags),
        reader.request('get', 'PRAGMA data_version', undefined, undefined, { internal: true }),
      ]);
      stale = (before as { data_version: number }).data_version !== (after as { data_version: number }).data_version;
    } else {
      await reader.rollback().catch(() => {});
    }
    void reader.release();
    if (stale) {
      await writer.rollback().catch(() => {});
      void writer.release();
      this.#lease = undefined;
      this.#stage = 'stale';
      throw new SqliteError(BUSY_SNAPSHOT, 'SQLITE_BUSY_SNAPSHOT');
    }
  }
}
