/**
 * Leases and transactions: a connection held exclusively across awaits.
 * Nothing else runs on a leased connection until it is released, and nothing
 * a holder did to it (an open transaction, changed settings) reaches the next
 * holder.
 */
import { checkCall, checkQueryOptions } from '../config/validate.js';
import { ArgumentError, TransactionError, toError } from '../errors.js';
import { summarize } from '../sql/statements.js';
import type { CursorChunk, Params, QueryOptions, Row, RunResult } from '../types.js';
import type { BackupProgress, Op, Pending, Request, Settings } from './connection.js';
import type { Grant } from './lane.js';

/** The query methods shared by the pool, leases and transactions. */
export interface Queryable {
  /** Runs a statement that returns no rows (or ignores them). */
  run(sql: string, params?: Params, options?: QueryOptions): Promise<RunResult>;
  /** Runs a statement and returns its first row, or undefined. */
  get<T = Row>(sql: string, params?: Params, options?: QueryOptions): Promise<T | undefined>;
  /** Runs a statement and returns all its rows. */
  all<T = Row>(sql: string, params?: Params, options?: QueryOptions): Promise<T[]>;
  /** Runs a statement and returns all its rows as arrays of column values, in column order. */
  values<T extends unknown[] = unknown[]>(sql: string, params?: Params, options?: QueryOptions): Promise<T[]>;
  /** Runs a script of one or more statements without parameters. */
  exec(sql: string, options?: QueryOptions): Promise<void>;
  /** Streams a statement's rows, a chunk per message; `break` stops the statement. */
  iterate<T = Row>(sql: string, params?: Params, options?: QueryOptions): AsyncIterableIterator<T>;
}

/** How a transaction begins. */
export type TransactionMode = 'immediate' | 'deferred' | 'read';

/** The handle a transaction callback receives. Valid only until the callback settles. */
export interface Transaction extends Queryable {
  /** How this transaction began. */
  readonly mode: TransactionMode;
  /** A nested transaction: a SAVEPOINT, released on success and rolled back on a throw. */
  transaction<T>(fn: (tx: Transaction) => Promise<T> | T): Promise<T>;
  /** Calls a procedure of the pool's `procedures` module inside this transaction (a write procedure nests as a SAVEPOINT). */
  call<T = unknown>(name: string, ...args: unknown[]): Promise<T>;
}

/** The one-shot statements every handle offers. */
export type StatementOp = 'run' | 'get' | 'all' | 'values' | 'exec';

/** @internal `run`/`get`/`all`/`exec` on top of one `dispatch`, for handles that forward statements elsewhere. */
export abstract class QueryMethods {
  /** @internal Sends one statement where this handle sends them. */
  protected abstract dispatch(
    op: StatementOp,
    sql: string,
    params: Params | undefined,
    options: QueryOptions | undefined,
  ): Promise<unknown>;

  /** Runs a statement that returns no rows (or ignores them). */
  run(sql: string, params?: Params, options?: QueryOptions): Promise<RunResult> {
    return this.dispatch('run', sql, params, options) as Promise<RunResult>;
  }

  /** Runs a statement and returns its first row, or undefined. */
  get<T = Row>(sql: string, params?: Params, options?: QueryOptions): Promise<T | undefined> {
    return this.dispatch('get', sql, params, options) as Promise<T | undefined>;
  }

  /** Runs a statement and returns all its rows. */
  all<T = Row>(sql: string, params?: Params, options?: QueryOptions): Promise<T[]> {
    return this.dispatch('all', sql, params, options) as Promise<T[]>;
  }

  /**
   * Runs a statement and returns all its rows as arrays of column values, in
   * column order (for callers whose columns may share a name, as a join's
   * two `id` columns do).
   */
  values<T extends unknown[] = unknown[]>(sql: string, params?: Params, options?: QueryOptions): Promise<T[]> {
    return this.dispatch('values', sql, params, options) as Promise<T[]>;
  }

  /** Runs a script of one or more statements without parameters. */
  exec(sql: string, options?: QueryOptions): Promise<void> {
    return this.dispatch('exec', sql, undefined, options) as Promise<void>;
  }
}

/** Raised inside the pool when a reader finds that a probed statement writes. */
export class Reroute extends Error {}

const CLOSED_LEASE = 'This lease was released; acquire a new one';
/** @internal What a settled transaction's handle says when used. */
export const CLOSED_TRANSACTION = 'This transaction has settled; use tx only inside its callback (and await its calls)';

