/**
 * The engine behind a pool: its two lanes of connections (lanes.ts) wired
 * to the router, leases, transactions and their groups, maintenance and the
 * lifecycle. The `Pool` facade, sessions,
 * prepared statements and cross-thread clients all run their calls here.
 */
import { resolve as resolvePath } from 'node:path';
import type { BackendBinding, BackupProgress, Op, Pending, Request } from '../backend.js';
import type { Resolved, ResolvedPoolOptions } from '../config/options.js';
import { checkCall, checkQueryOptions } from '../config/validate.js';
import { AbortError, ArgumentError, QueueFullError, toError, type PoolClosedError } from '../errors.js';
import {
  backupOptions,
  leaseOptions,
  refuseOneShot,
  transactionMode,
  type AcquireOptions,
  type BackupOptions,
  type TransactionOptions,
} from './call-rules.js';
import { summarize } from '../sql/statements.js';
import type { Strategy } from '../strategy.js';
import type { CursorChunk, Params, QueryOptions } from '../types.js';
import { KeepAlive } from './keep-alive.js';
import { Lanes } from './lanes.js';
import { Reroute, type Lease, type PoolLease } from './lease.js';
import { Leasing, type LeaseWait } from './leasing.js';
import { afterInit, fileReady, lendsBackup, lendsStream, lendsToWriter, readJob } from './lent-reads.js';
import { Lifecycle, type Shutdown } from './lifecycle.js';
import { Maintenance } from './maintenance.js';
import { NextTurnRead, readNow } from './read-now.js';
import { Router } from './router.js';
import { POOL_SCOPE, type Scope } from './scope.js';
import { openByLease, StartGate } from './start-gate.js';
import { poolStats, type PoolStats } from './stats.js';
import { TransactionGroups } from './transaction-groups.js';
import type { OpenTransaction } from './open-transaction.js';
import { PoolTransaction, type TransactionHost } from './transaction.js';
import type { Transaction, TransactionMode } from './transaction-scope.js';
import { now, setImmediate } from '../timers.js';
import { channels, traced } from '../diagnostics.js';

/** The engine of one pool (see the module description). */
export class Engine implements Shutdown, TransactionHost {
  readonly options: ResolvedPoolOptions;
  readonly strategy: Strategy;
  readonly router: Router;
  readonly readers: boolean;
  readonly deferredOnReaders: boolean;
  readonly lifecycle: Lifecycle;
  readonly #binding: BackendBinding;
  readonly #lanes: Lanes;
  readonly #gate: StartGate;
  readonly #leasing: Leasing;
  readonly #groups: TransactionGroups;
  readonly #maintenance: Maintenance;
  /** COMMITs handed off with the writer and not yet answered: closing waits for them. */
  readonly #commits = new Set<Promise<void>>();
  readonly #keepAlive = new KeepAlive(() => this.#lanes.hasWork(this.#leasing.quiet));
  /** What else closes with the pool (cross-thread ports). */
  readonly #closers = new Set<() => void>();
  readonly #nextTurn = new NextTurnRead();
  #nextStatementId = 1;

