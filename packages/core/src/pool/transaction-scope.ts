/**
 * The `tx` handle of a transaction: its statements, nested transactions (a
 * SAVEPOINT each) and procedure calls, valid until its callback settles. It
 * refuses what would end the pool's transaction behind its back (BEGIN,
 * COMMIT, the pool's own savepoints).
 */
import { ArgumentError, TransactionError } from '../errors.js';
import { summarize } from '../sql/statements.js';
import type { Op } from '../backend.js';
import type { Params, QueryOptions, Row } from '../types.js';
import { QueryMethods, type Queryable, type StatementOp } from './query-methods.js';

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

/** Where a transaction's statements go: the transaction itself (it knows its connections). */
export interface TransactionChannel {
  /** A caller's statement in the transaction. */
  statement(op: StatementOp, sql: string, params: Params | undefined, options: QueryOptions | undefined): Promise<unknown>;
  /** A caller's streamed statement in the transaction. */
  stream<T>(sql: string, params: Params | undefined, options: QueryOptions | undefined): AsyncIterableIterator<T>;
  /** The pool's own statement (a SAVEPOINT, its RELEASE or ROLLBACK TO). */
  internal(op: Op, sql: string, params?: Params): Promise<unknown>;
}

/** What a settled transaction's handle says when used. */
export const CLOSED_TRANSACTION = 'This transaction has settled; use tx only inside its callback (and await its calls)';

/**
 * Inside a transaction, a statement that begins or ends a transaction would
 * end (or break) the pool's: refused. Savepoints of the caller's own are fine
 * (they never end the outer transaction); the pool's own (`litepool_…`) are
 * not the caller's to touch.
 */
export function refuseControl(sql: string): TransactionError | undefined {
  const { transaction, savepoint, poolSavepoint } = summarize(sql);
  const refused = transaction ?? (poolSavepoint ? savepoint : undefined);
  if (refused === undefined) return undefined;
  return new TransactionError(
    `${refused} cannot run inside pool.transaction(): the transaction ends when the callback settles (return to commit, throw to roll back); use tx.transaction(fn) for a savepoint`,
    'ERR_TRANSACTION_CONTROL',
  );
}

/** The `tx` of a transaction callback (or of a nested one, at `depth` > 0). */
export class TransactionScope extends QueryMethods implements Transaction {
  #closed = false;
  #child: Promise<unknown> | undefined;

  constructor(
    private readonly channel: TransactionChannel,
    readonly mode: TransactionMode,
    private readonly depth: number,
  ) {
    super();
  }

  /** Ends the handle: later calls reject with `ERR_TRANSACTION_CLOSED`. */
  close(): void {
    this.#closed = true;
  }

  async *iterate<T = Row>(sql: string, params?: Params, options?: QueryOptions): AsyncIterableIterator<T> {
    this.#ensureOpen();
    const refused = refuseControl(sql);
    if (refused !== undefined) throw refused;
    if (this.#child !== undefined) await this.#child.catch(() => {});
    yield* this.channel.stream<T>(sql, params, options);
  }

  async transaction<T>(fn: (tx: Transaction) => Promise<T> | T): Promise<T> {
    this.#ensureOpen();
    if (typeof fn !== 'function') throw new ArgumentError(`transaction(fn) needs a function, got ${typeof fn}`);
    while (this.#child !== undefined) await this.#child.catch(() => {});
    const child = this.#nested(fn);
    this.#child = child;
    try {
      return await child;
    } finally {
      if (this.#child === child) this.#child = undefined;
    }
  }

  /** A nested transaction: one savepoint per depth is enough, as siblings at one depth never overlap. */
  async #nested<T>(fn: (tx: Transaction) => Promise<T> | T): Promise<T> {
    const name = `litepool_sp_${this.depth + 1}`;
    await this.channel.internal('exec', `SAVEPOINT ${name}`);
    const scope = new (this.constructor as typeof TransactionScope)(this.channel, this.mode, this.depth + 1); // not by name: see scripts/bundle.mjs
    try {
      const result = await fn(scope);
      scope.close();
      await this.channel.internal('exec', `RELEASE ${name}`);
      return result;
    } catch (error) {
      scope.close();
      await this.channel.internal('exec', `ROLLBACK TO ${name}; RELEASE ${name}`).catch(() => {});
      throw error;
    }
  }

  #ensureOpen(): void {
    if (this.#closed) throw new TransactionError(CLOSED_TRANSACTION, 'ERR_TRANSACTION_CLOSED');
  }

  call<T = unknown>(name: string, ...args: unknown[]): Promise<T> {
    if (this.#closed) return Promise.reject(new TransactionError(CLOSED_TRANSACTION, 'ERR_TRANSACTION_CLOSED'));
    if (typeof name !== 'string' || name.length === 0) return Promise.reject(new ArgumentError('call(name): a procedure name is expected'));
    // The connection resolves the name (an unknown one fails there); the arguments are not bind values, so not checked as such.
    return this.channel.internal('call', name, args as Params) as Promise<T>;
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
    return this.channel.statement(op, sql, params, options);
  }
}
