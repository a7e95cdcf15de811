/**
 * Cross-thread clients: in another thread (a worker thread the app runs
 * itself), {@link connectClient} turns a port from `pool.connectPort()` into
 * a {@link PoolClient} with the pool's query and transaction API, sharing
 * the pool's readers and its single writer.
 */
import type { MessagePort } from 'node:worker_threads';
import { AbortError, ArgumentError, PoolClosedError, TransactionError } from '../errors.js';
import { checkCall, checkQueryOptions } from '../config/validate.js';
import type { Params, QueryOptions } from '../types.js';
import { blobsToBuffers } from '../values.js';
import { fromPortError, type ClientMessage, type ClientRequest, type ServerMessage } from './port-protocol.js';
import { QueryMethods, type Queryable, type StatementOp } from './query-methods.js';
import { CLOSED_TRANSACTION, type TransactionMode } from './transaction-scope.js';

/** A pool used from another thread, through a port from `pool.connectPort()`. */
export interface PoolClient extends Omit<Queryable, 'iterate'> {
  /**
   * Runs `fn` in a transaction on the pool's writer (or a reader, `mode:
   * 'read'`), held across awaits until `fn` settles: commits when it
   * resolves, rolls back and rethrows when it throws.
   */
  transaction<T>(fn: (tx: ClientTransaction) => Promise<T> | T, options?: { mode?: TransactionMode }): Promise<T>;
  /** Calls a procedure of the pool's `procedures` module (see `Pool.call`). */
  call<T = unknown>(name: string, ...args: unknown[]): Promise<T>;
  /** Closes this client's port. Open transactions roll back; pending calls reject with `ERR_POOL_CLOSED`. */
  close(): void;
  /** Whether the client or the pool closed. */
  readonly closed: boolean;
}

/** The `tx` a client's transaction callback receives. Valid only until the callback settles. */
export interface ClientTransaction extends Omit<Queryable, 'iterate'> {
  /** A nested transaction (a SAVEPOINT). */
  transaction<T>(fn: (tx: ClientTransaction) => Promise<T> | T): Promise<T>;
  /** Calls a procedure inside this transaction (a write procedure nests as a SAVEPOINT). */
  call<T = unknown>(name: string, ...args: unknown[]): Promise<T>;
}

class Client extends QueryMethods implements PoolClient {
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  #nextId = 1;
  #closed: Error | undefined;