  constructor(
    { options, binding }: Resolved,
    private readonly warn: (code: string, message: string, once?: boolean) => void,
  ) {
    this.options = options;
    this.#binding = binding;
    this.strategy = binding.strategy;
    this.readers = options.readers > 0;
    this.deferredOnReaders = this.readers && binding.strategy.capabilities.readsDuringWrite;
    this.router = new Router(this.readers, binding.readsOnly?.bind(binding));
    this.lifecycle = new Lifecycle(this);
    this.#leasing = new Leasing(
      options,
      (code, message) => warn(code, message),
      () => this.#keepAlive.sync(),
    );
    this.#gate = new StartGate(binding, (onOpened) => openByLease(this.#lanes.writer, onOpened));
    this.#maintenance = new Maintenance(binding.strategy, {
      isOpen: () => this.lifecycle.state === 'open',
      writerQuiet: () => this.#lanes.writer.idle && this.#commits.size === 0,
      leaseWriter: () => this.lease('write', POOL_SCOPE, false, { maintenance: true }),
    });
    this.#groups = new TransactionGroups({
      database: binding.location,
      leaseWriter: () => this.lease('write', POOL_SCOPE, false, { maintenance: true }),
      maxMembers: binding.strategy.writeBatching?.maxBatch ?? options.maxBatch,
    });
    this.#lanes = new Lanes(options, binding, {
      gate: this.#gate,
      onWorkChange: () => this.#keepAlive.sync(),
      onWriterIdle: () => this.#maintenance.onWriterIdle(),
      warn,
    });
  }

  /** Why a new call is refused now (closed, or the queue is full), if it is. */
  admit(): Error | undefined {
    const refused = this.lifecycle.refuse();
    if (refused !== undefined) return refused;
    if (this.#queued() >= this.options.maxQueue) return new QueueFullError(this.options.maxQueue);
    return undefined;
  }

  /** Whether the backend's connections load a session's extensions (see `Session.loadExtension`). */
  get loadsExtensions(): boolean {
    return this.#binding.loadsExtensions === true;
  }

  /** An id for a prepared statement of `sql` (checked here: a bad statement fails at prepare). */
  prepareId(sql: string): number {
    const invalid = this.lifecycle.refuse() ?? checkCall(sql, undefined) ?? refuseOneShot(sql);
    if (invalid !== undefined) throw invalid;
    return this.#nextStatementId++;
  }

  /** A one-shot statement in `scope`; `statementId` for a prepared statement (its SQL was checked when it was prepared). */
  query(
    op: Op,
    sql: string,
    params: Params | undefined,
    options: QueryOptions | undefined,
    scope: Scope,
    statementId?: number,
  ): Promise<unknown> {
    const invalid =
      this.admit() ??
      (statementId === undefined ? (checkCall(sql, params, op === 'exec') ?? refuseOneShot(sql, scope.pinned)) : checkCall(sql, params)) ??
      checkQueryOptions(options);
    if (invalid !== undefined) return Promise.reject(invalid);
    const signal = options?.signal;
    if (signal?.aborted === true) return Promise.reject(new AbortError({ cause: signal.reason }));
    const send = (): Promise<unknown> =>
      new Promise((resolve, reject) => {
        const request: Request = { op, sql, params, settings: scope.settings, statementId };
        this.#route(request, { resolve, reject, timeoutMs: options?.timeoutMs, signal }, scope.pinned);
      });
    return traced(channels.query, () => ({ database: this.#binding.location, op, sql }), send);
  }

  /**
   * Sends a one-shot request where the router says: the writer, or a reader (as a probe for a statement never seen).
   * `again`: routed a second time, on the turn after a young pool's writer was found claimed (see `lendsToWriter`).
   */
  #route(request: Request, caller: Pending, pinned: boolean, again = false): void {
    const route = this.router.route(request.op, request.sql, pinned);
    if (route === 'write') return this.#toWriter(request, caller);
    const { inline } = this.#binding;
    const ready = fileReady(this.#gate, inline);
    if (ready === 'init' && !again) return afterInit(this.#gate, () => this.#route(request, caller, pinned, true));
    const lends = lendsToWriter(request, inline, ready, this.#lanes.readers!, this.#lanes.writer);
    if (lends === 'soon' && !again && this.#nextTurn.deferAll(caller, () => this.#route(request, caller, pinned, true))) return;
    const lent = lends === true;
    const here = lent
      ? undefined
      : readNow(inline, ready === true || ready === 'early', this.router, request, caller, () => this.#toWriter(request, caller));
    if (here === 'answered' || (here === 'spent' && this.#nextTurn.defer(caller, () => this.#route(request, caller, pinned, again))))
      return;
    const waiter = this.router.readerWaiter(route, request.sql, caller, () => this.#toWriter(request, caller));
    this.#toReaders({ ...request, probe: route === 'probe' }, waiter, lent);
  }

  /** Streams rows in `scope` on a connection held until the loop ends (or breaks); a young pool's short result comes whole from its writer. */
  async *stream<T>(sql: string, params: Params | undefined, options: QueryOptions | undefined, scope: Scope): AsyncIterableIterator<T> {
    const invalid = this.lifecycle.refuse() ?? checkCall(sql, params) ?? checkQueryOptions(options) ?? refuseOneShot(sql, scope.pinned);
    if (invalid !== undefined) throw invalid;
    const route = this.router.route('iterate', sql, scope.pinned);
    const writes = route === 'write';
    const whole = writes ? undefined : await this.#streamWhole(sql, params, options, scope.settings, route === 'probe');
    if (whole !== undefined) return yield* whole as T[];
    let lease = await this.lease(writes ? 'write' : 'read', scope, !writes, { signal: options?.signal });
    try {
      try {
        yield* lease.stream<T>(sql, params, options, { probe: route === 'probe' });
      } catch (error) {
        if (!(error instanceof Reroute)) throw error;
        this.router.remember(sql, true);
        void lease.release();
        lease = await this.lease('write', scope, false, { signal: options?.signal });
        yield* lease.stream<T>(sql, params, options, {});
      }
    } finally {
      void lease.release();
    }
  }

  /**
   * A stream's rows from one read lent to the writer, when it may be (see
   * `lendsStream`; routed again on the next turn, as `#route` does, while the
   * writer finishes its batch); undefined when it may not, or its rows do not
   * end within a chunk, or it writes: it then streams on a lease.
   */
  #streamWhole(
    sql: string,
    params: Params | undefined,
    options: QueryOptions | undefined,
    settings: Scope['settings'],
    probe: boolean,
  ): Promise<unknown[] | undefined> {
    return new Promise((resolve, reject) => {
      const request: Request = { op: 'iterate', sql, params, settings, probe, readOnly: true };
      const waiter: Pending = {
        resolve: (chunk) => resolve((chunk as CursorChunk).rows),
        reject,
        reroute: () => resolve(undefined),
        learn: (writes) => this.router.remember(sql, writes),
        timeoutMs: options?.timeoutMs,
        signal: options?.signal,
      };
      const send = (again: boolean): void => {
        const lends = lendsStream(this.#binding, this.#gate.writerOpen, this.#lanes.readers!, this.#lanes.writer);
        if (lends === 'soon' && !again && this.#nextTurn.deferAll(waiter, () => send(true))) return;
        if (lends === true) this.#toReaders(request, waiter, true);
        else resolve(undefined);
      };
      send(false);
    });
  }

  /** Calls a procedure by name (see `Pool.call`). */
  async call(name: string, args: unknown[]): Promise<unknown> {
    if (typeof name !== 'string' || name.length === 0)
      throw new ArgumentError(`call(name): a procedure name is expected, got ${typeof name}`);
    const refused = this.admit();
    if (refused !== undefined) throw refused;
    if (this.options.procedures === undefined)
      throw new ArgumentError(`call(${JSON.stringify(name)}): the pool has no procedures module (createPool({ procedures }))`);
    if (this.#binding.procedures?.() === undefined) {
      await this.#gate.initialize();
      await this.#gate.warmWriter();
    }
    const procedures = this.#binding.procedures?.();
    const readOnly = procedures?.get(name);
    if (readOnly === undefined) {
      throw new ArgumentError(
        `call(${JSON.stringify(name)}): no such procedure in ${this.options.procedures}; it exports ${[...(procedures?.keys() ?? [])].join(', ')}`,
      );
    }
    const run = (): Promise<unknown> =>
      new Promise((resolve, reject) => {
        const request: Request = { op: 'call', sql: name, params: args as Params, readOnly, settings: undefined };
        if (readOnly && this.#lanes.readers !== undefined) this.#toReaders(request, { resolve, reject });
        else this.#toWriter(request, { resolve, reject });
      });
    return traced(channels.query, () => ({ database: this.#binding.location, op: 'call', sql: name }), run);
  }

  /** Runs `fn` in a transaction in `scope` (see `Pool.transaction`). */
  async transaction<T>(fn: (tx: Transaction) => Promise<T> | T, options: TransactionOptions | undefined, scope: Scope): Promise<T> {
    if (typeof fn !== 'function') throw new ArgumentError(`transaction(fn) needs a function, got ${typeof fn}`);
    const mode = transactionMode(options);
    // A session's own are never grouped: the group's connection runs with one set of settings.
    const grouped = mode === 'immediate' && this.strategy.writeBatching?.transactions === true && scope.settings === undefined;
    const run = async (): Promise<T> => {
      if (grouped) {
        const refused = this.admit();
        if (refused !== undefined) throw refused;
        return this.#groups.run(fn);
      }
      const transaction = await this.#begin(mode, scope);
      return transaction.run(fn);
    };
    return traced(channels.transaction, () => ({ database: this.#binding.location, mode, grouped }), run);
  }

  /** Begins a transaction held until the caller commits or rolls it back (see `Pool.begin`). */
  async begin(options: TransactionOptions | undefined, scope: Scope): Promise<OpenTransaction> {
    return (await this.#begin(transactionMode(options), scope)).open();
  }

  #begin(mode: TransactionMode, scope: Scope): Promise<PoolTransaction> {
    const refused = this.admit();
    if (refused !== undefined) return Promise.reject(refused);
    return PoolTransaction.begin(this, mode, scope);
  }

  /** A caller's lease in `scope` (see `Pool.acquire`). */
  acquire(options: AcquireOptions | undefined, scope: Scope): Promise<Lease> {
    let write: boolean;
    let signal: AbortSignal | undefined;
    try {
      ({ write, signal } = leaseOptions(options));
    } catch (error) {
      return Promise.reject(toError(error));
    }
    const refused = this.admit();
    if (refused !== undefined) return Promise.reject(refused);
    return this.lease(write || scope.pinned ? 'write' : 'read', scope, !write, { signal });
  }

  /** A lease of the writer (`write`) or a reader (the writer when there are none). */
  lease(kind: 'read' | 'write', scope: Scope, readOnly: boolean, terms: LeaseWait = {}): Promise<PoolLease> {
    const write = kind === 'write' || this.#lanes.readers === undefined;
    if (write && !readOnly && terms.maintenance !== true) this.#maintenance.touched();
    const lease = this.#leasing.take({ lane: write ? this.#lanes.writer : this.#lanes.readers, write, readOnly, scope, ...terms });
    return write ? lease.then((granted) => (this.#gate.writerOpened(), granted)) : lease;
  }

  /** An online backup to `destination` (see `Pool.backup`), on a reader, or on the writer (a session's pinned there; a small one-step one lent). */
  async backup(destination: string, options: BackupOptions | undefined, scope: Scope = POOL_SCOPE): Promise<BackupProgress> {
    const { progress, signal, ...job } = backupOptions(destination, options, scope.pinned);
    const refused = this.admit();
    if (refused !== undefined) throw refused;
    const lanes = this.#lanes;
    const lends = (): boolean | 'soon' =>
      !scope.pinned &&
      job.pagesPerStep === -1 &&
      lendsBackup(lanes.readers, lanes.writer, this.#gate.writerOpen, () => this.#binding.sizeBytes?.());
    const first = lends();
    // 'soon': the writer is counting the batch that answered the caller's last write; ask again on the next turn.
    const lent = first === 'soon' ? await new Promise<boolean>((resolve) => setImmediate(() => resolve(lends() === true))) : first;
    const lease = await this.lease(scope.pinned || lent ? 'write' : 'read', scope, !scope.pinned, { signal });
    try {
      return await lease.backup(resolvePath(destination), job, progress);
    } finally {
      void lease.release();
    }
  }

  /** Registers something that closes with the pool (a cross-thread port); returns how to unregister it. */
  onClose(close: () => void): () => void {
    this.#closers.add(close);
    return () => this.#closers.delete(close);
  }

  committing(settled: Promise<void>): void {
    this.#commits.add(settled);
    void settled.then(() => {
      this.#commits.delete(settled);
      // Maintenance waited for this COMMIT (the writer looked idle while it was in flight).
      if (this.#lanes.writer.idle) this.#maintenance.onWriterIdle();
    });
  }

  /** A snapshot of counters and gauges. */
  stats(): PoolStats {
    return poolStats(this.#lanes.writer, this.#lanes.readers, {
      strategy: this.strategy.name,
      queued: this.#queued(),
      transactionGroups: { groups: this.#groups.groups, transactions: this.#groups.acknowledged },
      inlineReads: this.#binding.inline?.count ?? 0,
      retries: this.#lanes.retries,
      crashes: this.#lanes.crashes,
      maintenanceErrors: this.#maintenance.errors,
      state: this.lifecycle.state,
      strategyStats: this.strategy.stats?.() ?? {},
    });
  }

  async drained(): Promise<void> {
    // Closing is work too: the process stays alive until the pool has closed (release() lets go).
    this.#keepAlive.closing();
    await this.#groups.drained();
    await Promise.all([this.#lanes.whenIdle(), ...this.#commits, this.#nextTurn.drained()]);
    // A COMMIT answered after the writer went idle may have let queued work in behind it.
    await this.#lanes.whenIdle();
  }

  abandon(error: PoolClosedError): void {
    this.#groups.failQueued(error);
    this.#nextTurn.failAll(error);
    this.#lanes.failQueued(error);
    this.#leasing.revokeAll(error);
    this.#lanes.stopAll(error);
  }

  async closeConnections(graceMs: number | undefined): Promise<void> {
    await this.#lanes.close(graceMs);
  }

  async release(): Promise<void> {
    this.#keepAlive.stop();
    this.#maintenance.stop();
    if (this.#gate.started) await this.strategy.close().catch(() => {});
    this.#binding.close();
    for (const close of [...this.#closers]) close();
  }

  #queued(): number {
    return this.#lanes.pending + this.#groups.queued;
  }

  #toWriter(request: Request, waiter: Pending): void {
    this.#maintenance.touched();
    // Alone, outside a group: a script (what ran before a failing statement stays), a query_only session's statements
    // (query_only refuses BEGIN IMMEDIATE), a change to the connection (ATTACH and DETACH fail inside a transaction).
    const { standalone, script, state } = summarize(request.sql);
    const alone = standalone || state !== undefined || (request.op === 'exec' && script) || !!request.settings?.pragmas['query_only'];
    this.#lanes.writer.enqueue({ kind: 'query', request, waiter, enqueuedAt: now(), cancelled: false, alone });
  }

  /** A read for the readers, or `lent` to the writer (a new pool's first: see lent-reads.ts). */
  #toReaders(request: Request, waiter: Pending, lent = false): void {
    (lent ? this.#lanes.writer : this.#lanes.readers!).enqueue(readJob(request, waiter, lent));
  }
}
