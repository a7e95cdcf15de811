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
  AbortError,
  ArgumentError,
  StatementTimeoutError,
  TransactionError,
  TransactionState,
  parameters,
  statements,
  type Connection,
  type ConnectionHooks,
  type LitepoolError,
  type Params,
  type Pending,
  type Reclaimed,
  type Request,
  type SendOptions,
} from '@litepool/core';
import { DqliteClient, NodeFailure, SocketClosedError } from './client.js';
import { codeName } from './codes.js';
import { ClusterUnavailableError, CommitUnknownError, LeaderLostError } from './errors.js';
import type { WireValue } from './wire.js';

/** What a connection needs to reach the cluster. */
export interface ConnectionConfig {
  readonly servers: readonly string[];
  readonly database: string;
  readonly connectTimeoutMs: number;
  readonly reconnectTimeoutMs: number;
  readonly safeIntegers: boolean;
  readonly statementTimeoutMs: number;
}

interface Batch {
  readonly requests: readonly Request[];
  readonly waiters: readonly Pending[];
  readonly options: SendOptions;
  readonly done: () => void;
}

/** The leader is gone (or refused as not the leader); `applied`: whether the request may have taken effect. */
class LeaderGone extends Error {
  constructor(
    readonly applied: boolean,
    options: { cause?: unknown },
  ) {
    super('The dqlite leader was lost', options);
  }
}

const READ_HEADS = new Set(['SELECT', 'VALUES', 'EXPLAIN']);
/** Transaction control: allowed on a read-only lease (a read transaction begins and ends with it). */
const CONTROL_HEADS = new Set(['BEGIN', 'COMMIT', 'END', 'ROLLBACK', 'SAVEPOINT', 'RELEASE']);
const WRITE_WORD = /\b(INSERT|UPDATE|DELETE|REPLACE)\b/i;

/** What {@link readsOnly} found, by SQL text (apps reuse their SQL; bounded for those that build it). */
const readOnlySql = new Map<string, boolean>();

/** Whether `sql` only reads: its statements start with SELECT/VALUES/EXPLAIN, a PRAGMA that sets nothing, or a WITH that does not write. */
export function readsOnly(sql: string): boolean {
  let known = readOnlySql.get(sql);
  if (known === undefined) {
    known = scanReadsOnly(sql);
    if (readOnlySql.size >= 10_000) readOnlySql.clear();
    readOnlySql.set(sql, known);
  }
  return known;
}

function scanReadsOnly(sql: string): boolean {
  const found = statements(sql);
  if (found.length === 0) return true;
  return found.every(({ head, text }) => {
    const first = head[0];
    if (first === undefined) return true;
    if (READ_HEADS.has(first)) return true;
    if (first === 'PRAGMA') return !head.includes('=') && !(head.length > 2 && head[2] === '(' && head.length > 4);
    if (first === 'WITH') return !WRITE_WORD.test(text);
    return false;
  });
}

/** Whether `sql` is only transaction control (BEGIN, COMMIT, SAVEPOINT, …). */
function controlsOnly(sql: string): boolean {
  return statements(sql).every(({ head }) => head[0] !== undefined && CONTROL_HEADS.has(head[0]));
}

/** Parameters as dqlite takes them: positional, named ones placed by SQLite's numbering of the statement. */
function wireParams(sql: string, params: Params | undefined): WireValue[] {
  if (params === undefined) return [];
  if (Array.isArray(params)) return params as WireValue[];
  const named = params as Record<string, WireValue>;
  const values: WireValue[] = [];
  for (const parameter of parameters(sql)) {
    const key = parameter.name?.slice(1) ?? String(parameter.index);
    if (!(key in named)) throw new ArgumentError(`Missing named parameter ${parameter.name ?? `?${parameter.index}`}`);
    values[parameter.index - 1] = named[key] ?? null;
  }
  for (let i = 0; i < values.length; i++) values[i] ??= null;
  return values;
}

const toObjects = (columns: readonly string[], rows: readonly unknown[][]): Record<string, unknown>[] =>
  rows.map((row) => Object.fromEntries(columns.map((name, i) => [name, row[i]])));

