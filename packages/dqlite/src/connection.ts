/**
 * One lane connection over dqlite: a connection to the leader that runs a
 * lane's batches in order, reconnecting to whichever node leads after a
 * leader is lost. What a lost leader means for each request:
 *
 * - a read outside a transaction runs again on the new leader;
 * - a write that never reached the leader (or that it refused as not the
 *   leader) runs on the new leader: it was never applied;
 * - a write or COMMIT that was sent and not answered fails with
 *   `ERR_COMMIT_UNKNOWN`: it may have committed;
 * - a statement of an open transaction fails with `ERR_TRANSACTION_ABORTED`:
 *   the transaction is gone with the leader, nothing of it committed;
 * - a group of one-shot writes that lost its leader before its COMMIT was
 *   sent fails with `ERR_LEADER_LOST`: nothing of it committed.
 *
 * Finding a new leader is bounded by `reconnectTimeoutMs`; past it the
 * request fails with `ERR_CLUSTER_UNAVAILABLE`.
 */
import {
  clock,
  AbortError,
  ArgumentError,
  StatementTimeoutError,
  TransactionError,
  TransactionState,
  type Connection,
  type ConnectionHooks,
  type LitepoolError,
  type Pending,
  type Request,
  type SendOptions,
} from '@litepool/core';
import { DqliteClient, NodeFailure, SocketClosedError } from './client.js';
import type { Members } from './members.js';
import type { SocketOptions } from './socket.js';
import { mayHaveApplied } from './codes.js';
import { ClusterUnavailableError, CommitUnknownError, DqliteProtocolError, LeaderGone, ResultTooLargeError } from './errors.js';
import { runGroup, stillOpen } from './group.js';
import { execute } from './execute.js';
import { controlsOnly, readsOnly } from './sql-text.js';

/** What a connection needs to reach the cluster. */
export interface ConnectionConfig {
  /** The cluster's members, shared by the pool's connections. */
  readonly members: Members;
  readonly database: string;
  readonly connectTimeoutMs: number;
  readonly reconnectTimeoutMs: number;
  readonly safeIntegers: boolean;
  readonly statementTimeoutMs: number;
  /** How each connection to a node is made: what it accepts from the node, and TLS. */
  readonly socket: SocketOptions;
}

interface Batch {
  readonly requests: readonly Request[];
  readonly waiters: readonly Pending[];
  readonly options: SendOptions;
  readonly done: () => void;
}

/** A connection to the leader, for one lane. */
export class DqliteConnection implements Connection {
  dead: LitepoolError | undefined;
  #client: DqliteClient | undefined;
  #connecting: Promise<DqliteClient> | undefined;
  readonly #queue: Batch[] = [];
  #running = false;
  /** Waiting for the queue to run empty (close). */
  readonly #idleWaiters: (() => void)[] = [];
  #closing: Promise<void> | undefined;
  readonly #transaction = new TransactionState();
  #lastLeader: string | undefined;

  private constructor(
    private readonly config: ConnectionConfig,
    private readonly hooks: ConnectionHooks,
  ) {}

  /** Connects to the leader (bounded by `connectTimeoutMs`); rejects with `ERR_CLUSTER_UNAVAILABLE` otherwise. */
  static async open(config: ConnectionConfig, hooks: ConnectionHooks): Promise<DqliteConnection> {
    const connection = new DqliteConnection(config, hooks);
    connection.#client = await connection.#connect(config.connectTimeoutMs);
    connection.#lastLeader = connection.#client.leader;
    return connection;
  }

