/**
 * The pool: routes one-shot statements to the readers or the writer, lends
 * connections to transactions and leases, and manages the lifecycle
 * (lazy start, drain on close, reject-everything on destroy).
 */
import { WorkerConnection, type ConnectionHooks, type Pending } from '../local/worker-connection.js';
import { AbortError, ArgumentError, PoolClosedError, QueueFullError, StrategyError } from '../errors.js';
import { onNetworkFilesystem } from '../config/filesystem.js';
import { Lane, type Grant, type LeaseJob } from './lane.js';
import { resolveOptions, type PoolOptions, type ResolvedPoolOptions } from '../config/options.js';
import { PortServer } from './port.js';
import type { Op, Params, RunResult, WireRequest } from '../local/protocol.js';
import { resolveStrategy } from '../config/resolve-strategy.js';
import { Lease, Reroute, runMember, runScoped, type Queryable, type Row, type Transaction, type TransactionMode } from './session.js';
import type { AccessKind, ConnectionRole, Strategy } from '../strategy.js';
import { checkCall } from '../config/validate.js';
import { MessageChannel, type MessagePort } from 'node:worker_threads';

/** Options of {@link Pool.transaction}. */
export interface TransactionOptions {
  /**
   * `immediate` (default): takes the write lock at BEGIN, so a read-then-write never fails on the lock upgrade.
   * `deferred`: BEGIN DEFERRED on the writer. `read`: a reader, one consistent snapshot, writes refused.
   */
  readonly mode?: TransactionMode;
}

/** Options of {@link Pool.acquire}. */
export interface AcquireOptions {
  /** Lease the writer (true) or a reader (false, default). */
  readonly write?: boolean;
  /** Gives up waiting when it aborts; the promise rejects with `ABORT_ERR`. */
  readonly signal?: AbortSignal;
}

/** A snapshot of the pool's state, from {@link Pool.stats}. */
export interface PoolStats {
  /** The strategy's name. */
  readonly strategy: string;
  /** Reader connections open now (at most `options.readers`). */
  readonly readers: number;
  /** Whether the writer connection is open now. */
  readonly writerOpen: boolean;
  /** Connections running work or lent out now (readers and writer). */
  readonly busy: number;
  /** Requests waiting for a connection now. */
  readonly queued: number;
  /** Of those, the ones waiting for the writer. */
  readonly queuedWrites: number;
  /** Requests that had to wait because every connection of their kind was busy (since start). */
  readonly waits: number;
  /** One-shot batches sent to the writer and the one-shot requests they carried (since start). */
  readonly writeBatches: { readonly batches: number; readonly requests: number };
  /** One-shot batches sent to readers and the one-shot requests they carried (since start). */
  readonly readBatches: { readonly batches: number; readonly requests: number };
  /**
   * Groups of transactions committed together and the transactions they carried
   * (since start; strategies with `writeBatching.transactions` only).
   */
  readonly transactionGroups: { readonly groups: number; readonly transactions: number };
  /** Statements retried after SQLITE_BUSY (since start). */
  readonly retries: number;
  /** Worker threads that died and were replaced (since start). */
  readonly crashes: number;
  /** Idle-writer maintenance runs that failed (since start). */
  readonly maintenanceErrors: number;
  /** `open`, `closing` or `closed`. */
  readonly state: 'open' | 'closing' | 'closed';
  /** The strategy's own figures (WAL size, lock holds, …). */
  readonly strategyStats: Readonly<Record<string, number | string | boolean>>;
}

/** A pool of worker-thread SQLite connections. Create it with {@link createPool}. */
export class Pool implements Queryable {
  /** The strategy in use. */
  readonly strategy: Strategy;
  /** The options after defaults, frozen. */
  readonly options: ResolvedPoolOptions;

