/**
 * The pool: routes one-shot statements to the readers or the writer, lends
 * connections to transactions and leases, and manages the lifecycle (lazy
 * start, a bounded drain on close, reject-everything on destroy).
 */
import { EventEmitter } from 'node:events';
import { resolve as resolvePath } from 'node:path';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { resolveOptions, type PoolOptions, type ResolvedPoolOptions } from '../config/options.js';
import {
  describe,
  enumOption,
  functionOption,
  integerOption,
  msOption,
  optionsObject,
  signalOption,
  booleanOption,
} from '../config/checks.js';
import { onNetworkFilesystem } from '../config/filesystem.js';
import { resolveStrategy } from '../config/resolve-strategy.js';
import { checkCall, checkQueryOptions } from '../config/validate.js';
import {
  AbortError,
  ArgumentError,
  ConnectionStateError,
  PoolClosedError,
  QueueFullError,
  SqliteError,
  StrategyError,
  TransactionError,
  toError,
} from '../errors.js';
import { summarize } from '../sql/statements.js';
import type { AccessKind, ConnectionRole, Strategy } from '../strategy.js';
import type { Params, QueryOptions, Row, RunResult } from '../types.js';
import type {
  BackupProgress,
  Connection,
  ConnectionFactory,
  ConnectionFactoryMaker,
  ConnectionHooks,
  Op,
  Pending,
  Request,
  Settings,
} from './connection.js';
import { Lane, type Grant, type LeaseJob } from './lane.js';
import { PortServer } from './port.js';
import {
  Lease,
  Reroute,
  runMember,
  runScoped,
  type Queryable,
  type StateTracker,
  type Transaction,
  type TransactionMode,
} from './lease.js';
import { Session, type SessionOptions } from './pool-session.js';
import { PreparedStatement } from './prepared.js';
import { settlesWithin } from '../settles-within.js';

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

/** Options of {@link Pool.backup}. */
export interface BackupOptions {
  /**
   * `api` (default): SQLite's online backup API, in steps, from one snapshot
   * (it never restarts, and in WAL mode writers go on beside it); an existing
   * destination is overwritten. `vacuum`: VACUUM INTO, a compacted copy in one
   * statement; the destination must not exist.
   */
  readonly method?: 'api' | 'vacuum';
  /** Pages copied per step with the backup API; -1 copies all at once. Default: 100. */
  readonly pagesPerStep?: number;
  /** Called after each step with how far the backup has come. */
  readonly progress?: (progress: BackupProgress) => void;
  /** Stops the backup (or the wait for a connection); rejects with `ABORT_ERR`. */
  readonly signal?: AbortSignal;
}

/** Options of {@link Pool.close}. */
export interface CloseOptions {
  /** How long to let queued work, transactions and leases finish before destroying the pool, in ms. Default: the pool's `closeTimeoutMs`. */
  readonly timeoutMs?: number;
}

/** Something the application should know about; a pool emits it as a `warning` event. */
export class LitepoolWarning extends Error {
  /** A stable code: `LITEPOOL_LEASE_HELD`, `LITEPOOL_LEASE_ROLLED_BACK`, `LITEPOOL_NO_INTERRUPT`, `LITEPOOL_STATEMENT_ABANDONED`, `LITEPOOL_CONNECTION_ABANDONED`, `LITEPOOL_LEADER_CHANGED` (dqlite). */
  readonly code: string;

  /** @param code the stable code @param message what happened, for people */
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }

  /** `LitepoolWarning` (the warning's type, as process.emitWarning prints it). */
  override get name(): string {
    return 'LitepoolWarning';
  }
}

/** The events of a {@link Pool}. */
export interface PoolEvents {
  /**
   * A warning: a lease held past `leakDetectionMs`, a lease released inside a
   * transaction, a statement that could not be stopped. With no listener,
   * warnings go to `process.emitWarning`.
   */
  warning: [warning: LitepoolWarning];
}

/** Batches sent to connections, and the requests they carried. */
export interface BatchCounts {
  /** Batches sent. */
  readonly batches: number;
  /** Requests carried by those batches. */
  readonly requests: number;
}