/** How a lease ended, from {@link Lease.release}. */
export interface LeaseRelease {
  /** The lease was given back inside a transaction, which was rolled back before anyone else got the connection. */
  readonly rolledBack: boolean;
}

/** What a lease tells its pool. */
export interface LeaseHooks {
  /** The lease gave its connection back. */
  released(lease: Lease): void;
  /** Something its holder should know (reported as a `warning` event). */
  warn(code: string, message: string): void;
}

/**
 * Who keeps track of connection state a caller creates on purpose: a session,
 * whose TEMP objects and ATTACHed databases live on the writer until it
 * closes (instead of being wiped when its lease ends).
 */
export interface StateTracker {
  /** Records `sql` if it creates or drops such state; true when it did (the connection then needs no reset). */
  track(sql: string): boolean;
}

/** How a lease was taken. */
export interface LeaseSettings {
  /** Whether this lease is on the writer. */
  readonly write: boolean;
  /** Whether statements that write (or change the connection's settings) are refused. */
  readonly readOnly: boolean;
  /** Report the lease once it is held this long (0: never). */
  readonly leakDetectionMs: number;
  /** Where it was taken, for that report. */
  readonly stack: string | undefined;
  /** Limit of each statement's run time when the call sets none (0: none). */
  readonly statementTimeoutMs: number;
  /** The connection settings of the session it was taken for (undefined: the pool's own). */
  readonly connection: Settings | undefined;
  /** The session's record of its TEMP objects and ATTACHed databases, if any. */
  readonly tracker: StateTracker | undefined;
}

/** @internal How a request of a lease is sent. */
interface RequestFlags {
  readonly probe?: boolean;
  readonly cursor?: number;
  /** Part of a transaction the pool began (SQLite having ended it is an error, not autocommit). */
  readonly inTransaction?: boolean;
  /** Issued by the pool itself (BEGIN, COMMIT, SAVEPOINT): not subject to the rules for callers' statements. */
  readonly internal?: boolean;
  /** Ends the transaction (the pool's COMMIT): if it fails, the worker rolls back at once. */
  readonly final?: boolean;
}

/** A BEGIN held back to travel with the transaction's first statement, and how it went. */
interface DeferredBegin {
  readonly request: Request;
  sent: boolean;
  failure: Error | undefined;
}

/** A connection lent exclusively to one caller until {@link release}. */
export class Lease extends QueryMethods implements Queryable {
  /** Whether this lease is on the writer. */
  readonly write: boolean;
  /** Whether statements that write are refused. */
  readonly readOnly: boolean;

  #released = false;
  #begin: DeferredBegin | undefined;
  #revoked: Error | undefined;
  #inFlight = 0;
  #returned = false;
  /** The holder changed the connection's settings (a PRAGMA, ATTACH, a TEMP table): reset it before reuse. */
  #dirty = false;
  #leakTimer: NodeJS.Timeout | undefined;
  readonly #done: Promise<LeaseRelease>;
  #resolveDone!: (release: LeaseRelease) => void;