  readonly #writer: Lane;
  readonly #readers: Lane | undefined;
  /** Per SQL text: does it write? Learnt from the readers' `stmt.readonly`. */
  readonly #routes = new Map<string, boolean>();
  readonly #leases = new Set<Lease>();
  readonly #ports = new Set<PortServer>();
  /** Immediate transactions waiting to run in a group (when the strategy groups them). */
  readonly #grouped: { fn: (tx: Transaction) => unknown; resolve: (value: unknown) => void; reject: (error: unknown) => void }[] = [];
  #grouping: Promise<void> | undefined;
  #groups = 0;
  #groupedTransactions = 0;
  readonly #networkFilesystem: boolean;
  #state: 'open' | 'closing' | 'closed' = 'open';
  #closing: Promise<void> | undefined;
  #init: Promise<void> | undefined;
  #initialized = false;
  #writerWarm: Promise<void> | undefined;
  #writerOpened = false;
  #nextId = 1;
  #dirty = false;
  #maintaining = false;
  #crashes = 0;
  #retries = 0;
  #maintenanceErrors = 0;

  /** @internal Use {@link createPool}. */
  constructor(options: PoolOptions) {
    this.options = resolveOptions(options);
    this.#networkFilesystem = onNetworkFilesystem(this.options.filename);
    this.strategy = resolveStrategy(this.options.strategy, this.#networkFilesystem);
    const common = {
      strategy: this.strategy,
      maxBatch: this.options.maxBatch,
      acquireTimeoutMs: this.options.acquireTimeoutMs,
      nextId: () => this.#nextId++,
    };
    this.#writer = new Lane({
      ...common,
      size: 1,
      access: 'write',
      group: this.strategy.writeBatching,
      open: () => this.#open('writer'),
      gate: () => (this.#initialized ? undefined : this.#initialize()),
      onIdle: () => this.#maintain(),
    });
    this.#readers =
      this.options.readers === 0
        ? undefined
        : new Lane({
            ...common,
            size: this.options.readers,
            access: 'read',
            group: undefined,
            open: () => this.#open('reader'),
            gate: () => (this.#writerOpened ? undefined : this.#initialize().then(() => this.#warmWriter())),
          });
  }

  run(sql: string, params?: Params): Promise<RunResult> {
    return this.#query('run', sql, params) as Promise<RunResult>;
  }

  get<T = Row>(sql: string, params?: Params): Promise<T | undefined> {
    return this.#query('get', sql, params) as Promise<T | undefined>;
  }

  all<T = Row>(sql: string, params?: Params): Promise<T[]> {
    return this.#query('all', sql, params) as Promise<T[]>;
  }

  /** Runs a script on the writer. */
  exec(sql: string): Promise<void> {
    return this.#query('exec', sql, undefined) as Promise<void>;
  }

  /** Streams rows on a connection held until the loop ends (or breaks). */
  async *iterate<T = Row>(sql: string, params?: Params): AsyncIterableIterator<T> {
    const invalid = this.#refuse() ?? checkCall(sql, params);
    if (invalid !== undefined) throw invalid;
    const writes = this.#readers === undefined || this.#routes.get(sql) === true;
    let lease = await this.#lease(writes ? 'write' : 'read', undefined, !writes);
    try {
      try {
        yield* lease.stream<T>(sql, params, !writes);
      } catch (error) {
        if (!(error instanceof Reroute)) throw error;
        this.#remember(sql, true);
        lease.release();
        lease = await this.#lease('write', undefined, false);
        yield* lease.stream<T>(sql, params, false);
      }
    } finally {
      lease.release();
    }
  }

  /**
   * Runs `fn` in a transaction on a connection held until `fn` settles:
   * commits when it resolves, rolls back and rethrows when it throws. Use the
   * `tx` it receives for every statement inside.
   */
  async transaction<T>(fn: (tx: Transaction) => Promise<T> | T, options: TransactionOptions = {}): Promise<T> {
    if (typeof fn !== 'function') throw new ArgumentError(`transaction(fn) needs a function, got ${typeof fn}`);
    const mode = options.mode ?? 'immediate';
    if (mode !== 'immediate' && mode !== 'deferred' && mode !== 'read') {
      throw new ArgumentError(`options.mode must be "immediate", "deferred" or "read", got ${JSON.stringify(mode)}`);
    }
    if (mode === 'immediate' && this.strategy.writeBatching?.transactions === true) {
      const refused = this.#admit();
      if (refused !== undefined) throw refused;
      return new Promise<T>((resolve, reject) => {
        this.#grouped.push({ fn, resolve: resolve as (value: unknown) => void, reject });
        this.#grouping ??= this.#runGroups();
      });
    }
    const lease = await this.#lease(mode === 'read' ? 'read' : 'write', undefined, mode === 'read');
    try {
      return await runScoped(lease, mode, fn, {
        begin: mode === 'immediate' ? 'BEGIN IMMEDIATE' : 'BEGIN DEFERRED',
        commit: 'COMMIT',
        rollback: 'ROLLBACK',
        depth: 0,
      });
    } finally {
      lease.release();
    }
  }

  async #runGroups(): Promise<void> {
    try {
      while (this.#grouped.length > 0) await this.#runGroup();
    } finally {
      // In the same turn as the last check: a transaction queued after it starts a new run.
      this.#grouping = undefined;
    }
  }

  /**
   * Group commit of transactions: one writer lease and one outer transaction
   * for every transaction queued (up to `maxBatch`), each in its own
   * SAVEPOINT and rolled back alone on a throw, all acknowledged after the
   * one COMMIT (or all rejected if it fails).
   */
  async #runGroup(): Promise<void> {
    let lease: Lease;
    try {
      // Admitted when queued: a pool that started closing since still runs them.
      lease = await this.#lease('write', undefined, false, false, true);
      await lease.request('exec', 'BEGIN IMMEDIATE', undefined).catch((error: unknown) => {
        lease.release();
        throw error;
      });
    } catch (error) {
      for (const item of this.#grouped.splice(0)) item.reject(error);
      return;
    }
    const done: { resolve: (value: unknown) => void; reject: (error: unknown) => void; value: unknown }[] = [];
    let failure: unknown;
    try {
      const max = this.strategy.writeBatching?.maxBatch ?? this.options.maxBatch;
      for (let count = 0; count < max && this.#grouped.length > 0; count++) {
        const item = this.#grouped.shift()!;
        const outcome = await runMember(lease, item.fn);
        if (outcome.ok) done.push({ ...item, value: outcome.value });
        else {
          item.reject(outcome.error);
          if (outcome.broken) {
            failure = outcome.error;
            break;
          }
        }
      }
      if (failure === undefined) await lease.request('exec', 'COMMIT', undefined);
    } catch (error) {
      failure = error;
    }
    if (failure !== undefined) await lease.control('exec', 'ROLLBACK').catch(() => {});
    lease.release();
    this.#groups++;
    this.#groupedTransactions += done.length;
    for (const member of done) {
      if (failure === undefined) member.resolve(member.value);
      else member.reject(failure);
    }
  }

  /**
   * Leases a connection for exclusive use across awaits: the writer
   * (`write: true`) or a reader. Statements autocommit unless you BEGIN.
   * Call `release()` when done (in a `finally`).
   */
  acquire(options: AcquireOptions = {}): Promise<Lease> {
    return this.#lease(options.write === true ? 'write' : 'read', options.signal, options.write !== true);
  }

  /**
   * A port for another thread (a worker thread the app runs itself): pass it
   * (in `transferList`) and build a client there with `connectClient(port)`,
   * which offers `run/get/all/exec/transaction` on this pool, sharing its
   * readers and its one writer. Closing the pool closes its clients after
   * their work drains; a client that closes rolls back what it left open.
   */
  connectPort(): MessagePort {
    const refused = this.#refuse();
    if (refused !== undefined) throw refused;
    const { port1, port2 } = new MessageChannel();
    this.#ports.add(new PortServer(port1, this, (server) => this.#ports.delete(server)));
    return port2;
  }

  /** A snapshot of counters and gauges. */
  stats(): PoolStats {
    const readers = this.#readers;
    return {
      strategy: this.strategy.name,
      readers: readers?.open ?? 0,
      writerOpen: this.#writer.open > 0,
      busy: this.#writer.busy + (readers?.busy ?? 0),
      queued: this.#queued(),
      queuedWrites: this.#writer.pending,
      waits: this.#writer.waits + (readers?.waits ?? 0),
      writeBatches: { batches: this.#writer.batches, requests: this.#writer.requests },
      transactionGroups: { groups: this.#groups, transactions: this.#groupedTransactions },
      readBatches: { batches: readers?.batches ?? 0, requests: readers?.requests ?? 0 },
      retries: this.#retries,
      crashes: this.#crashes,
      maintenanceErrors: this.#maintenanceErrors,
      state: this.#state,
      strategyStats: this.strategy.stats?.() ?? {},
    };
  }

  /** Stops accepting work, lets queued work and open leases finish, then closes every connection. */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#state = 'closing';
    this.#closing = (async () => {
      try {
        while (this.#grouping !== undefined) await this.#grouping;
        await Promise.all([this.#writer.whenIdle(), this.#readers?.whenIdle()]);
        // Readers first: the writer closes last, so WAL cleanup sees no other connection.
        await this.#readers?.close();
        await this.#writer.close();
        if (this.#init !== undefined) await this.strategy.close();
      } finally {
        for (const server of [...this.#ports]) server.close();
        this.#state = 'closed';
      }
    })();
    return this.#closing;
  }

  /**
   * Rejects queued work and revokes open leases now (with `ERR_POOL_CLOSED`,
   * `reason` as cause), lets statements already running finish, then closes.
   */
  destroy(reason?: unknown): Promise<void> {
    const error = new PoolClosedError('The pool was destroyed', { cause: reason });
    if (this.#state === 'open') this.#state = 'closing';
    for (const item of this.#grouped.splice(0)) item.reject(error);
    this.#writer.failQueued(error);
    this.#readers?.failQueued(error);
    for (const lease of this.#leases) lease.revoke(error);
    return this.close();
  }

  #refuse(): PoolClosedError | undefined {
    return this.#state === 'open' ? undefined : new PoolClosedError(`The pool is ${this.#state}`);
  }

  #queued(): number {
    return this.#writer.pending + (this.#readers?.pending ?? 0) + this.#grouped.length;
  }

  #admit(): Error | undefined {
    const refused = this.#refuse();
    if (refused !== undefined) return refused;
    if (this.#queued() >= this.options.maxQueue) return new QueueFullError(this.options.maxQueue);
    return undefined;
  }

  #query(op: Op, sql: string, params: Params | undefined): Promise<unknown> {
    const invalid = this.#admit() ?? checkCall(sql, params);
    if (invalid !== undefined) return Promise.reject(invalid);
    return new Promise((resolve, reject) => {
      const request: WireRequest = { id: this.#nextId++, op, sql, params };
      const writes = op === 'exec' || this.#readers === undefined ? true : this.#routes.get(sql);
      if (writes === true) {
        this.#enqueueWrite(request, { resolve, reject });
      } else if (writes === false) {
        this.#readers!.enqueue({ kind: 'query', request, waiter: { resolve, reject }, enqueuedAt: performance.now() });
      } else {
        // First sight of this SQL: a reader prepares it and either runs it or sends it back as a write.
        const waiter: Pending = {
          resolve: (value) => {
            this.#remember(sql, false);
            resolve(value);
          },
          reject,
          reroute: () => {
            this.#remember(sql, true);
            this.#enqueueWrite(request, { resolve, reject });
          },
        };
        this.#readers!.enqueue({
          kind: 'query',
          request: { ...request, probe: true },
          waiter,
          enqueuedAt: performance.now(),
        });
      }
    });
  }

  #enqueueWrite(request: WireRequest, waiter: Pending): void {
    this.#dirty = true;
    this.#writer.enqueue({ kind: 'query', request, waiter, enqueuedAt: performance.now() });
  }

  #remember(sql: string, writes: boolean): void {
    // Bounded: an app that builds SQL text dynamically must not grow this forever.
    if (this.#routes.size >= 10_000) this.#routes.clear();
    this.#routes.set(sql, writes);
  }

  #lease(kind: AccessKind, signal: AbortSignal | undefined, readOnly: boolean, maintenance = false, admitted = false): Promise<Lease> {
    const refused = admitted ? undefined : this.#admit();
    if (refused !== undefined) return Promise.reject(refused);
    if (signal?.aborted === true) return Promise.reject(new AbortError({ cause: signal.reason }));
    const lane = kind === 'write' || this.#readers === undefined ? this.#writer : this.#readers;
    if (lane === this.#writer && !readOnly && !maintenance) this.#dirty = true;
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        lane.cancel(job);
        reject(new AbortError({ cause: signal?.reason }));
      };
      const job: LeaseJob = {
        kind: 'lease',
        enqueuedAt: performance.now(),
        cancelled: false,
        grant: (grant: Grant) => {
          signal?.removeEventListener('abort', onAbort);
          const lease = new Lease(grant, lane === this.#writer, readOnly, () => this.#nextId++, (done) =>
            this.#leases.delete(done),
          );
          this.#leases.add(lease);
          resolve(lease);
        },
        fail: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      lane.enqueue(job);
    });
  }

  #open(role: ConnectionRole): Promise<WorkerConnection> {
    const { options, strategy } = this;
    const hooks: ConnectionHooks = {
      onCrash: () => {
        this.#crashes++;
      },
      onRetries: (count) => {
        this.#retries += count;
      },
    };
    const opening = WorkerConnection.open(
      {
        filename: options.filename,
        role,
        journalMode: strategy.journalMode,
        busyTimeoutMs: options.busyTimeoutMs,
        safeIntegers: options.safeIntegers,
        pragmas: { ...strategy.pragmas(role), ...options.pragmas },
        iterateChunkRows: options.iterateChunkRows,
        deferOpen: strategy.openUnderHold === true,
      },
      options.workerResourceLimits,
      hooks,
    );
    if (role === 'writer' && strategy.openUnderHold !== true) {
      // Readers open read-only and may start as soon as any writer connection has created the file.
      void opening.then(() => (this.#writerOpened = true), () => {});
    }
    return opening;
  }

  /** Runs the strategy's init once; a failure is kept and fails every later request. */
  #initialize(): Promise<void> {
    this.#init ??= this.strategy
      .init({ filename: this.options.filename, networkFilesystem: this.#networkFilesystem })
      .then(
        () => {
          this.#initialized = true;
        },
        (error: unknown) => {
          throw error instanceof Error ? error : new StrategyError(String(error), 'ERR_STRATEGY_UNSUPPORTED');
        },
      );
    return this.#init;
  }

  /** Readers open read-only, so the writer must have created the file (and set its journal mode) first. */
  #warmWriter(): Promise<void> {
    this.#writerWarm ??= new Promise<void>((resolve, reject) => {
      this.#writer.enqueue({
        kind: 'lease',
        enqueuedAt: performance.now(),
        cancelled: false,
        grant: (grant) => {
          this.#writerOpened = true;
          grant.giveBack();
          resolve();
        },
        fail: reject,
      });
    }).catch((error: unknown) => {
      this.#writerWarm = undefined; // try again on the next request
      throw error;
    });
    return this.#writerWarm;
  }

  /** When the writer goes idle after writes, lets the strategy do maintenance (a WAL checkpoint, …). */
  #maintain(): void {
    if (!this.#dirty || this.#maintaining || this.strategy.onWriterIdle === undefined || this.#state !== 'open') return;
    this.#dirty = false;
    this.#maintaining = true;
    setImmediate(() => {
      void (async () => {
        try {
          if (this.#state !== 'open') return;
          const lease = await this.#lease('write', undefined, false, true);
          try {
            await this.strategy.onWriterIdle?.({ all: (sql) => lease.all(sql) });
          } finally {
            lease.release();
          }
        } catch {
          this.#maintenanceErrors++;
        } finally {
          this.#maintaining = false;
        }
      })();
    });
  }
}

/**
 * Creates a pool. Validates `options` synchronously (throwing
 * `ERR_INVALID_OPTIONS`); threads and connections start on first use.
 */
export function createPool(options: PoolOptions): Pool {
  return new Pool(options);
}