  constructor(private readonly port: MessagePort) {
    super();
    port.on('message', (message: ServerMessage) => {
      if ('t' in message) {
        this.#shutdown(new PoolClosedError('The pool closed'));
        return;
      }
      const waiter = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      if (message.ok) waiter?.resolve(blobsToBuffers(message.value));
      else waiter?.reject(fromPortError(message.error));
    });
    port.on('close', () => this.#shutdown(new PoolClosedError('The client is closed')));
  }

  get closed(): boolean {
    return this.#closed !== undefined;
  }

  close(): void {
    this.#shutdown(new PoolClosedError('The client is closed'));
  }

  #shutdown(reason: Error): void {
    if (this.#closed !== undefined) return;
    this.#closed = reason;
    this.port.close();
    for (const waiter of this.#pending.values()) waiter.reject(reason);
    this.#pending.clear();
  }

  /** Sends one message and waits for its answer; a `signal` sends an abort for it. */
  send(message: ClientRequest, signal?: AbortSignal): Promise<unknown> {
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    if (signal?.aborted === true) return Promise.reject(new AbortError({ cause: signal.reason }));
    const id = this.#nextId++;
    return new Promise<unknown>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      try {
        this.port.postMessage({ ...message, id } satisfies ClientMessage);
      } catch (error) {
        this.#pending.delete(id);
        reject(
          new ArgumentError(`The call could not be sent to the pool's thread: ${error instanceof Error ? error.message : String(error)}`),
        );
        return;
      }
      if (signal !== undefined) {
        const onAbort = (): void => {
          if (this.#closed === undefined)
            this.port.postMessage({ t: 'abort', target: id, tx: undefined, id: this.#nextId++ } satisfies ClientMessage);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        this.#pending.set(id, {
          resolve: (value) => {
            signal.removeEventListener('abort', onAbort);
            resolve(value);
          },
          reject: (error) => {
            signal.removeEventListener('abort', onAbort);
            reject(error);
          },
        });
      }
    });
  }

  /** A statement, on the pool or in transaction `tx`. */
  statement(
    op: StatementOp,
    sql: string,
    params: Params | undefined,
    options: QueryOptions | undefined,
    tx: number | undefined,
  ): Promise<unknown> {
    const invalid = checkCall(sql, params, op === 'exec') ?? checkQueryOptions(options);
    if (invalid !== undefined) return Promise.reject(invalid);
    return this.send(
      { t: 'q', op, sql, params, tx, timeoutMs: options?.timeoutMs, abortable: options?.signal !== undefined },
      options?.signal,
    );
  }

  protected dispatch(op: StatementOp, sql: string, params: Params | undefined, options: QueryOptions | undefined): Promise<unknown> {
    return this.statement(op, sql, params, options, undefined);
  }

  transaction<T>(fn: (tx: ClientTransaction) => Promise<T> | T, options: { mode?: TransactionMode } = {}): Promise<T> {
    return scoped(this, undefined, options.mode ?? 'immediate', fn);
  }

  call<T = unknown>(name: string, ...args: unknown[]): Promise<T> {
    return this.send({ t: 'call', name, args, tx: undefined }) as Promise<T>;
  }
}

/** Begins a (nested) transaction on the server, runs `fn` with a scope on it, ends it. */
async function scoped<T>(
  client: Client,
  parent: number | undefined,
  mode: TransactionMode,
  fn: (tx: ClientTransaction) => Promise<T> | T,
): Promise<T> {
  if (typeof fn !== 'function') throw new TransactionError('transaction(fn) needs a function', 'ERR_INVALID_ARGUMENT');
  const tx = (await client.send({ t: 'begin', mode, tx: parent })) as number;
  const scope = new ClientScope(client, tx, mode);
  let result: T;
  try {
    result = await fn(scope);
  } catch (error) {
    scope.closed = true;
    await client.send({ t: 'end', tx, commit: false }).catch(() => {});
    throw error;
  }
  scope.closed = true;
  await client.send({ t: 'end', tx, commit: true });
  return result;
}

class ClientScope extends QueryMethods implements ClientTransaction {
  closed = false;

  constructor(
    private readonly client: Client,
    private readonly tx: number,
    readonly mode: TransactionMode,
  ) {
    super();
  }

  protected dispatch(op: StatementOp, sql: string, params: Params | undefined, options: QueryOptions | undefined): Promise<unknown> {
    if (this.closed) return Promise.reject(new TransactionError(CLOSED_TRANSACTION, 'ERR_TRANSACTION_CLOSED'));
    return this.client.statement(op, sql, params, options, this.tx);
  }

  transaction<T>(fn: (tx: ClientTransaction) => Promise<T> | T): Promise<T> {
    if (this.closed) return Promise.reject(new TransactionError(CLOSED_TRANSACTION, 'ERR_TRANSACTION_CLOSED'));
    return scoped(this.client, this.tx, this.mode, fn);
  }

  call<T = unknown>(name: string, ...args: unknown[]): Promise<T> {
    if (this.closed) return Promise.reject(new TransactionError(CLOSED_TRANSACTION, 'ERR_TRANSACTION_CLOSED'));
    return this.client.send({ t: 'call', name, args, tx: this.tx }) as Promise<T>;
  }
}

/**
 * Builds a client from a port made by `pool.connectPort()`, in any thread
 * (typically a worker thread the app runs itself; pass the port in
 * `workerData` with `transferList`, or post it).
 */
export function connectClient(port: MessagePort): PoolClient {
  if (typeof (port as { postMessage?: unknown })?.postMessage !== 'function' || typeof (port as { on?: unknown }).on !== 'function') {
    throw new ArgumentError('connectClient(port) needs a MessagePort from pool.connectPort()');
  }
  return new Client(port);
}