/** Groups of transactions committed together, and the transactions they carried. */
export interface GroupCounts {
  /** Groups committed (or failed) together. */
  readonly groups: number;
  /** Transactions acknowledged in those groups. */
  readonly transactions: number;
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
  readonly writeBatches: BatchCounts;
  /** One-shot batches sent to readers and the one-shot requests they carried (since start). */
  readonly readBatches: BatchCounts;
  /** Requests taken back from a connection stuck in a long statement and run on another (since start). */
  readonly moved: number;
  /**
   * Groups of transactions committed together and the transactions they carried
   * (since start; strategies with `writeBatching.transactions` only).
   */
  readonly transactionGroups: GroupCounts;
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

/**
 * @internal Where a call runs: with a session's connection settings, pinned to
 * the writer when the session keeps state there (TEMP objects, ATTACHed
 * databases), and who tracks that state.
 */
export interface Scope {
  readonly settings: Settings | undefined;
  readonly pinned: boolean;
  readonly tracker: StateTracker | undefined;
}

/** The pool's own scope: its own settings, routed by what statements do. */
/** @internal */
export const POOL_SCOPE: Scope = Object.freeze({ settings: undefined, pinned: false, tracker: undefined });

/** Grace given to connections when the pool is destroyed (or close() ran out of time). */
const DESTROY_GRACE_MS = 250;

/** A pool of worker-thread SQLite connections. Create it with {@link createPool}. */
export class Pool extends EventEmitter<PoolEvents> implements Queryable {
  /** The strategy in use. */
  readonly strategy: Strategy;
  /** The options after defaults, frozen. */
  readonly options: ResolvedPoolOptions;

  readonly #factory: ConnectionFactory;
  readonly #writer: Lane;
  readonly #readers: Lane | undefined;
  /** The procedures module's exports by name (whether each is read-only), from the first connection that opened. */
  #procedures: ReadonlyMap<string, boolean> | undefined;
  #nextStatementId = 1;
  /** Transactions that may hand their writer on before their COMMIT is answered (see `Lease.handOff`), until they settle. */
  readonly #commits = new Set<Promise<void>>();
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
  /** Set once the pool stops waiting for work to finish: the reason later work is refused with. */
  #destroyed: PoolClosedError | undefined;
  #init: Promise<void> | undefined;
  #initialized = false;
  #writerWarm: Promise<void> | undefined;
  #writerOpened = false;
  readonly #writerWaiters: (() => void)[] = [];
  #dirty = false;
  #maintaining = false;
  #crashes = 0;
  #retries = 0;
  #maintenanceErrors = 0;
  readonly #warned = new Set<string>();

  /** @internal Use {@link createPool}. */
  constructor(options: PoolOptions, factory: ConnectionFactoryMaker) {
    super();
    this.options = resolveOptions(options);
    const { backend } = this.options;
    this.#networkFilesystem = backend === undefined && onNetworkFilesystem(this.options.filename);
    this.strategy = backend === undefined ? resolveStrategy(this.options.strategy, this.#networkFilesystem) : backend.strategy();
    this.#factory = factory(this.options, this.strategy);
    const common = {
      strategy: this.strategy,
      maxBatch: this.options.maxBatch,
      acquireTimeoutMs: this.options.acquireTimeoutMs,
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
            // Every reader stuck in a long statement: reads run on the writer rather than wait.
            overflow: (job) => {
              this.#writer.enqueue(job);
              return true;
            },
          });
  }

  run(sql: string, params?: Params, options?: QueryOptions): Promise<RunResult> {
    return this.query('run', sql, params, options, POOL_SCOPE) as Promise<RunResult>;
  }

  get<T = Row>(sql: string, params?: Params, options?: QueryOptions): Promise<T | undefined> {
    return this.query('get', sql, params, options, POOL_SCOPE) as Promise<T | undefined>;
  }

  all<T = Row>(sql: string, params?: Params, options?: QueryOptions): Promise<T[]> {
    return this.query('all', sql, params, options, POOL_SCOPE) as Promise<T[]>;
  }

  values<T extends unknown[] = unknown[]>(sql: string, params?: Params, options?: QueryOptions): Promise<T[]> {
    return this.query('values', sql, params, options, POOL_SCOPE) as Promise<T[]>;
  }

  /** Runs a script on the writer. */
  exec(sql: string, options?: QueryOptions): Promise<void> {
    return this.query('exec', sql, undefined, options, POOL_SCOPE) as Promise<void>;
  }

  /** Streams rows on a connection held until the loop ends (or breaks). */
  iterate<T = Row>(sql: string, params?: Params, options?: QueryOptions): AsyncIterableIterator<T> {
    return this.stream<T>(sql, params, options, POOL_SCOPE);
  }

