/**
 * The pool's side of a cross-thread client: `pool.connectPort()` hands out a
 * MessagePort and serves it here, on the pool's engine.
 */
import type { MessagePort } from 'node:worker_threads';
import { TransactionError } from '../errors.js';
import type { Params, QueryOptions } from '../types.js';
import type { Engine } from './engine.js';
import { toPortError, type ClientMessage, type ServerMessage } from './port-protocol.js';
import { QueryMethods, type StatementOp } from './query-methods.js';
import { POOL_SCOPE } from './scope.js';
import type { Transaction } from './transaction-scope.js';

/** A transaction the client holds open: its handle and how to end it. */
interface Held {
  readonly tx: Transaction;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

/** Where a client's statement runs: the pool (in its own scope) or one of its transactions. */
type Target = Pick<Transaction, StatementOp>;

/** The pool's one-shot statements, as a target. */
class PoolTarget extends QueryMethods {
  constructor(private readonly engine: Engine) {
    super();
  }

  protected dispatch(op: StatementOp, sql: string, params: Params | undefined, options: QueryOptions | undefined): Promise<unknown> {
    return this.engine.query(op, sql, params, options, POOL_SCOPE);
  }
}

/** How `rollback()` ends a nested transaction's callback: a rejection the holder itself asked for, never reported. */
class RollbackRequested extends Error {}

/** A nested transaction (a SAVEPOINT) held open until the client ends it: the callback form, its end in the client's hands. */
function holdNested(parent: Transaction): Promise<Held> {
  return new Promise((resolveHeld, rejectHeld) => {
    const settled = parent.transaction(
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

/**
 * Serves one port for a pool: runs its requests on the pool, keeps its
 * transactions open until the client ends them, and rolls back whatever is
 * open when the port closes.
 */
export class PortServer {
  readonly #pool: Target;
  readonly #open = new Map<number, Held>();
  /** Calls the client may still abort, by their id. */
  readonly #abortable = new Map<number, AbortController>();
  #closed = false;

  readonly #unregister: () => void;

  constructor(
    private readonly port: MessagePort,
    private readonly engine: Engine,
  ) {
    this.#pool = new PoolTarget(engine);
    this.#unregister = engine.onClose(() => this.close());
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
    this.#unregister();
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
    const target: Target | undefined = message.tx === undefined ? this.#pool : this.#open.get(message.tx)?.tx;
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
      this.#answer(
        message.id,
        target === this.#pool
          ? this.engine.call(message.name, [...message.args])
          : (target as Transaction).call(message.name, ...message.args),
      );
    } else if (message.t === 'begin') {
      const begun: Promise<Held> =
        target === this.#pool
          ? this.engine
              .begin({ mode: message.mode }, POOL_SCOPE)
              .then((open) => ({ tx: open, commit: () => open.commit(), rollback: () => open.rollback() }))
          : holdNested(target as Transaction);
      this.#answer(
        message.id,
        begun.then((held): Promise<unknown> | number => {
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
