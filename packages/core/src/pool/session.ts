/**
 * Leases and transactions: a connection held exclusively across awaits.
 * Nothing else runs on a leased connection until it is released.
 */
import type { Pending } from '../local/worker-connection.js';
import { TransactionError } from '../errors.js';
import type { Grant } from './lane.js';
import type { CursorChunk, Op, Params, RunResult, WireRequest } from '../local/protocol.js';
import { checkCall } from '../config/validate.js';

/** A result row: column name to value (number, bigint, string, Buffer, null). */
export type Row = Record<string, unknown>;

/** The query methods shared by the pool, leases and transactions. */
export interface Queryable {
  /** Runs a statement that returns no rows (or ignores them). */
  run(sql: string, params?: Params): Promise<RunResult>;
  /** Runs a statement and returns its first row, or undefined. */
  get<T = Row>(sql: string, params?: Params): Promise<T | undefined>;
  /** Runs a statement and returns all its rows. */
  all<T = Row>(sql: string, params?: Params): Promise<T[]>;
  /** Runs a script of one or more statements without parameters. */
  exec(sql: string): Promise<void>;
  /** Streams a statement's rows, a chunk per message; `break` stops the statement. */
  iterate<T = Row>(sql: string, params?: Params): AsyncIterableIterator<T>;
}

/** How a transaction begins. */
export type TransactionMode = 'immediate' | 'deferred' | 'read';

/** The handle a transaction callback receives. Valid only until the callback settles. */
export interface Transaction extends Queryable {
  /** How this transaction began. */
  readonly mode: TransactionMode;
  /** A nested transaction: a SAVEPOINT, released on success and rolled back on a throw. */
  transaction<T>(fn: (tx: Transaction) => Promise<T> | T): Promise<T>;
}

/** The one-shot statements every handle offers. */
export type StatementOp = 'run' | 'get' | 'all' | 'exec';

/** @internal `run`/`get`/`all`/`exec` on top of one `dispatch`, for handles that forward statements elsewhere. */
export abstract class QueryMethods {
  /** @internal Sends one statement where this handle sends them. */
  protected abstract dispatch(op: StatementOp, sql: string, params: Params | undefined): Promise<unknown>;

  /** Runs a statement that returns no rows (or ignores them). */
  run(sql: string, params?: Params): Promise<RunResult> {
    return this.dispatch('run', sql, params) as Promise<RunResult>;
  }

  /** Runs a statement and returns its first row, or undefined. */
  get<T = Row>(sql: string, params?: Params): Promise<T | undefined> {
    return this.dispatch('get', sql, params) as Promise<T | undefined>;
  }

  /** Runs a statement and returns all its rows. */
  all<T = Row>(sql: string, params?: Params): Promise<T[]> {
    return this.dispatch('all', sql, params) as Promise<T[]>;
  }

  /** Runs a script of one or more statements without parameters. */
  exec(sql: string): Promise<void> {
    return this.dispatch('exec', sql, undefined) as Promise<void>;
  }
}

/** Raised inside the pool when a reader finds that a probed statement writes. */
export class Reroute extends Error {}

const CLOSED_LEASE = 'This lease was released; acquire a new one';
/** @internal What a settled transaction's handle says when used. */
export const CLOSED_TRANSACTION = 'This transaction has settled; use tx only inside its callback (and await its calls)';

/** A connection lent exclusively to one caller until {@link release}. */
export class Lease extends QueryMethods implements Queryable {
  #released = false;
  #revoked: Error | undefined;
  #inFlight = 0;
  #returned = false;

  /** @internal Created by the pool. */
  constructor(
    private readonly grant: Grant,
    /** Whether this lease is on the writer. */
    readonly write: boolean,
    /** Whether statements that write are refused. */
    readonly readOnly: boolean,
    private readonly nextId: () => number,
    private readonly onReleased: (lease: Lease) => void,
  ) {
    super();
  }

  /** Whether {@link release} was called (or the pool revoked the lease). */
  get released(): boolean {
    return this.#released;
  }

  /** Gives the connection back to the pool. Safe to call more than once. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#giveBackWhenQuiet();
  }

  /** @internal The pool is destroyed: later calls reject with `error`. */
  revoke(error: Error): void {
    this.#revoked = error;
    this.release();
  }

  protected dispatch(op: StatementOp, sql: string, params: Params | undefined): Promise<unknown> {
    return this.request(op, sql, params);
  }

  iterate<T = Row>(sql: string, params?: Params): AsyncIterableIterator<T> {
    return this.stream<T>(sql, params, false);
  }