  /** @internal Created by the pool. */
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
  }

  /** Whether {@link release} was called (or the pool revoked the lease). */
  get released(): boolean {
    return this.#released;
  }

  /**
   * Whether the connection is inside a transaction, as SQLite reported after
   * the last statement that settled (false once released).
   */
  get inTransaction(): boolean {
    return !this.#returned && this.grant.connection.transactionOpen;
  }

  /**
   * Gives the connection back to the pool. Safe to call more than once. A
   * transaction left open is rolled back first (and reported): the promise
   * says so once the connection is back; it never rejects.
   */
  release(): Promise<LeaseRelease> {
    if (!this.#released) {
      this.#released = true;
      clearTimeout(this.#leakTimer);
      this.#giveBackWhenQuiet();
    }
    return this.#done;
  }

  /** @internal The pool is destroyed: later calls reject with `error`. */
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

  /** @internal Streams rows; with `probe`, rejects with {@link Reroute} if a reader finds the statement writes. */
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
        // Ask for the next chunk before handing out this one: the worker reads while the caller consumes.
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

  /** @internal Sends one request on the leased connection. */
  request(op: Op, sql: string, params: Params | undefined, options?: QueryOptions, flags: RequestFlags = {}): Promise<unknown> {
    if (this.#released) return Promise.reject(this.#revoked ?? new TransactionError(CLOSED_LEASE, 'ERR_TRANSACTION_CLOSED'));
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
        if (this.settings.tracker?.track(sql) !== true) this.#dirty = true;
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
      settings: this.settings.connection,
      final: flags.final === true,
    };
    return this.#send(request, this.grant.abortFlag, options);
  }

  /**
   * @internal Holds `sql` (the transaction's BEGIN) back until the first
   * request, which it travels with: one message instead of two. If it fails,
   * that request fails with BEGIN's error.
   */
  deferBegin(sql: string): void {
    this.#begin = { request: { op: 'exec', sql, params: undefined, settings: this.settings.connection }, sent: false, failure: undefined };
  }

  /** @internal The deferred BEGIN's state: `unsent` (no statement ran, so there is no transaction), `failed` (with its error), or `ok`. */
  get beginState(): { readonly state: 'none' | 'unsent' | 'ok' } | { readonly state: 'failed'; readonly error: Error } {
    const begin = this.#begin;
    if (begin === undefined) return { state: 'none' };
    if (!begin.sent) return { state: 'unsent' };
    return begin.failure === undefined ? { state: 'ok' } : { state: 'failed', error: begin.failure };
  }

  /**
   * @internal Gives the connection back while the transaction's final COMMIT
   * is in flight: the worker runs the next holder's work after it (and rolls
   * back itself if COMMIT fails). Only for holds that cannot be lost and a
   * connection whose settings did not change; false (nothing done) otherwise.
   */
  handOff(): boolean {
    const { hold } = this.grant;
    if (this.#released || this.#dirty || this.#inFlight > 0 || hold.signal !== undefined || hold.assertHeld !== undefined) return false;
    this.#released = true;
    this.#returned = true;
    clearTimeout(this.#leakTimer);
    this.hooks.released(this);
    this.grant.giveBack();
    this.#resolveDone({ rolledBack: false });
    return true;
  }

  /**
   * @internal Ends the transaction with `sql` (its COMMIT) and hands the
   * connection on at once (see {@link handOff}): the COMMIT travels in the
   * next holder's first message, or alone if none is sent by the next turn.
   * Resolves when it is answered. Undefined when the lease cannot be handed on.
   */
  commitAndHandOff(sql: string): Promise<unknown> | undefined {
    const { connection } = this.grant;
    const settings = this.settings.connection;
    if (connection.carry === undefined || !this.handOff()) return undefined;
    return new Promise((resolve, reject) => {
      const request: Request = { op: 'exec', sql, params: undefined, inTransaction: true, final: true, settings };
      connection.carry!(request, { resolve, reject, timeoutMs: this.settings.statementTimeoutMs });
    });
  }

  /** @internal An online backup on this lease's connection (see `Pool.backup`). */
  backup(
    destination: string,
    method: 'api' | 'vacuum',
    pagesPerStep: number,
    progress: ((progress: BackupProgress) => void) | undefined,
    signal: AbortSignal | undefined,
  ): Promise<BackupProgress> {
    if (this.#released) return Promise.reject(this.#revoked ?? new TransactionError(CLOSED_LEASE, 'ERR_TRANSACTION_CLOSED'));
    const request: Request = { op: 'backup', sql: destination, params: [method, pagesPerStep], settings: this.settings.connection };
    return this.#send(
      request,
      this.grant.abortFlag,
      { timeoutMs: 0, ...(signal === undefined ? {} : { signal }) },
      progress,
    ) as Promise<BackupProgress>;
  }

  /**
   * @internal Sends a control statement (ROLLBACK, RELEASE, closing a cursor):
   * allowed after the hold was lost, since it only undoes work.
   */
  control(op: Op, sql: string, cursor?: number): Promise<unknown> {
    if (this.#returned) return Promise.reject(this.#revoked ?? new TransactionError(CLOSED_LEASE, 'ERR_TRANSACTION_CLOSED'));
    return this.#send({ op, sql, params: undefined, cursor, settings: this.settings.connection }, undefined, undefined);
  }

  #send(
    request: Request,
    abortFlag: Int32Array | undefined,
    options: QueryOptions | undefined,
    progress?: (progress: BackupProgress) => void,
  ): Promise<unknown> {
    this.#inFlight++;
    const begin = this.#begin !== undefined && !this.#begin.sent && request.op !== 'backup' ? this.#begin : undefined;
    if (begin !== undefined) begin.sent = true;
    return new Promise((resolve, reject) => {
      const fail = (error: Error): void => reject(begin?.failure ?? error);
      const waiter: Pending = {
        resolve: (value) => {
          this.#settled();
          resolve(value);
        },
        reject: (error) => {
          this.#settled();
          fail(error);
        },
        reroute: () => {
          this.#settled();
          reject(new Reroute());
        },
        timeoutMs: options?.timeoutMs ?? this.settings.statementTimeoutMs,
        signal: options?.signal,
        progress,
      };
      if (begin === undefined) {
        void this.grant.connection.send([request], [waiter], { abortFlag });
        return;
      }
      // BEGIN first, in the same message; its answer comes before the statement's.
      const beginWaiter: Pending = {
        resolve: () => {},
        reject: (error) => {
          begin.failure = error;
        },
        timeoutMs: this.settings.statementTimeoutMs,
      };
      void this.grant.connection.send([begin.request, request], [beginWaiter, waiter], { abortFlag });
    });
  }

  #settled(): void {
    this.#inFlight--;
    if (this.#released) this.#giveBackWhenQuiet();
  }

  /**
   * Once nothing is in flight: rolls back a transaction the holder left
   * open, marks the connection for a reset if its settings changed, and
   * gives it back.
   */
  #giveBackWhenQuiet(): void {
    if (this.#returned || this.#inFlight > 0) return;
    this.#returned = true;
    const { connection } = this.grant;
    const finish = (rolledBack: boolean, reset: boolean): void => {
      // Epoch -1 makes the connection reopen before its next use: back to the pool's own settings.
      if (reset) connection.epoch = -1;
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
        [{ op: 'exec', sql: 'ROLLBACK', params: undefined, settings: this.settings.connection }],
        [{ resolve: () => settle(), reject: () => settle() }],
      );
    }).then(() => finish(true, this.#dirty || connection.transactionOpen));
  }
}

/** The `tx` of a transaction callback: a view of a lease that closes when the callback settles. */
class TransactionScope extends QueryMethods implements Transaction {
  #closed = false;
  #child: Promise<unknown> | undefined;

  constructor(
    private readonly lease: Lease,
    readonly mode: TransactionMode,
    private readonly depth: number,
  ) {
    super();
  }

  close(): void {
    this.#closed = true;
  }

  async *iterate<T = Row>(sql: string, params?: Params, options?: QueryOptions): AsyncIterableIterator<T> {
    this.#ensureOpen();
    const refused = refuseControl(sql);
    if (refused !== undefined) throw refused;
    if (this.#child !== undefined) await this.#child.catch(() => {});
    yield* this.lease.stream<T>(sql, params, options, { inTransaction: true });
  }

  async transaction<T>(fn: (tx: Transaction) => Promise<T> | T): Promise<T> {
    this.#ensureOpen();
    if (typeof fn !== 'function') throw new TransactionError('transaction(fn) needs a function', 'ERR_INVALID_ARGUMENT');
    while (this.#child !== undefined) await this.#child.catch(() => {});
    // One savepoint per depth is enough: siblings at one depth never overlap.
    const name = `litepool_sp_${this.depth + 1}`;
    const child = runScoped(this.lease, this.mode, fn, {
      begin: `SAVEPOINT ${name}`,
      commit: `RELEASE ${name}`,
      rollback: `ROLLBACK TO ${name}; RELEASE ${name}`,
      depth: this.depth + 1,
    });
    this.#child = child;
    try {
      return await child;
    } finally {
      if (this.#child === child) this.#child = undefined;
    }
  }

  #ensureOpen(): void {
    if (this.#closed) throw new TransactionError(CLOSED_TRANSACTION, 'ERR_TRANSACTION_CLOSED');
  }

  call<T = unknown>(name: string, ...args: unknown[]): Promise<T> {
    if (this.#closed) return Promise.reject(new TransactionError(CLOSED_TRANSACTION, 'ERR_TRANSACTION_CLOSED'));
    if (typeof name !== 'string' || name.length === 0) return Promise.reject(new ArgumentError('call(name): a procedure name is expected'));
    // The worker resolves the name (an unknown one fails there); the arguments are not bind values, so not checked as such.
    return this.lease.request('call', name, args as Params, undefined, { inTransaction: true, internal: true }) as Promise<T>;
  }

  protected dispatch(op: StatementOp, sql: string, params: Params | undefined, options: QueryOptions | undefined): Promise<unknown> {
    if (this.#closed) return Promise.reject(new TransactionError(CLOSED_TRANSACTION, 'ERR_TRANSACTION_CLOSED'));
    const refused = typeof sql === 'string' ? refuseControl(sql) : undefined;
    if (refused !== undefined) return Promise.reject(refused);
    // Calls on the parent wait for a nested transaction to finish, so they never land inside its savepoint.
    const child = this.#child;
    if (child !== undefined) {
      const retry = (): Promise<unknown> => this.dispatch(op, sql, params, options);
      return child.then(retry, retry);
    }
    return this.lease.request(op, sql, params, options, { inTransaction: true });
  }
}

/**
 * Inside a transaction callback, a statement that begins or ends a
 * transaction would end (or break) the pool's: refused. Savepoints of the
 * caller's own are fine (they never end the outer transaction); the pool's
 * own (`litepool_…`) are not the caller's to touch.
 */
function refuseControl(sql: string): TransactionError | undefined {
  const { transaction, savepoint, poolSavepoint } = summarize(sql);
  const refused = transaction ?? (poolSavepoint ? savepoint : undefined);
  if (refused === undefined) return undefined;
  return new TransactionError(
    `${refused} cannot run inside pool.transaction(): the transaction ends when the callback settles (return to commit, throw to roll back); use tx.transaction(fn) for a savepoint`,
    'ERR_TRANSACTION_CONTROL',
  );
}

/**
 * Runs `fn` between `begin` and `commit` on a lease; on a throw (or a failed
 * commit) runs `rollback` and rethrows. The scope closes when `fn` settles.
 */
export async function runScoped<T>(
  lease: Lease,
  mode: TransactionMode,
  fn: (tx: Transaction) => Promise<T> | T,
  statements: { readonly begin: string; readonly commit: string; readonly rollback: string; readonly depth: number },
  handOff = false,
): Promise<T> {
  const { begin, commit, rollback, depth } = statements;
  // A transaction's BEGIN travels with its first statement (a nested one's SAVEPOINT is sent at once).
  if (depth === 0) lease.deferBegin(begin);
  else await lease.request('exec', begin, undefined, undefined, { internal: true, inTransaction: depth > 0 });
  const scope = new TransactionScope(lease, mode, depth);
  let result: T;
  try {
    result = await fn(scope);
    scope.close();
    const started = lease.beginState;
    if (started.state === 'unsent') return result; // no statement ran: there is nothing to commit
    if (started.state === 'failed') throw started.error;
    const committed =
      (handOff === true ? lease.commitAndHandOff(commit) : undefined) ??
      lease.request('exec', commit, undefined, undefined, { internal: true, inTransaction: true, final: depth === 0 });
    await committed;
  } catch (error) {
    scope.close();
    const started = lease.beginState;
    // Nothing to undo when BEGIN never ran or failed; a failed final COMMIT was rolled back by the worker.
    if (started.state !== 'unsent' && started.state !== 'failed' && !lease.released) await lease.control('exec', rollback).catch(() => {});
    throw started.state === 'failed' ? started.error : error;
  }
  return result;
}

/** How one member of a group of transactions ended; `broken`: the shared transaction is unusable. */
export type MemberOutcome<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown; readonly broken: boolean };

/**
 * Runs `fn` as one member of a group of transactions sharing one outer
 * transaction (group commit of transactions): inside its own SAVEPOINT, rolled
 * back alone on a throw. When even the rollback fails (SQLite ended the outer
 * transaction itself, as it may on SQLITE_FULL or an I/O error), the outcome
 * is `broken` and the group must not go on.
 */
export async function runMember<T>(lease: Lease, fn: (tx: Transaction) => Promise<T> | T): Promise<MemberOutcome<T>> {
  const flags = { internal: true, inTransaction: true };
  try {
    await lease.request('exec', 'SAVEPOINT litepool_member', undefined, undefined, flags);
  } catch (error) {
    return { ok: false, error, broken: true };
  }
  const scope = new TransactionScope(lease, 'immediate', 1);
  try {
    const value = await fn(scope);
    scope.close();
    await lease.request('exec', 'RELEASE litepool_member', undefined, undefined, flags);
    return { ok: true, value };
  } catch (error) {
    scope.close();
    try {
      await lease.request('exec', 'ROLLBACK TO litepool_member; RELEASE litepool_member', undefined, undefined, flags);
      return { ok: false, error, broken: false };
    } catch {
      return { ok: false, error, broken: true };
    }
  }
}
