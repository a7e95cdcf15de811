/**
 * Leases: a connection held exclusively across awaits. Nothing else runs on
 * a leased connection until it is released, and nothing a holder did to it
 * (an open transaction, changed settings) reaches the next holder. A lease
 * can carry statements to send ahead of its next request (a transaction's
 * BEGIN travels with its first statement) and hand its connection on while
 * its COMMIT is still in flight.
 */
import type { BackupProgress, Op, Pending, Request } from '../backend.js';
import { checkCall, checkQueryOptions } from '../config/validate.js';
import { TransactionError, toError } from '../errors.js';
import { leavesNoSetting, summarize } from '../sql/statements.js';
import type { CursorChunk, Params, QueryOptions, Row } from '../types.js';
import type { Grant, Lease, LeaseHooks, LeaseRelease, LeaseSettings, RequestFlags } from './lease-terms.js';
import { QueryMethods, type StatementOp } from './query-methods.js';
import { clearTimeout, setTimeout } from '../timers.js';

export type { Grant, Lease, LeaseHooks, LeaseRelease, LeaseSettings, RequestFlags, StateTracker } from './lease-terms.js';

/** Raised inside the pool when a reader finds that a probed statement writes. */
export class Reroute extends Error {}

const CLOSED_LEASE = 'This lease was released; acquire a new one';

/** Statements held to travel ahead of a lease's next request, and how they went. */
interface Prelude {
  readonly requests: Request[];
  failure: Error | undefined;
}

/** The pool's lease (see {@link Lease}). */
export class PoolLease extends QueryMethods implements Lease {
  readonly write: boolean;
  readonly readOnly: boolean;

  #released = false;
  #revoked: Error | undefined;
  #inFlight = 0;
  #returned = false;
  /** Whether {@link LeaseHooks.quiet} was last told true: lent, nothing in flight, not being given back. */
  #quiet = false;
  /** Statements waiting to go out with the next request (a transaction's BEGIN), and the last batch of them sent. */
  #prelude: Prelude | undefined;
  #sentPrelude: Prelude | undefined;
  /** The holder changed the connection's settings (a PRAGMA, ATTACH, a TEMP table): reset it before reuse. */
  #dirty = false;
  #leakTimer: NodeJS.Timeout | undefined;
  readonly #done: Promise<LeaseRelease>;
  #resolveDone!: (release: LeaseRelease) => void;