/** A connection to the leader, for one lane. */
export class DqliteConnection implements Connection {
  epoch = 0;
  dead: LitepoolError | undefined;
  readonly stalled = false;
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
    connection.#client = await DqliteClient.connect(config.servers, config.database, config.connectTimeoutMs);
    connection.#lastLeader = connection.#client.leader;
    return connection;
  }

  /** Whether a transaction is open on the leader connection, as the SQL sent on it says. */
  get transactionOpen(): boolean {
    return this.#transaction.open;
  }

  /** The leader this connection talks to now (undefined while it reconnects). */
  get leader(): string | undefined {
    return this.#client?.leader;
  }

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
            ? 'pool.backup() is not available on a dqlite backend: take a backup with dqlite tools on a node'
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
      if (request.final === true && this.#transaction.open) await this.#rollback();
      waiter.reject(error as Error);
    }
  }

  /**
   * Runs `request`, on a new leader when the old one was lost and running it
   * again is safe; otherwise fails with what the loss means for it.
   */
  async #withRetry(request: Request, reads: boolean, waiter: Pending): Promise<unknown> {
    const deadline = performance.now() + this.config.reconnectTimeoutMs;
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
        if (!reads && error.applied) {
          throw new CommitUnknownError('The dqlite leader was lost while this write was on its way: it may or may not have committed', {
            cause: error.cause,
          });
        }
        if (performance.now() >= deadline)
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
      timer = setTimeout(() => {
        timedOut = true;
        // dqlite cannot interrupt a write: the connection is closed, and the outcome of a write is unknown.
        client.close();
      }, timeoutMs);
    }
    const onAbort = (): void => client.close();
    waiter.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const value = await this.#execute(client, request);
      this.#transaction.apply(request.sql);
      return value;
    } catch (error) {
      if (timedOut) throw new StatementTimeoutError(timeoutMs, { cause: error });
      if (waiter.signal?.aborted === true) throw new AbortError({ cause: waiter.signal.reason });
      if (error instanceof SocketClosedError) throw new LeaderGone(error.sent, { cause: error });
      if (error instanceof NodeFailure) {
        // Not the leader: refused before running. Leadership lost: it may have been applied.
        if (error.leadership) throw new LeaderGone(codeName(error.code) === 'SQLITE_IOERR_LEADERSHIP_LOST', { cause: error });
        // A statement that ends the transaction ends it even when it fails (a failed ROLLBACK leaves none open).
        if (/^\s*ROLLBACK\b(?!\s+(TRANSACTION\s+)?TO\b)/i.test(request.sql)) this.#transaction.reset();
        throw error.toSqliteError();
      }
      throw error;
    } finally {
      clearTimeout(timer);
      waiter.signal?.removeEventListener('abort', onAbort);
    }
  }

  async #execute(client: DqliteClient, request: Request): Promise<unknown> {
    const { sql } = request;
    switch (request.op) {
      case 'exec':
        await client.exec(sql, []);
        return undefined;
      case 'run': {
        const result = await client.exec(sql, wireParams(sql, request.params));
        return {
          changes: result.rowsAffected,
          lastInsertRowid: this.config.safeIntegers ? result.lastInsertId : Number(result.lastInsertId),
        };
      }
      case 'next':
      case 'close-cursor':
        return { cursor: request.cursor ?? 0, rows: [], done: true };
      default: {
        const { columns, rows } = await client.query(sql, wireParams(sql, request.params), this.config.safeIntegers);
        if (request.op === 'values') return rows;
        const objects = toObjects(columns, rows);
        if (request.op === 'get') return objects[0];
        // iterate: the leader sends the whole result set; it is handed out as one chunk.
        return request.op === 'iterate' ? { cursor: 0, rows: objects, done: true } : objects;
      }
    }
  }

  /**
   * Group commit: the queued writes in one transaction, all answered after
   * the one COMMIT, which is one entry of the replicated log. Each member is
   * one round trip (no SAVEPOINT around it): when one fails, the whole group
   * is rolled back (so nothing of it can have stayed, whatever SQLite did to
   * the transaction), that member is answered with its error, and the others,
   * none of them acknowledged, run again in a new group.
   */
  async #runGroup(batch: Batch): Promise<void> {
    const control = (sql: string): Request => ({ op: 'exec', sql, params: undefined });
    const quiet: Pending = { resolve() {}, reject() {} };
    let pending = batch.requests.map((_, i) => i);
    while (pending.length > 0) {
      const values = new Map<number, unknown>();
      let failed: { at: number; error: Error } | undefined;
      try {
        await this.#run(control('BEGIN IMMEDIATE'), quiet);
        for (const [position, i] of pending.entries()) {
          try {
            values.set(i, await this.#run(batch.requests[i]!, batch.waiters[i]!));
          } catch (error) {
            if (error instanceof LeaderGone) throw error;
            failed = { at: position, error: error as Error };
            break;
          }
        }
      } catch (error) {
        // Nothing was committed: COMMIT was never sent.
        if (error instanceof LeaderGone) this.#dropClient();
        else await this.#rollback();
        const lost =
          error instanceof LeaderGone
            ? new LeaderLostError(
                'The dqlite leader was lost before this group of writes committed: nothing of it was applied; it is safe to run again',
                {
                  cause: error.cause,
                },
              )
            : (error as Error);
        for (const i of pending) batch.waiters[i]!.reject(lost);
        return;
      }
      if (failed !== undefined) {
        await this.#rollback();
        const member = pending[failed.at]!;
        batch.waiters[member]!.reject(failed.error);
        pending = pending.filter((i) => i !== member);
        continue;
      }
      try {
        await this.#run(control('COMMIT'), quiet);
      } catch (error) {
        let reason = error as Error;
        if (error instanceof LeaderGone) {
          this.#dropClient();
          reason = error.applied
            ? new CommitUnknownError('The dqlite leader was lost while COMMIT was on its way: these writes may or may not have committed', {
                cause: error.cause,
              })
            : new LeaderLostError('The dqlite leader refused COMMIT as no longer the leader: nothing was applied', { cause: error.cause });
        } else await this.#rollback();
        for (const i of pending) batch.waiters[i]!.reject(reason);
        return;
      }
      for (const i of pending) batch.waiters[i]!.resolve(values.get(i));
      return;
    }
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
    this.#connecting ??= DqliteClient.connect(this.config.servers, this.config.database, this.config.reconnectTimeoutMs).then(
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

  reclaim(): Reclaimed[] {
    return [];
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
      await Promise.race([drained, new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
      this.dead ??= new ClusterUnavailableError('The connection was closed');
      this.stopAll(this.dead);
      this.#client?.close();
      this.#client = undefined;
    })();
    return this.#closing;
  }
}