  /** A connection to the leader, and the members it lists. */
  async #connect(timeoutMs: number): Promise<DqliteClient> {
    const { members, database, socket } = this.config;
    const client = await DqliteClient.connect(members.servers, database, timeoutMs, socket);
    await members.refresh(client);
    return client;
  }

  /** Whether a transaction is open on the leader connection, as the SQL sent on it says. */
  get transactionOpen(): boolean {
    return this.#transaction.open;
  }

  /** The leader this connection talks to now (undefined while it reconnects). */
  get leader(): string | undefined {
    return this.#client?.leader;
  }

  /** A dqlite connection has no cache of its own to drop: it never reopens for a hold. */
  opensFor(): boolean {
    return false;
  }

  /** Nothing to reset: a dqlite connection carries no settings of its holder's. */
  reset(): void {}

  send(requests: readonly Request[], waiters: readonly Pending[], options: SendOptions = {}): Promise<void> {
    return this.#enqueue(requests, waiters, options);
  }

  /**
   * A transaction's COMMIT, its writer already handed on: queued now. Batches
   * run in the order queued, so it runs before anything sent after it; there
   * is no message to share (each request is its own round trip).
   */
  carry(request: Request, waiter: Pending): void {
    void this.#enqueue([request], [waiter], {});
  }

  #enqueue(requests: readonly Request[], waiters: readonly Pending[], options: SendOptions): Promise<void> {
    if (this.dead !== undefined) {
      for (const waiter of waiters) waiter.reject(this.dead);
      return Promise.resolve();
    }
    return new Promise((done) => {
      this.#queue.push({ requests, waiters, options, done });
      void this.#pump();
    });
  }

  async #pump(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      for (let batch = this.#queue.shift(); batch !== undefined; batch = this.#queue.shift()) {
        try {
          // A busy pool keeps its list of members fresh between batches (an idle one asks nothing).
          const client = this.#client;
          if (this.config.members.due && client !== undefined && !client.closed) await this.config.members.refresh(client);
          if (batch.options.group === true) await this.#runGroup(batch);
          else for (let i = 0; i < batch.requests.length; i++) await this.#runOne(batch.requests[i]!, batch.waiters[i]!, batch.options);
        } finally {
          batch.done();
        }
      }
    } finally {
      this.#running = false;
      for (const idle of this.#idleWaiters.splice(0)) idle();
    }
  }

  /** One request: routed (a probe that writes goes back), checked, run, answered. */
  async #runOne(request: Request, waiter: Pending, options: SendOptions): Promise<void> {
    if (waiter.signal?.aborted === true) {
      waiter.reject(new AbortError({ cause: waiter.signal.reason }));
      return;
    }
    if (request.op === 'backup' || request.op === 'call') {
      waiter.reject(
        new ArgumentError(
          request.op === 'backup'
            ? Array.isArray(request.params) && request.params[0] === 'restore'
              ? 'restore() is not available on a dqlite backend: restore a node with dqlite tools'
              : 'pool.backup() is not available on a dqlite backend: take a backup with dqlite tools on a node'
            : 'Procedures run in worker threads next to a local file: not available on a dqlite backend',
        ),
      );
      return;
    }
    const reads = request.op !== 'exec' && request.op !== 'run' && readsOnly(request.sql);
    if (request.probe === true) {
      if (!reads) {
        waiter.reroute?.();
        return;
      }
      waiter.learn?.(false);
    }
    if (request.readOnly === true && !reads && !controlsOnly(request.sql) && request.op !== 'next' && request.op !== 'close-cursor') {
      waiter.reject(new TransactionError('This statement writes, but it ran on a read-only lease or transaction', 'ERR_READ_ONLY'));
      return;
    }
    if (request.inTransaction === true && !this.#transaction.open) {
      waiter.reject(
        new TransactionError(
          'The transaction was already rolled back (the dqlite leader was lost, or SQLite ended it); nothing of it was committed',
          'ERR_TRANSACTION_ABORTED',
        ),
      );
      return;
    }
    try {
      const value = await this.#withRetry(request, reads, waiter);
      if (options.oneShot === true && this.#transaction.open) {
        await this.#rollback();
        waiter.reject(
          new TransactionError(
            'This statement left a transaction open, so it was rolled back: one-shot statements run in autocommit',
            'ERR_TRANSACTION_CONTROL',
          ),
        );
        return;
      }
      waiter.resolve(value);
    } catch (error) {
      if (request.final === true && this.#transaction.open) {
        // A COMMIT refused on an unmet deferred constraint leaves SQLite's transaction open: kept when asked (and open).
        const kept = request.keepOpen === true && (await stillOpen(this.#leaderSteps).catch(() => false));
        if (!kept) await this.#rollback();
      }
      waiter.reject(error as Error);
    }
  }

  /**
   * Runs `request`, on a new leader when the old one was lost and running it
   * again is safe; otherwise fails with what the loss means for it.
   */
  async #withRetry(request: Request, reads: boolean, waiter: Pending): Promise<unknown> {
    const deadline = clock.now() + this.config.reconnectTimeoutMs;
    for (;;) {
      const inTransaction = this.#transaction.open;
      try {
        return await this.#run(request, waiter);
      } catch (error) {
        if (!(error instanceof LeaderGone)) throw error;
        this.#dropClient();
        if (inTransaction) {
          if (request.final === true && error.applied) {
            throw new CommitUnknownError(
              'The dqlite leader was lost while COMMIT was on its way: the transaction may or may not have committed',
              { cause: error.cause },
            );
          }
          throw new TransactionError(
            'The dqlite leader was lost: the transaction was rolled back, nothing of it committed',
            'ERR_TRANSACTION_ABORTED',
            {
              cause: error.cause,
            },
          );
        }
        if (reads && !error.retry) throw error.cause as Error;
        if (!reads && error.applied) {
          throw new CommitUnknownError('The dqlite leader was lost while this write was on its way: it may or may not have committed', {
            cause: error.cause,
          });
        }
        if (clock.now() >= deadline)
          throw new ClusterUnavailableError('No dqlite leader within reconnectTimeoutMs', { cause: error.cause });
        // A read, or a write the leader never applied: it runs on the new leader.
      }
    }
  }

  /** Runs one request on the current leader (connecting first), within its time limit. */
  async #run(request: Request, waiter: Pending): Promise<unknown> {
    const client = await this.#leader();
    const timeoutMs = waiter.timeoutMs ?? this.config.statementTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    if (timeoutMs > 0) {
      timer = clock.setTimeout(() => {
        timedOut = true;
        // dqlite cannot interrupt a write: the connection is closed, and the outcome of a write is unknown.
        client.close();
      }, timeoutMs);
    }
    const onAbort = (): void => client.close();
    waiter.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const value = await execute(client, request, this.config.safeIntegers);
      this.#transaction.apply(request.sql);
      return value;
    } catch (error) {
      if (timedOut) throw new StatementTimeoutError(timeoutMs, { cause: error });
      if (waiter.signal?.aborted === true) throw new AbortError({ cause: waiter.signal.reason });
      if (error instanceof SocketClosedError) throw new LeaderGone(error.sent, { cause: error });
      if (error instanceof DqliteProtocolError || error instanceof ResultTooLargeError) {
        // Nothing more from that node is believed: its connection goes, and with it any transaction on it.
        client.close();
        throw new LeaderGone(true, { cause: error }, false);
      }
      if (error instanceof NodeFailure) {
        // Not the leader: refused before running. Leadership lost: it may have been applied.
        if (error.leadership) throw new LeaderGone(mayHaveApplied(error.code), { cause: error });
        // A statement that ends the transaction ends it even when it fails (a failed ROLLBACK leaves none open).
        if (/^\s*ROLLBACK\b(?!\s+(TRANSACTION\s+)?TO\b)/i.test(request.sql)) this.#transaction.reset();
        throw error.toSqliteError();
      }
      throw error;
    } finally {
      clock.clearTimeout(timer);
      waiter.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** One request on the leader, and a rollback there: what the group and the kept COMMIT's probe run with. */
  readonly #leaderSteps = {
    run: (request: Request, waiter: Pending): Promise<unknown> => this.#run(request, waiter),
    rollback: (): Promise<void> => this.#rollback(),
  };

  #runGroup(batch: Batch): Promise<void> {
    return runGroup(batch.requests, batch.waiters, {
      ...this.#leaderSteps,
      transactionOpen: () => this.#transaction.open,
      dropClient: () => this.#dropClient(),
      runAlone: (request, waiter) => this.#runOne(request, waiter, { ...batch.options, group: false }),
    });
  }

  async #rollback(): Promise<void> {
    if (!this.#transaction.open) return;
    try {
      await this.#run({ op: 'exec', sql: 'ROLLBACK', params: undefined }, { resolve() {}, reject() {} });
    } catch {
      this.#dropClient();
    }
    this.#transaction.reset();
  }

  /** The current leader connection, found again (within `reconnectTimeoutMs`) after a loss. */
  #leader(): Promise<DqliteClient> {
    if (this.#client !== undefined && !this.#client.closed) return Promise.resolve(this.#client);
    if (this.dead !== undefined) return Promise.reject(this.dead);
    this.#connecting ??= this.#connect(this.config.reconnectTimeoutMs).then(
      (client) => {
        this.#connecting = undefined;
        if (this.#closing !== undefined) {
          client.close();
          throw this.dead ?? new ClusterUnavailableError('The connection is closing');
        }
        if (this.#lastLeader !== undefined && this.#lastLeader !== client.leader) {
          this.hooks.onWarning('LITEPOOL_LEADER_CHANGED', `The dqlite leader moved from ${this.#lastLeader} to ${client.leader}`);
        }
        this.#lastLeader = client.leader;
        this.#client = client;
        return client;
      },
      (error: unknown) => {
        this.#connecting = undefined;
        throw error;
      },
    );
    return this.#connecting;
  }

  /** Forgets the leader connection (closing it): the transaction on it is gone. */
  #dropClient(): void {
    this.#client?.close();
    this.#client = undefined;
    this.#transaction.reset();
  }

  stopAll(reason: Error): void {
    for (const batch of this.#queue.splice(0)) {
      for (const waiter of batch.waiters) waiter.reject(reason);
      batch.done();
    }
    // What runs now: closing the connection ends it (a write's outcome is then unknown to its caller).
    this.#client?.close();
  }

  close(graceMs = 10_000): Promise<void> {
    this.#closing ??= (async () => {
      const drained =
        !this.#running && this.#queue.length === 0 ? Promise.resolve() : new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([drained, new Promise<void>((resolve) => (timer = clock.setTimeout(resolve, graceMs)))]);
      clock.clearTimeout(timer);
      this.dead ??= new ClusterUnavailableError('The connection was closed');
      this.stopAll(this.dead);
      this.#client?.close();
      this.#client = undefined;
    })();
    return this.#closing;
  }
}