  constructor(
    private readonly grant: Grant,
    private readonly settings: LeaseSettings,
    private readonly hooks: LeaseHooks,
  ) {
    super();
    this.write = settings.write;
    this.readOnly = settings.readOnly;
    this.#done = new Promise((resolve) => (this.#resolveDone = resolve));
    if (settings.leakDetectionMs > 0) {
      this.#leakTimer = setTimeout(() => {
        hooks.warn(
          'LITEPOOL_LEASE_HELD',
          `A ${settings.write ? 'writer' : 'reader'} lease (or transaction) has been held for more than ${settings.leakDetectionMs} ms; it was taken at:\n${settings.stack ?? '(no stack)'}`,
        );
      }, settings.leakDetectionMs);
      this.#leakTimer.unref();
    }
    this.#setQuiet(true);
  }

  get released(): boolean {
    return this.#released;
  }

  get inTransaction(): boolean {
    return !this.#returned && this.grant.connection.transactionOpen;
  }

  release(): Promise<LeaseRelease> {
    if (!this.#released) {
      this.#released = true;
      clearTimeout(this.#leakTimer);
      this.#giveBackWhenQuiet();
    }
    return this.#done;
  }

  async rollback(): Promise<void> {
    if (this.#returned) throw this.#closedError();
    if (!this.grant.connection.transactionOpen && this.#inFlight === 0) return;
    await this.control('exec', 'ROLLBACK').catch((error: unknown) => {
      // "no transaction is active": there was nothing to roll back after all.
      if (this.grant.connection.transactionOpen) throw error;
    });
  }

  /** The pool is destroyed: later calls reject with `error`. */
  revoke(error: Error): void {
    this.#revoked = error;
    void this.release();
  }

  protected dispatch(op: StatementOp, sql: string, params: Params | undefined, options: QueryOptions | undefined): Promise<unknown> {
    return this.request(op, sql, params, options);
  }

  iterate<T = Row>(sql: string, params?: Params, options?: QueryOptions): AsyncIterableIterator<T> {
    return this.stream<T>(sql, params, options, {});
  }

  /** Streams rows; with `probe`, rejects with {@link Reroute} if a reader finds the statement writes. */
  async *stream<T>(
    sql: string,
    params: Params | undefined,
    options: QueryOptions | undefined,
    flags: RequestFlags,
  ): AsyncGenerator<T, void, undefined> {
    let chunk = (await this.request('iterate', sql, params, options, flags)) as CursorChunk;
    const inTransaction = flags.inTransaction === true;
    try {
      while (true) {
        // Ask for the next chunk before handing out this one: the connection reads while the caller consumes.
        const next = chunk.done
          ? undefined
          : (this.request('next', '', undefined, options, { cursor: chunk.cursor, inTransaction, internal: true }) as Promise<CursorChunk>);
        next?.catch(() => {});
        for (const row of chunk.rows) yield row as T;
        if (next === undefined) return;
        chunk = await next;
      }
    } finally {
      if (!chunk.done) await this.control('close-cursor', '', chunk.cursor).catch(() => {});
    }
  }

  /** Sends one request on the leased connection (checked first, unless the pool issues it itself). */
  request(op: Op, sql: string, params: Params | undefined, options?: QueryOptions, flags: RequestFlags = {}): Promise<unknown> {
    if (this.#released) return Promise.reject(this.#closedError());
    if (flags.internal !== true) {
      const invalid = checkCall(sql, params, op === 'exec') ?? checkQueryOptions(options);
      if (invalid !== undefined) return Promise.reject(invalid);
      const { state } = summarize(sql);
      if (state !== undefined) {
        if (this.readOnly) {
          return Promise.reject(
            new TransactionError(
              `${state} changes the connection's settings, which a read-only lease or transaction may not do`,
              'ERR_READ_ONLY',
            ),
          );
        }
        // A reset reopens the connection, which drops every session's TEMP tables there: not for a PRAGMA that ends
        // with the transaction, nor for what the session takes as its own.
        const inTransaction = this.grant.connection.transactionOpen || this.#prelude !== undefined;
        if (!leavesNoSetting(sql, inTransaction) && this.settings.tracker?.track(sql, inTransaction) !== true) this.#dirty = true;
      }
    }
    const { hold } = this.grant;
    try {
      hold.assertHeld?.();
    } catch (error) {
      return Promise.reject(toError(error));
    }
    if (hold.signal?.aborted === true) return Promise.reject(hold.signal.reason as Error);
    const request: Request = {
      op,
      sql,
      params,
      probe: flags.probe === true,
      readOnly: this.readOnly,
      inTransaction: flags.inTransaction === true,
      cursor: flags.cursor,
      settings: this.settings.settings,
      final: flags.final === true,
      keepOpen: flags.keepOpen === true,
    };
    return this.#send(request, options);
  }

  /**
   * Holds `sql` (a transaction's BEGIN, savepoints to replay) to travel ahead
   * of the next request, in the same message: if it fails, that request
   * fails with its error.
   */
  prelude(sql: string): void {
    this.#prelude ??= { requests: [], failure: undefined };
    this.#prelude.requests.push({ op: 'exec', sql, params: undefined, settings: this.settings.settings });
  }

  /** The prelude's state: `unsent` (nothing ran, so there is no transaction), `failed` (with its error), `ok`, or `none`. */
  get preludeState(): { readonly state: 'none' | 'unsent' | 'ok' } | { readonly state: 'failed'; readonly error: Error } {
    if (this.#prelude !== undefined) return { state: 'unsent' };
    const sent = this.#sentPrelude;
    if (sent === undefined) return { state: 'none' };
    return sent.failure === undefined ? { state: 'ok' } : { state: 'failed', error: sent.failure };
  }

  /**
   * Ends the transaction with `sql` (its COMMIT) and hands the connection on
   * at once: the COMMIT travels in the next holder's first message (or alone,
   * by the next turn); the connection rolls back at once if it fails.
   * Resolves when it is answered. Undefined (nothing done) when the lease
   * cannot be handed on: a hold that can be lost, changed settings, requests
   * in flight, or a connection that cannot carry requests.
   */
  commitAndHandOff(sql: string): Promise<unknown> | undefined {
    const { connection, hold } = this.grant;
    if (connection.carry === undefined || this.#released || this.#dirty || this.#inFlight > 0) return undefined;
    if (hold.signal !== undefined || hold.assertHeld !== undefined) return undefined;
    this.#released = true;
    this.#markReturned();
    clearTimeout(this.#leakTimer);
    this.hooks.released(this);
    this.grant.giveBack();
    this.#resolveDone({ rolledBack: false });
    return new Promise((resolve, reject) => {
      const request: Request = { op: 'exec', sql, params: undefined, inTransaction: true, final: true, settings: this.settings.settings };
      connection.carry!(request, { resolve, reject, timeoutMs: this.settings.statementTimeoutMs });
    });
  }

  /** An online backup on this lease's connection (see `Pool.backup`), or a restore into it (`Pool.restore`). */
  backup(
    destination: string,
    job: {
      readonly method: 'api' | 'vacuum' | 'restore';
      readonly pagesPerStep: number;
      readonly busyTimeoutMs: number;
      readonly schema: string;
      /** A restore's statements that clear the schema first. */
      readonly clear?: readonly string[] | undefined;
    },
    progress: ((progress: BackupProgress) => void) | undefined,
  ): Promise<BackupProgress> {
    if (this.#released) return Promise.reject(this.#closedError());
    const params = [job.method, job.pagesPerStep, job.busyTimeoutMs, job.schema];
    if (job.clear !== undefined) params.push(JSON.stringify(job.clear));
    const request: Request = { op: 'backup', sql: destination, params, settings: this.settings.settings };
    // No signal: a copy that has started runs to its end (an interrupt part-way failed it with SQLITE_INTERRUPT).
    return this.#send(request, { timeoutMs: 0 }, progress) as Promise<BackupProgress>;
  }

  /** Sends a control statement (ROLLBACK, RELEASE, closing a cursor): allowed after the hold was lost, since it only undoes work. */
  control(op: Op, sql: string, cursor?: number): Promise<unknown> {
    if (this.#returned) return Promise.reject(this.#closedError());
    return this.#send({ op, sql, params: undefined, cursor, settings: this.settings.settings }, undefined);
  }

  #closedError(): Error {
    return this.#revoked ?? new TransactionError(CLOSED_LEASE, 'ERR_TRANSACTION_CLOSED');
  }

  #send(request: Request, options: QueryOptions | undefined, progress?: (progress: BackupProgress) => void): Promise<unknown> {
    this.#inFlight++;
    this.#setQuiet(false);
    const prelude = request.op === 'backup' ? undefined : this.#prelude;
    if (prelude !== undefined) {
      this.#prelude = undefined;
      this.#sentPrelude = prelude;
    }
    const { connection, hold } = this.grant;
    return new Promise((resolve, reject) => {
      const waiter: Pending = {
        resolve: (value) => {
          this.#settled();
          resolve(value);
        },
        reject: (error) => {
          this.#settled();
          reject(prelude?.failure ?? error);
        },
        reroute: () => {
          this.#settled();
          reject(new Reroute());
        },
        timeoutMs: options?.timeoutMs ?? this.settings.statementTimeoutMs,
        signal: options?.signal,
        progress,
      };
      if (prelude === undefined) {
        void connection.send([request], [waiter], { holdSignal: hold.signal });
        return;
      }
      // The prelude first, in the same message; its answers come before the request's.
      const quiet: Pending = {
        resolve: () => {},
        reject: (error) => {
          prelude.failure ??= error;
        },
        timeoutMs: this.settings.statementTimeoutMs,
      };
      void connection.send([...prelude.requests, request], [...prelude.requests.map(() => quiet), waiter], { holdSignal: hold.signal });
    });
  }

  #settled(): void {
    this.#inFlight--;
    if (this.#released) this.#giveBackWhenQuiet();
    else if (this.#inFlight === 0) this.#setQuiet(true);
  }

  /** Being given back: work again (a rollback, the hand-over) until the lane has the connection. */
  #markReturned(): void {
    this.#returned = true;
    this.#setQuiet(false);
  }

  #setQuiet(quiet: boolean): void {
    if (this.#quiet === quiet) return;
    this.#quiet = quiet;
    this.hooks.quiet(quiet);
  }

  /**
   * Once nothing is in flight: rolls back a transaction the holder left
   * open, resets the connection if its settings changed, and gives it back.
   */
  #giveBackWhenQuiet(): void {
    if (this.#returned || this.#inFlight > 0) return;
    this.#markReturned();
    const { connection } = this.grant;
    const finish = (rolledBack: boolean, reset: boolean): void => {
      if (reset) connection.reset();
      this.hooks.released(this);
      this.grant.giveBack();
      this.#resolveDone({ rolledBack });
    };
    if (!connection.transactionOpen || connection.dead !== undefined) {
      finish(false, this.#dirty);
      return;
    }
    this.hooks.warn(
      'LITEPOOL_LEASE_ROLLED_BACK',
      `A ${this.write ? 'writer' : 'reader'} lease was released inside a transaction; the transaction was rolled back before the connection was reused (end it with COMMIT before release())`,
    );
    void new Promise<void>((settle) => {
      void connection.send(
        [{ op: 'exec', sql: 'ROLLBACK', params: undefined, settings: this.settings.settings }],
        [{ resolve: () => settle(), reject: () => settle() }],
      );
    }).then(() => finish(true, this.#dirty || connection.transactionOpen));
  }
}