  /** @internal Streams rows; with `probe`, rejects with {@link Reroute} if a reader finds the statement writes. */
  async *stream<T>(sql: string, params: Params | undefined, probe: boolean): AsyncGenerator<T, void, undefined> {
    let chunk = (await this.request('iterate', sql, params, undefined, probe)) as CursorChunk;
    try {
      while (true) {
        // Ask for the next chunk before handing out this one: the worker reads while the caller consumes.
        const next = chunk.done ? undefined : (this.request('next', '', undefined, chunk.cursor) as Promise<CursorChunk>);
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
  request(op: Op, sql: string, params: Params | undefined, cursor?: number, probe = false): Promise<unknown> {
    const invalid = this.#released
      ? (this.#revoked ?? new TransactionError(CLOSED_LEASE, 'ERR_TRANSACTION_CLOSED'))
      : checkCall(sql, params, op === 'next' || op === 'close-cursor');
    if (invalid !== undefined) return Promise.reject(invalid);
    const { hold } = this.grant;
    try {
      hold.assertHeld?.();
    } catch (error) {
      return Promise.reject(error as Error);
    }
    if (hold.signal?.aborted === true) return Promise.reject(hold.signal.reason as Error);
    return this.#send({ id: this.nextId(), op, sql, params, probe, readOnly: this.readOnly, cursor }, this.grant.abortFlag);
  }

  /**
   * @internal Sends a control statement (ROLLBACK, RELEASE, closing a cursor):
   * allowed after the hold was lost, since it only undoes work.
   */
  control(op: Op, sql: string, cursor?: number): Promise<unknown> {
    if (this.#returned) return Promise.reject(this.#revoked ?? new TransactionError(CLOSED_LEASE, 'ERR_TRANSACTION_CLOSED'));
    return this.#send({ id: this.nextId(), op, sql, params: undefined, cursor }, undefined);
  }

  #send(request: WireRequest, abortFlag: Int32Array | undefined): Promise<unknown> {
    this.#inFlight++;
    return new Promise((resolve, reject) => {
      const waiter: Pending = {
        resolve: (value) => {
          this.#settled();
          resolve(value);
        },
        reject: (error) => {
          this.#settled();
          reject(error);
        },
        reroute: () => {
          this.#settled();
          reject(new Reroute());
        },
      };
      void this.grant.connection.send([request], [waiter], { abortFlag });
    });
  }

  #settled(): void {
    this.#inFlight--;
    if (this.#released) this.#giveBackWhenQuiet();
  }

  #giveBackWhenQuiet(): void {
    if (this.#returned || this.#inFlight > 0) return;
    this.#returned = true;
    this.onReleased(this);
    this.grant.giveBack();
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

  async *iterate<T = Row>(sql: string, params?: Params): AsyncIterableIterator<T> {
    this.#ensureOpen();
    if (this.#child !== undefined) await this.#child.catch(() => {});
    yield* this.lease.stream<T>(sql, params, false);
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

  protected dispatch(op: StatementOp, sql: string, params: Params | undefined): Promise<unknown> {
    if (this.#closed) return Promise.reject(new TransactionError(CLOSED_TRANSACTION, 'ERR_TRANSACTION_CLOSED'));
    // Calls on the parent wait for a nested transaction to finish, so they never land inside its savepoint.
    const child = this.#child;
    if (child !== undefined) {
      const retry = (): Promise<unknown> => this.dispatch(op, sql, params);
      return child.then(retry, retry);
    }
    return this.lease.request(op, sql, params);
  }
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
): Promise<T> {
  const { begin, commit, rollback, depth } = statements;
  await lease.request('exec', begin, undefined);
  const scope = new TransactionScope(lease, mode, depth);
  let result: T;
  try {
    result = await fn(scope);
    scope.close();
    await lease.request('exec', commit, undefined);
  } catch (error) {
    scope.close();
    await lease.control('exec', rollback).catch(() => {});
    throw error;
  }
  return result;
}

/** How one member of a group of transactions ended; `broken`: the shared transaction is unusable. */
export type MemberOutcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown; readonly broken: boolean };

/**
 * Runs `fn` as one member of a group of transactions sharing one outer
 * transaction (group commit of transactions): inside its own SAVEPOINT, rolled
 * back alone on a throw. When even the rollback fails (SQLite ended the outer
 * transaction itself, as it may on SQLITE_FULL or an I/O error), the outcome
 * is `broken` and the group must not go on.
 */
export async function runMember<T>(lease: Lease, fn: (tx: Transaction) => Promise<T> | T): Promise<MemberOutcome<T>> {
  try {
    await lease.request('exec', 'SAVEPOINT litepool_member', undefined);
  } catch (error) {
    return { ok: false, error, broken: true };
  }
  const scope = new TransactionScope(lease, 'immediate', 1);
  try {
    const value = await fn(scope);
    scope.close();
    await lease.request('exec', 'RELEASE litepool_member', undefined);
    return { ok: true, value };
  } catch (error) {
    scope.close();
    try {
      await lease.control('exec', 'ROLLBACK TO litepool_member; RELEASE litepool_member');
      return { ok: false, error, broken: false };
    } catch {
      return { ok: false, error, broken: true };
    }
  }
}
