/**
 * Cross-thread clients: {@link Pool.connectPort} hands out a MessagePort; in
 * another thread (a worker thread the app runs itself) {@link connectClient}
 * turns it into a {@link PoolClient} with the pool's query and transaction
 * API. Every client shares the pool's readers and its single writer lane.
 */
import type { MessagePort } from 'node:worker_threads';
import * as errors from '../errors.js';
import { LitepoolError, PoolClosedError, TransactionError } from '../errors.js';
import { checkCall, checkQueryOptions } from '../config/validate.js';
import type { Params, QueryOptions } from '../types.js';
import type { Pool } from './pool.js';
import { CLOSED_TRANSACTION, QueryMethods, type Queryable, type StatementOp, type Transaction, type TransactionMode } from './lease.js';
import { holdTransaction, type HeldTransaction } from './held-transaction.js';
import { blobsToBuffers } from '../values.js';

/** Client to server, before the client numbers it. `tx` names the transaction a statement belongs to (none: the pool). */
type ClientRequest =
  | {
      readonly t: 'q';
      readonly op: StatementOp;
      readonly sql: string;
      readonly params: Params | undefined;
      readonly tx: number | undefined;
      /** The call's `timeoutMs`; its `signal` stays in the client's thread and crosses as an `abort` message. */
      readonly timeoutMs: number | undefined;
      readonly abortable: boolean;
    }
  | { readonly t: 'call'; readonly name: string; readonly args: readonly unknown[]; readonly tx: number | undefined }
  | { readonly t: 'begin'; readonly mode: TransactionMode; readonly tx: number | undefined }
  | { readonly t: 'end'; readonly tx: number; readonly commit: boolean }
  | { readonly t: 'abort'; readonly target: number; readonly tx: undefined };

/** Client to server. */
type ClientMessage = ClientRequest & { readonly id: number };

/** An error as it crosses the port: enough to rebuild the same class and code. */
interface PortError {
  readonly name: string;
  readonly message: string;
  readonly code: string | undefined;
}

/** Server to client. */
type ServerMessage =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: PortError }
  | { readonly t: 'closed' };

function toPortError(error: unknown): PortError {
  const e = error as { name?: unknown; message?: unknown; code?: unknown };
  return {
    name: typeof e?.name === 'string' ? e.name : 'Error',
    message: typeof e?.message === 'string' ? e.message : String(error),
    code: typeof e?.code === 'string' ? e.code : undefined,
  };
}

/** Rebuilds litepool's error classes by name (so `instanceof SqliteError` holds in the client's thread), and built-in ones. */
function fromPortError(wire: PortError): Error {
  const known = (errors as Record<string, unknown>)[wire.name];
  if (typeof known === 'function' && (known === LitepoolError || known.prototype instanceof LitepoolError)) {
    return Reflect.construct(LitepoolError, [wire.message, wire.code ?? 'ERR_QUERY'], known) as Error;
  }
  return errors.errorNamed(wire.name, wire.message, wire.code);
}

/**
 * @internal Serves one port for a pool: runs its requests on the pool, keeps
 * its transactions open until the client ends them, and rolls back whatever
 * is open when the port closes.
 */
export class PortServer {
  readonly #open = new Map<number, HeldTransaction>();
  /** Calls the client may still abort, by their id. */
  readonly #abortable = new Map<number, AbortController>();
  #closed = false;

  constructor(
    private readonly port: MessagePort,
    private readonly pool: Pool,
    private readonly onClosed: (server: PortServer) => void,
  ) {
    port.on('message', (message: ClientMessage) => this.#handle(message));
    port.on('close', () => this.#shutdown());
  }

  /** Tells the client the pool closed, then closes the port. */
  close(): void {
    if (this.#closed) return;
    this.port.postMessage({ t: 'closed' } satisfies ServerMessage);
    this.port.close();
    this.#shutdown();
  }

  #shutdown(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const held of this.#open.values()) void held.rollback().catch(() => {});
    this.#open.clear();
    this.onClosed(this);
  }

  #answer(id: number, work: Promise<unknown>): void {
    work.then(
      (value: unknown) => this.#reply({ id, ok: true, value }),
      (error: unknown) => this.#reply({ id, ok: false, error: toPortError(error) }),
    );
  }

  #reply(message: ServerMessage): void {
    if (!this.#closed) this.port.postMessage(message);
  }

  #handle(message: ClientMessage): void {
    if (message.t === 'abort') {
      this.#abortable.get(message.target)?.abort(new Error('The client aborted the call'));
      return;
    }
    const target = message.tx === undefined ? this.pool : this.#open.get(message.tx)?.tx;
    if (target === undefined) {
      this.#answer(message.id, Promise.reject(new TransactionError('Unknown or settled transaction', 'ERR_TRANSACTION_CLOSED')));
    } else if (message.t === 'q') {
      const controller = message.abortable ? new AbortController() : undefined;
      if (controller !== undefined) this.#abortable.set(message.id, controller);
      const options = {
        ...(message.timeoutMs === undefined ? {} : { timeoutMs: message.timeoutMs }),
        ...(controller === undefined ? {} : { signal: controller.signal }),
      };
      const work =
        message.op === 'exec'
          ? target.exec(message.sql, options)
          : message.op === 'values'
            ? target.values(message.sql, message.params, options)
            : target[message.op](message.sql, message.params, options);
      this.#answer(
        message.id,
        work.finally(() => this.#abortable.delete(message.id)),
      );
    } else if (message.t === 'call') {
      this.#answer(message.id, target.call(message.name, ...message.args));
    } else if (message.t === 'begin') {
      const begin = (body: (tx: Transaction) => Promise<void>): Promise<void> =>
        target === this.pool ? this.pool.transaction(body, { mode: message.mode }) : target.transaction(body);
      this.#answer(
        message.id,
        holdTransaction(begin).then((held): Promise<unknown> | number => {
          if (this.#closed) return held.rollback();
          this.#open.set(message.id, held);
          return message.id;
        }),
      );
    } else {
      const held = this.#open.get(message.tx)!;
      this.#open.delete(message.tx);
      this.#answer(message.id, message.commit ? held.commit() : held.rollback());
    }
  }
}

/** A pool used from another thread, through a port from {@link Pool.connectPort}. */
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

  /** @internal Sends one message and waits for its answer; a `signal` sends an abort for it. */
  send(message: ClientRequest, signal?: AbortSignal): Promise<unknown> {
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    if (signal?.aborted === true) return Promise.reject(new errors.AbortError({ cause: signal.reason }));
    const id = this.#nextId++;
    return new Promise<unknown>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      try {
        this.port.postMessage({ ...message, id } satisfies ClientMessage);
      } catch (error) {
        this.#pending.delete(id);
        reject(
          new errors.ArgumentError(
            `The call could not be sent to the pool's thread: ${error instanceof Error ? error.message : String(error)}`,
          ),
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

  /** @internal A statement, on the pool or in transaction `tx`. */
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
 * Builds a client from a port made by {@link Pool.connectPort}, in any thread
 * (typically a worker thread the app runs itself; pass the port in
 * `workerData` with `transferList`, or post it).
 */
export function connectClient(port: MessagePort): PoolClient {
  if (typeof (port as { postMessage?: unknown })?.postMessage !== 'function' || typeof (port as { on?: unknown }).on !== 'function') {
    throw new errors.ArgumentError('connectClient(port) needs a MessagePort from pool.connectPort()');
  }
  return new Client(port);
}