  /**
   * A session: a view of the pool whose statements run with connection
   * settings of their own (`pragmas`, double-quoted strings), as if it had
   * its own connection, while it shares the pool's connections. A
   * connection-scoped `PRAGMA … = …` run through it changes its settings, not
   * a connection; TEMP objects and ATTACHed databases keep it on the writer,
   * where they live, until it closes. The node-sqlite3 drop-in makes one per
   * `Database`.
   */
  session(options: SessionOptions = {}): Session {
    const refused = this.#refuse();
    if (refused !== undefined) throw refused;
    return new Session(this, options);
  }

  /**
   * A prepared statement: its SQL is checked once, here, and crosses to each
   * connection once; each call sends only the statement's id and parameters,
   * and its route (reader or writer) is learnt on first use.
   */
  prepare(sql: string): PreparedStatement {
    const refused = this.#refuse();
    if (refused !== undefined) throw refused;
    const invalid = checkCall(sql, undefined) ?? refuseOneShot(sql);
    if (invalid !== undefined) throw invalid;
    return new PreparedStatement(this, sql, this.#nextStatementId++);
  }

  /**
   * Calls a procedure of the pool's `procedures` module by name: it runs in
   * a worker thread, synchronously, with the connection and `args` (values
   * that can cross threads: no functions). A write procedure runs on the
   * writer in a transaction of its own (under `single-writer`, group-committed
   * with other writes, in its own SAVEPOINT), acknowledged after COMMIT; one
   * marked read-only runs on a reader. Resolves with its return value;
   * rejects with what it threw (class, message and `code` kept).
   */
  async call<T = unknown>(name: string, ...args: unknown[]): Promise<T> {
    if (typeof name !== 'string' || name.length === 0)
      throw new ArgumentError(`call(name): a procedure name is expected, got ${describe(name)}`);
    const refused = this.#admit();
    if (refused !== undefined) throw refused;
    if (this.options.procedures === undefined) {
      throw new ArgumentError(`call(${JSON.stringify(name)}): the pool has no procedures module (createPool({ procedures }))`);
    }
    if (this.#procedures === undefined) {
      await this.#initialize();
      await this.#warmWriter();
    }
    const readOnly = this.#procedures?.get(name);
    if (readOnly === undefined) {
      throw new ArgumentError(
        `call(${JSON.stringify(name)}): no such procedure in ${this.options.procedures}; it exports ${[...(this.#procedures?.keys() ?? [])].join(', ')}`,
      );
    }
    return new Promise<T>((resolve, reject) => {
      const request: Request = { op: 'call', sql: name, params: args as Params, readOnly, settings: undefined };
      const waiter: Pending = { resolve: resolve, reject };
      if (readOnly && this.#readers !== undefined) {
        this.#readers.enqueue({ kind: 'query', request, waiter, enqueuedAt: performance.now(), cancelled: false });
      } else this.#enqueueWrite(request, waiter);
    });
  }

  /** @internal Streams rows in `scope` on a connection held until the loop ends (or breaks). */
  async *stream<T>(sql: string, params: Params | undefined, options: QueryOptions | undefined, scope: Scope): AsyncIterableIterator<T> {
    const invalid = this.#refuse() ?? checkCall(sql, params) ?? checkQueryOptions(options) ?? refuseOneShot(sql, scope.pinned);
    if (invalid !== undefined) throw invalid;
    const writes = this.#readers === undefined || scope.pinned || summarize(sql).writerState || this.#routes.get(sql) === true;
    let lease = await this.#lease(writes ? 'write' : 'read', options?.signal, !writes, scope);
    try {
      try {
        yield* lease.stream<T>(sql, params, options, { probe: !writes });
      } catch (error) {
        if (!(error instanceof Reroute)) throw error;
        this.#remember(sql, true);
        void lease.release();
        lease = await this.#lease('write', options?.signal, false, scope);
        yield* lease.stream<T>(sql, params, options, {});
      }
    } finally {
      void lease.release();
    }
  }

  /**
   * Runs `fn` in a transaction on a connection held until `fn` settles:
   * commits when it resolves, rolls back and rethrows when it throws. Use the
   * `tx` it receives for every statement inside.
   */
  transaction<T>(fn: (tx: Transaction) => Promise<T> | T, options: TransactionOptions = {}): Promise<T> {
    return this.transactionIn(fn, options, POOL_SCOPE);
  }

  /** @internal A transaction in `scope` (a session's own are never grouped: the group's connection has one set of settings). */
  async transactionIn<T>(fn: (tx: Transaction) => Promise<T> | T, options: TransactionOptions, scope: Scope): Promise<T> {
    if (typeof fn !== 'function') throw new ArgumentError(`transaction(fn) needs a function, got ${typeof fn}`);
    const mode = enumOption(
      'transaction.mode',
      optionsObject('transaction', options, ['mode']).mode,
      ['immediate', 'deferred', 'read'],
      'immediate',
    );
    if (mode === 'immediate' && this.strategy.writeBatching?.transactions === true && scope.settings === undefined) {
      const refused = this.#admit();
      if (refused !== undefined) throw refused;
      return new Promise<T>((resolve, reject) => {
        this.#grouped.push({ fn, resolve: resolve as (value: unknown) => void, reject });
        this.#grouping ??= this.#runGroups();
      });
    }
    const read = mode === 'read' && !scope.pinned;
    const lease = await this.#lease(read ? 'read' : 'write', undefined, mode === 'read', scope);
    try {
      // Once COMMIT is on its way, the next holder takes the writer: its first message carries the COMMIT.
      const handOff = lease.write && !lease.readOnly;
      const work = runScoped(
        lease,
        mode,
        fn,
        { begin: mode === 'immediate' ? 'BEGIN IMMEDIATE' : 'BEGIN DEFERRED', commit: 'COMMIT', rollback: 'ROLLBACK', depth: 0 },
        handOff,
      );
      if (!handOff) return await work;
      // Closing waits for it too: its lease may be back before its COMMIT is answered.
      const settled = work.then(
        () => {},
        () => {},
      );
      this.#commits.add(settled);
      try {
        return await work;
      } finally {
        this.#commits.delete(settled);
        // Maintenance waited for this COMMIT (the writer looked idle while it was in flight).
        if (this.#writer.idle) this.#maintain();
      }
    } finally {
      void lease.release();
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
      lease = await this.#lease('write', undefined, false, POOL_SCOPE, false, true);
      await lease.request('exec', 'BEGIN IMMEDIATE', undefined, undefined, { internal: true }).catch((error: unknown) => {
        void lease.release();
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
      if (failure === undefined) await lease.request('exec', 'COMMIT', undefined, undefined, { internal: true, inTransaction: true });
    } catch (error) {
      failure = error;
    }
    if (failure !== undefined) await lease.control('exec', 'ROLLBACK').catch(() => {});
    void lease.release();
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
   * Call `release()` when done (in a `finally`): a transaction left open is
   * rolled back then, and a connection whose settings you changed is reset.
   */
  acquire(options: AcquireOptions = {}): Promise<Lease> {
    return this.leaseIn(options, POOL_SCOPE);
  }

  /** @internal A lease in `scope`. */
  leaseIn(options: AcquireOptions, scope: Scope): Promise<Lease> {
    let write: boolean;
    let signal: AbortSignal | undefined;
    try {
      const raw = optionsObject('acquire', options, ['write', 'signal']);
      write = booleanOption('acquire.write', raw.write, false);
      signal = signalOption('acquire.signal', raw.signal);
    } catch (error) {
      return Promise.reject(toError(error));
    }
    return this.#lease(write || scope.pinned ? 'write' : 'read', signal, !write, scope);
  }

  /**
   * An online backup of the database to the file `destination`, taken on a
   * reader (the writer when there are none) from one consistent snapshot:
   * writers are not blocked in WAL mode, and with the rollback journal only
   * for as long as the copy holds its read lock. Resolves with the pages
   * copied once the copy is complete.
   */
  async backup(destination: string, options: BackupOptions = {}): Promise<BackupProgress> {
    if (typeof destination !== 'string' || destination.length === 0)
      throw new ArgumentError(`backup(destination) needs a file path, got ${describe(destination)}`);
    const raw = optionsObject('backup', options, ['method', 'pagesPerStep', 'progress', 'signal']);
    const method = enumOption('backup.method', raw.method, ['api', 'vacuum'], 'api');
    const pagesPerStep =
      raw.pagesPerStep === -1 ? -1 : integerOption('backup.pagesPerStep', raw.pagesPerStep, 100, 1, { max: 2 ** 31 - 1 });
    const progress = functionOption<(progress: BackupProgress) => void>('backup.progress', raw.progress);
    const signal = signalOption('backup.signal', raw.signal);
    const lease = await this.#lease(this.#readers === undefined ? 'write' : 'read', signal, true);
    try {
      return await lease.backup(resolvePath(destination), method, pagesPerStep, progress, signal);
    } finally {
      void lease.release();
    }
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
      moved: this.#writer.moved + (readers?.moved ?? 0),
      retries: this.#retries,
      crashes: this.#crashes,
      maintenanceErrors: this.#maintenanceErrors,
      state: this.#state,
      strategyStats: this.strategy.stats?.() ?? {},
    };
  }

  /**
   * Stops accepting work, lets queued work, transactions and open leases
   * finish, then closes every connection. If that takes longer than
   * `timeoutMs` (default: the pool's `closeTimeoutMs`), what is left is
   * destroyed: queued calls and leases reject with `ERR_POOL_CLOSED` and
   * running statements are interrupted. Idempotent; never rejects.
   */
  close(options: CloseOptions = {}): Promise<void> {
    let timeoutMs: number;
    try {
      timeoutMs = msOption('close.timeoutMs', optionsObject('close', options, ['timeoutMs']).timeoutMs, this.options.closeTimeoutMs);
    } catch (error) {
      return Promise.reject(toError(error));
    }
    this.#closing ??= this.#shutdown(timeoutMs);
    return this.#closing;
  }

  /**
   * Rejects queued work and revokes open leases now (with `ERR_POOL_CLOSED`,
   * `reason` as cause), interrupts running statements, then closes every
   * connection. Settles within about a second.
   */
  destroy(reason?: unknown): Promise<void> {
    this.#abandonWork(new PoolClosedError('The pool was destroyed', { cause: reason }));
    return this.close({ timeoutMs: 0 });
  }

  async #shutdown(timeoutMs: number): Promise<void> {
    if (this.#state === 'open') this.#state = 'closing';
    try {
      const drained = (async () => {
        while (this.#grouping !== undefined) await this.#grouping;
        await Promise.all([this.#writer.whenIdle(), this.#readers?.whenIdle(), ...this.#commits]);
        // A COMMIT answered after the writer went idle may have let queued work in behind it.
        await Promise.all([this.#writer.whenIdle(), this.#readers?.whenIdle()]);
      })();
      if (!(await settlesWithin(drained, timeoutMs))) {
        this.#abandonWork(
          new PoolClosedError(`The pool was destroyed: close() waited ${timeoutMs} ms (closeTimeoutMs) for work to finish`),
        );
        await settlesWithin(drained, DESTROY_GRACE_MS * 4);
      }
      // Readers first: the writer closes last, so WAL cleanup sees no other connection.
      const grace = this.#destroyed === undefined ? undefined : DESTROY_GRACE_MS;
      await this.#readers?.close(grace);
      await this.#writer.close(grace);
      if (this.#init !== undefined) await this.strategy.close().catch(() => {});
    } finally {
      this.#factory.close();
      for (const server of [...this.#ports]) server.close();
      this.#state = 'closed';
    }
  }

  /** Stops waiting for work: rejects what is queued, revokes leases, interrupts what runs. */
  #abandonWork(error: PoolClosedError): void {
    if (this.#state === 'open') this.#state = 'closing';
    this.#destroyed ??= error;
    for (const item of this.#grouped.splice(0)) item.reject(error);
    this.#writer.failQueued(error);
    this.#readers?.failQueued(error);
    for (const lease of this.#leases) lease.revoke(error);
    this.#writer.stopAll(error);
    this.#readers?.stopAll(error);
  }

  #refuse(): PoolClosedError | undefined {
    return this.#state === 'open' ? undefined : (this.#destroyed ?? new PoolClosedError(`The pool is ${this.#state}`));
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

  /** Reports a warning: as a `warning` event, or to process.emitWarning when nobody listens. */
  #warn(code: string, message: string, once = false): void {
    if (once) {
      if (this.#warned.has(code)) return;
      this.#warned.add(code);
    }
    const warning = new LitepoolWarning(code, message);
    if (this.listenerCount('warning') > 0) this.emit('warning', warning);
    else process.emitWarning(warning);
  }

  /**
   * @internal A one-shot statement in `scope`; `statementId` for a prepared
   * statement (its SQL was checked when it was prepared).
   */
  query(
    op: Op,
    sql: string,
    params: Params | undefined,
    options: QueryOptions | undefined,
    scope: Scope,
    statementId?: number,
  ): Promise<unknown> {
    const invalid =
      this.#admit() ??
      (statementId === undefined ? (checkCall(sql, params, op === 'exec') ?? refuseOneShot(sql, scope.pinned)) : checkCall(sql, params)) ??
      checkQueryOptions(options);
    if (invalid !== undefined) return Promise.reject(invalid);
    if (options?.signal?.aborted === true) return Promise.reject(new AbortError({ cause: options.signal.reason }));
    return new Promise((resolve, reject) => {
      const timeoutMs = options?.timeoutMs;
      const signal = options?.signal;
      const request: Request = { op, sql, params, settings: scope.settings, statementId };
      const writes =
        op === 'exec' || this.#readers === undefined || scope.pinned || summarize(sql).writerState ? true : this.#routes.get(sql);
      const toWriter = (): void => this.#enqueueWrite(request, { resolve, reject, timeoutMs, signal });
      if (writes === true) {
        toWriter();
        return;
      }
      // A reader that meets a hot journal (a killed writer's) cannot roll it back: the writer can, and runs the read.
      const rejectOrRecover = (error: Error): void => {
        if ((error as { code?: unknown }).code === 'SQLITE_READONLY_ROLLBACK') toWriter();
        else reject(error);
      };
      const waiter: Pending =
        writes === false
          ? { resolve, reject: rejectOrRecover, timeoutMs, signal }
          : {
              // First sight of this SQL: a reader prepares it and either runs it or sends it back as a write.
              resolve,
              learn: (wrote) => this.#remember(sql, wrote),
              // A table only the writer has (a session's TEMP table, an ATTACHed database) fails to prepare on a
              // reader: the writer answers instead, with its own result or error.
              reject: (error) => (error instanceof SqliteError && error.code === 'SQLITE_ERROR' ? toWriter() : rejectOrRecover(error)),
              reroute: () => {
                this.#remember(sql, true);
                toWriter();
              },
              timeoutMs,
              signal,
            };
      this.#readers!.enqueue({
        kind: 'query',
        request: writes === false ? request : { ...request, probe: true },
        waiter,
        enqueuedAt: performance.now(),
        cancelled: false,
      });
    });
  }

  #enqueueWrite(request: Request, waiter: Pending): void {
    this.#dirty = true;
    const alone = summarize(request.sql).standalone;
    this.#writer.enqueue({ kind: 'query', request, waiter, enqueuedAt: performance.now(), cancelled: false, alone });
  }

  #remember(sql: string, writes: boolean): void {
    // Bounded: an app that builds SQL text dynamically must not grow this forever.
    if (this.#routes.size >= 10_000) this.#routes.clear();
    this.#routes.set(sql, writes);
  }

  #lease(
    kind: AccessKind,
    signal: AbortSignal | undefined,
    readOnly: boolean,
    scope = POOL_SCOPE,
    maintenance = false,
    admitted = false,
  ): Promise<Lease> {
    const refused = admitted ? undefined : this.#admit();
    if (refused !== undefined) return Promise.reject(refused);
    if (signal?.aborted === true) return Promise.reject(new AbortError({ cause: signal.reason }));
    const lane = kind === 'write' || this.#readers === undefined ? this.#writer : this.#readers;
    if (lane === this.#writer && !readOnly && !maintenance) this.#dirty = true;
    const { leakDetectionMs, statementTimeoutMs } = this.options;
    // Capturing a stack costs microseconds: only when leak detection will report it.
    const stack = leakDetectionMs > 0 ? new Error('lease taken here').stack : undefined;
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
          if (lane === this.#writer) this.#markWriterOpened();
          const lease = new Lease(
            grant,
            {
              write: lane === this.#writer,
              readOnly,
              leakDetectionMs,
              stack,
              statementTimeoutMs,
              connection: scope.settings,
              tracker: scope.tracker,
            },
            {
              released: (done) => this.#leases.delete(done),
              warn: (code, message) => this.#warn(code, message),
            },
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

  #open(role: ConnectionRole): Promise<Connection> {
    const lane = role === 'writer' ? this.#writer : this.#readers!;
    const hooks: ConnectionHooks = {
      onCrash: () => {
        this.#crashes++;
      },
      onRetries: (count) => {
        this.#retries += count;
      },
      onStall: (connection) => lane.onStall(connection),
      onWarning: (code, message) => this.#warn(code, message, code === 'LITEPOOL_NO_INTERRUPT'),
    };
    const opening = this.#factory.open(role, hooks);
    void opening.then(
      (connection) => {
        if (connection.procedures !== undefined && connection.procedures.size > 0) this.#procedures ??= connection.procedures;
      },
      () => {},
    );
    if (role === 'writer' && this.strategy.openUnderHold !== true) {
      // Readers open read-only and may start as soon as any writer connection has created the file.
      void opening.then(
        () => this.#markWriterOpened(),
        () => {},
      );
    }
    return opening;
  }

  /** Runs the strategy's init once; a failure is kept and fails every later request. */
  #initialize(): Promise<void> {
    this.#init ??= this.strategy.init({ filename: this.options.filename, networkFilesystem: this.#networkFilesystem }).then(
      () => {
        this.#initialized = true;
      },
      (error: unknown) => {
        throw error instanceof Error ? error : new StrategyError(String(error), 'ERR_STRATEGY_UNSUPPORTED');
      },
    );
    return this.#init;
  }

  /**
   * Readers open read-only, so the writer must have created the file (and set
   * its journal mode) first. Whichever comes first ends the wait: the writer
   * connection opening, or a lease of it (taken to open it) being granted.
   */
  #warmWriter(): Promise<void> {
    if (this.#writerOpened) return Promise.resolve();
    this.#writerWarm ??= new Promise<void>((resolve, reject) => {
      const job: LeaseJob = {
        kind: 'lease',
        enqueuedAt: performance.now(),
        cancelled: false,
        grant: (grant) => {
          grant.giveBack();
          this.#markWriterOpened();
        },
        fail: reject,
      };
      // Opened some other way first: this job is no longer needed (a no-op once granted).
      this.#writerWaiters.push(() => {
        this.#writer.cancel(job);
        resolve();
      });
      this.#writer.enqueue(job);
    }).catch((error: unknown) => {
      this.#writerWarm = undefined; // try again on the next request
      throw error;
    });
    return this.#writerWarm;
  }

  /** The writer connection exists (it opened, or a lease of it was granted): readers may open. */
  #markWriterOpened(): void {
    this.#writerOpened = true;
    for (const wake of this.#writerWaiters.splice(0)) wake();
  }

  /** When the writer goes idle after writes, lets the strategy do maintenance (a WAL checkpoint, …). */
  #maintain(): void {
    if (!this.#dirty || this.#maintaining || this.#commits.size > 0 || this.strategy.onWriterIdle === undefined || this.#state !== 'open') {
      return;
    }
    this.#dirty = false;
    this.#maintaining = true;
    setImmediate(() => {
      void (async () => {
        try {
          if (this.#state !== 'open') return;
          if (!this.#writer.idle || this.#commits.size > 0) {
            // Work arrived meanwhile: maintenance waits for the writer's next idle moment.
            this.#dirty = true;
            return;
          }
          const lease = await this.#lease('write', undefined, false, POOL_SCOPE, true);
          try {
            await this.strategy.onWriterIdle?.({
              all: (sql) => lease.request('all', sql, undefined, undefined, { internal: true }) as Promise<Record<string, unknown>[]>,
            });
          } finally {
            void lease.release();
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
 * One-shot statements run on whichever connection is free, and the next
 * caller gets that connection as they left it: transaction control and
 * changes to the connection's settings are refused there.
 */
function refuseOneShot(sql: string, stateAllowed = false): Error | undefined {
  const { transaction, savepoint, state } = summarize(sql);
  const control = transaction ?? savepoint;
  if (control !== undefined) {
    return new TransactionError(
      `${control} cannot run as a one-shot statement: it would leave its connection inside a transaction for the next caller; use pool.transaction(fn), or a lease from pool.acquire({ write: true })`,
      'ERR_TRANSACTION_CONTROL',
    );
  }
  if (state !== undefined && !stateAllowed) {
    return new ConnectionStateError(
      `${state} changes one connection's settings, and a one-shot statement runs on whichever connection is free: set PRAGMAs for every connection with createPool({ pragmas }) (or a setup module), or run this on a lease from pool.acquire(), whose connection is reset when released`,
    );
  }
  return undefined;
}
