/**
 * A lane: the wait queue in front of one kind of connection (the writer, or
 * the readers), backed by a generic-pool of connections. It sends queued
 * one-shot requests in batches under one strategy hold, lends whole
 * connections to leases and transactions, expires waiters after
 * `acquireTimeoutMs`, moves work away from a connection stuck in a long
 * statement, and replaces connections that die.
 */
import genericPool from 'generic-pool';
import { AbortError, AcquireTimeoutError } from '../errors.js';
import type { AccessKind, Strategy, StrategyHold, WriteBatching } from '../strategy.js';
import type { Connection, Pending, Request } from './connection.js';
import { JobQueue } from './job-queue.js';

/** A one-shot request waiting to be sent in a batch. */
export interface QueryJob {
  readonly kind: 'query';
  readonly request: Request;
  readonly waiter: Pending;
  enqueuedAt: number;
  /** Its caller aborted while it waited in the queue. */
  cancelled: boolean;
  /** Stops watching the caller's signal (the job left the queue; its connection watches it from then on). */
  detach?: () => void;
  /** Cannot run inside a transaction (VACUUM): sent in a batch of its own, never group-committed. */
  readonly alone?: boolean;
}

/** What a lease receives: a connection for its exclusive use, under a strategy hold. */
export interface Grant {
  readonly connection: Connection;
  readonly hold: StrategyHold;
  /** Shared flag set when the hold is lost; passed with every batch. */
  readonly abortFlag: Int32Array | undefined;
  /** Hands the connection back to the lane. Call once, when no request is in flight. */
  readonly giveBack: () => void;
}

/** A request for a whole connection (a lease or a transaction). */
export interface LeaseJob {
  readonly kind: 'lease';
  readonly grant: (grant: Grant) => void;
  readonly fail: (error: Error) => void;
  enqueuedAt: number;
  cancelled: boolean;
  /** Set when the lane takes it from the queue: too late to cancel. */
  taken?: boolean;
}

type Job = QueryJob | LeaseJob;

/** Batches in flight per connection: one running in the worker, one waiting behind it. */
export const PIPELINE_DEPTH = 2;

/** How a lane is set up by its pool. */
export interface LaneConfig {
  /** Connections in this lane (1 for the writer). */
  readonly size: number;
  /** What the strategy is asked for around each dispatch. */
  readonly access: AccessKind;
  readonly strategy: Strategy;
  readonly maxBatch: number;
  readonly acquireTimeoutMs: number;
  /** Group commit settings (writer of a batching strategy), else undefined. */
  readonly group: WriteBatching | undefined;
  /** Opens one connection. */
  readonly open: () => Promise<Connection>;
  /** Awaited before a connection is acquired (strategy init, the writer's first open); undefined once passed. */
  readonly gate: () => Promise<void> | undefined;
  /** Called when the lane has nothing queued and nothing running. */
  readonly onIdle?: () => void;
  /**
   * Takes a one-shot job this lane cannot serve soon (every one of its
   * connections is stuck in a long statement); false if it will not. The
   * readers' lane hands known reads to the writer this way.
   */
  readonly overflow?: (job: QueryJob) => boolean;
}

/** A connection that failed to open, kept as a resource so generic-pool does not retry in a loop. */
class OpenFailure {
  constructor(readonly error: unknown) {}
}

type Resource = Connection | OpenFailure;

/** One shared flag per hold signal (a hold serves many batches): one listener, not one per batch. */
const flags = new WeakMap<AbortSignal, Int32Array>();

/** The shared abort flag that follows `signal`, for the worker to check between requests. */
export function flagFor(signal: AbortSignal | undefined): Int32Array | undefined {
  if (signal === undefined) return undefined;
  let flag = flags.get(signal);
  if (flag === undefined) {
    const created = new Int32Array(new SharedArrayBuffer(4));
    if (signal.aborted) Atomics.store(created, 0, 1);
    else signal.addEventListener('abort', () => Atomics.store(created, 0, 1), { once: true });
    flags.set(signal, (flag = created));
  }
  return flag;
}

/** One queue and the connections that serve it. */
export class Lane {
  /** Jobs that could not start at once because every connection was busy. */
  waits = 0;
  /** Batches of one-shot requests sent to connections. */
  batches = 0;
  /** One-shot requests sent in those batches. */
  requests = 0;
  /** One-shot requests taken back from a stalled connection and run elsewhere. */
  moved = 0;

  private readonly queue = new JobQueue<Job>();
  private queued = 0;
  private active = 0;
  /** Serve loops still acquiring their connection: queued jobs are theirs to take, not a pipeline's. */
  private starting = 0;
  private readonly serving = new Set<Connection>();
  private readonly pool: genericPool.Pool<Resource>;
  private timer: NodeJS.Timeout | undefined;
  private lastFailure: unknown;
  private idleWaiters: (() => void)[] = [];
  /** Serve loops waiting for work while their batches run. */
  private wakers: (() => void)[] = [];

  constructor(private readonly config: LaneConfig) {
    this.pool = genericPool.createPool<Resource>(
      {
        // Through a promise: a synchronous throw while opening must become an OpenFailure, not escape generic-pool.
        create: () =>
          Promise.resolve()
            .then(() => config.open())
            .catch((error: unknown) => new OpenFailure(error)),
        destroy: async (resource) => {
          if (!(resource instanceof OpenFailure)) await resource.close(this.closeGraceMs);
        },
        // An OpenFailure passes validation so it reaches serveNext, which fails the waiters with it.
        validate: async (resource) => resource instanceof OpenFailure || resource.dead === undefined,
      },
      { max: config.size, min: 0, testOnBorrow: true, autostart: false },
    );
  }

  /** Jobs waiting for a connection. */
  get pending(): number {
    return this.queued;
  }

  /** Connections serving work (or being acquired for it). */
  get busy(): number {
    return this.active;
  }

  /** Connections open now. */
  get open(): number {
    return this.pool.size;
  }

  /** Queues a job; it starts as soon as a connection is free. */
  enqueue(job: Job): void {
    if (job.kind === 'query' && this.allStalled() && this.config.overflow?.(job) === true) {
      this.moved++;
      return;
    }
    if (this.active >= this.config.size) this.waits++;
    this.queue.push(job);
    this.queued++;
    if (job.kind === 'query' && job.waiter.signal !== undefined) this.watchAbort(job, job.waiter.signal);
    this.armTimer();
    this.pump();
    this.wake();
  }

  /** A queued one-shot call whose caller aborts leaves the queue at once. */
  private watchAbort(job: QueryJob, signal: AbortSignal): void {
    const onAbort = (): void => {
      job.cancelled = true;
      this.queued--;
      job.waiter.reject(new AbortError({ cause: signal.reason }));
      this.settleIfIdle();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    job.detach = () => signal.removeEventListener('abort', onAbort);
  }

  /** Marks a queued lease job cancelled (its caller gave up); a no-op once the lane has taken it. */
  cancel(job: LeaseJob): void {
    if (job.cancelled || job.taken === true) return;
    job.cancelled = true;
    this.queued--;
    this.settleIfIdle();
  }

  /** Rejects every queued job with `error`. */
  failQueued(error: unknown): void {
    const failure = error instanceof Error ? error : new Error(String(error));
    for (const job of this.queue.drain()) {
      if (job.cancelled) continue;
      if (job.kind === 'query') {
        job.detach?.();
        job.waiter.reject(failure);
      } else {
        job.taken = true;
        job.fail(failure);
      }
    }
    this.queued = 0;
    this.settleIfIdle();
  }

  /** Stops every request running or sent on this lane's connections (the pool is being destroyed). */
  stopAll(reason: Error): void {
    for (const connection of this.serving) connection.stopAll(reason);
  }

  /** Resolves when nothing is queued or running. */
  whenIdle(): Promise<void> {
    if (this.queued === 0 && this.active === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** How long a closing connection may take before it is given up (undefined: the connection's default). */
  private closeGraceMs: number | undefined;

  /** Waits until idle, then closes every connection, each given `graceMs` to finish what it runs. */
  async close(graceMs?: number): Promise<void> {
    this.closeGraceMs = graceMs;
    if (graceMs !== undefined) for (const connection of this.serving) void connection.close(graceMs);
    await this.whenIdle();
    clearTimeout(this.timer);
    await this.pool.drain();
    await this.pool.clear();
  }

  /**
   * A connection's statement has run long while requests wait behind it:
   * those that have not started come back to the front of the queue, for
   * another connection (or, if it died, its replacement) to run.
   */
  onStall(connection: Connection): void {
    const handOver = this.config.overflow !== undefined && this.allStalled();
    if (this.config.size === 1 && connection.dead === undefined && !handOver) return; // nowhere else to run them
    const now = performance.now();
    const reclaimed: Job[] = connection
      .reclaim()
      .map(({ request, waiter }) => ({ kind: 'query', request, waiter, enqueuedAt: now, cancelled: false }));
    this.moved += reclaimed.length;
    // When no connection of this lane can run them soon, the queued jobs go to the other lane too.
    const back = handOver ? [...reclaimed, ...this.takeQueued()] : reclaimed;
    const requeue: Job[] = [];
    for (const job of back) {
      if (handOver && job.kind === 'query' && this.config.overflow(job)) {
        if (!reclaimed.includes(job)) this.moved++;
      } else {
        requeue.push(job);
      }
    }
    if (requeue.length > 0) {
      this.queue.unshift(requeue);
      this.queued += requeue.length;
      for (const job of requeue) if (job.kind === 'query' && job.waiter.signal !== undefined) this.watchAbort(job, job.waiter.signal);
      this.armTimer();
      this.pump();
    }
    this.settleIfIdle();
  }

  /** Removes and returns every job waiting in the queue (not cancelled), in order. */
  private takeQueued(): Job[] {
    const jobs: Job[] = [];
    for (const job of this.queue.drain()) {
      if (job.cancelled) continue;
      if (job.kind === 'query') job.detach?.();
      jobs.push(job);
    }
    this.queued = 0;
    return jobs;
  }

  /** Whether every connection of the lane is serving and stuck in a long statement. */
  private allStalled(): boolean {
    if (this.serving.size < this.config.size) return false;
    for (const connection of this.serving) if (!connection.stalled) return false;
    return true;
  }

  private wake(): void {
    if (this.wakers.length > 0) for (const wake of this.wakers.splice(0)) wake();
  }

  private pump(): void {
    while (this.queued > this.starting && this.active < this.config.size) {
      this.active++;
      this.starting++;
      void this.serveNext();
    }
  }

  private async serveNext(): Promise<void> {
    let connection: Connection;
    try {
      const gate = this.config.gate();
      if (gate !== undefined) await gate;
      const resource = await this.pool.acquire();
      if (resource instanceof OpenFailure) {
        void this.pool.destroy(resource);
        throw resource.error;
      }
      connection = resource;
    } catch (error) {
      // tarn's propagateCreateError: a connection that cannot open fails the waiting callers, never hangs them.
      this.lastFailure = error;
      this.starting--;
      this.active--;
      this.failQueued(error);
      return;
    }
    this.starting--;
    await this.serve(connection);
  }

  /**
   * Serves queued jobs on one connection until the queue is empty or the
   * connection dies. Batches are pipelined (the next one is sent while the
   * connection still runs the previous) only when every connection of the
   * lane is busy and this one is not stuck in a long statement: a request
   * never waits behind a long one while another connection could run it.
   * Leases wait for the pipeline to drain.
   */
  private async serve(connection: Connection): Promise<void> {
    const outstanding = new Set<Promise<void>>();
    this.serving.add(connection);
    try {
      while (connection.dead === undefined) {
        const mayPipeline = outstanding.size === 0 || (this.queued > this.starting && !connection.stalled);
        const job = mayPipeline ? this.shift() : undefined;
        if (job === undefined) {
          if (outstanding.size === 0) break;
          // Wake on a finished batch or on new work, whichever comes first.
          await Promise.race([...outstanding, new Promise<void>((wake) => this.wakers.push(wake))]);
          continue;
        }
        if (job.kind === 'lease') {
          await Promise.all(outstanding);
          await this.lend(connection, job);
          continue;
        }
        const batch = this.runBatch(connection, job);
        outstanding.add(batch);
        void batch.then(() => outstanding.delete(batch));
        if (outstanding.size >= PIPELINE_DEPTH) await Promise.race(outstanding);
      }
      await Promise.all(outstanding);
    } finally {
      this.serving.delete(connection);
      this.active--;
      if (connection.dead !== undefined) void this.pool.destroy(connection);
      else void this.pool.release(connection);
      if (this.queued > 0) this.pump();
      else this.settleIfIdle();
    }
  }

  private shift(): Job | undefined {
    for (;;) {
      const job = this.queue.shift();
      if (job === undefined) return undefined;
      if (job.cancelled) continue;
      this.queued--;
      if (job.kind === 'query') job.detach?.();
      else job.taken = true;
      return job;
    }
  }

  /** Takes the strategy's hold, racing it against the remaining acquire time when it must be waited for. */
  private async hold(since: number): Promise<StrategyHold> {
    const pending = this.config.strategy.acquire(this.config.access);
    if (!(pending instanceof Promise)) return pending;
    const remaining = this.config.acquireTimeoutMs - (performance.now() - since);
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        pending,
        new Promise<never>((_, reject) => {
          if (Number.isFinite(remaining)) {
            timer = setTimeout(() => reject(new AcquireTimeoutError(this.config.acquireTimeoutMs)), Math.max(0, remaining));
          }
        }),
      ]);
    } catch (error) {
      // A hold granted after we gave up is given straight back.
      pending.then(
        (late) => late.release(),
        () => {},
      );
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  private async runBatch(connection: Connection, first: QueryJob): Promise<void> {
    const group = this.config.group !== undefined && first.alone !== true;
    const limit =
      first.alone === true
        ? 1
        : (this.config.group?.maxBatch ?? Math.max(1, Math.min(this.config.maxBatch, Math.ceil((this.queued + 1) / this.config.size))));
    const jobs: QueryJob[] = [first];
    this.takeQueries(jobs, limit);
    if (group && jobs.length < limit && this.config.group.maxWaitMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, this.config.group!.maxWaitMs));
      this.takeQueries(jobs, limit);
    }
    let hold: StrategyHold;
    try {
      hold = await this.hold(first.enqueuedAt);
      hold.assertHeld?.();
      if (hold.signal?.aborted === true) {
        hold.release();
        throw hold.signal.reason as Error;
      }
    } catch (error) {
      this.lastFailure = error;
      for (const job of jobs) job.waiter.reject(error as Error);
      return;
    }
    this.batches++;
    this.requests += jobs.length;
    try {
      const reopen = connection.epoch !== hold.epoch;
      connection.epoch = hold.epoch;
      await connection.send(
        jobs.map((job) => job.request),
        jobs.map((job) => job.waiter),
        { reopen, group, oneShot: true, abortFlag: flagFor(hold.signal) },
      );
    } finally {
      hold.release();
    }
  }

  private takeQueries(jobs: QueryJob[], limit: number): void {
    while (jobs.length < limit) {
      const next = this.queue.peek();
      // A batch runs with one set of settings: a request of another session starts the next batch.
      if (next === undefined || next.kind !== 'query' || next.alone === true || next.request.settings !== jobs[0]!.request.settings) return;
      this.queue.shift();
      if (next.cancelled) continue;
      this.queued--;
      next.detach?.();
      jobs.push(next);
    }
  }

  private async lend(connection: Connection, job: LeaseJob): Promise<void> {
    let hold: StrategyHold;
    try {
      hold = await this.hold(job.enqueuedAt);
    } catch (error) {
      this.lastFailure = error;
      job.fail(error as Error);
      return;
    }
    if (job.cancelled) {
      hold.release();
      return;
    }
    try {
      if (connection.epoch !== hold.epoch) {
        // Open (or reopen) under the hold before lending, so an open failure reaches the caller.
        const opened = await new Promise<Error | undefined>((settle) => {
          void connection.send(
            [{ op: 'get', sql: 'SELECT 1', params: undefined }],
            [{ resolve: () => settle(undefined), reject: settle }],
            { reopen: true },
          );
        });
        if (opened !== undefined) {
          this.lastFailure = opened;
          job.fail(opened);
          return;
        }
        connection.epoch = hold.epoch;
      }
      await new Promise<void>((giveBack) => {
        job.grant({ connection, hold, abortFlag: flagFor(hold.signal), giveBack });
      });
    } finally {
      hold.release();
    }
  }

  private armTimer(): void {
    if (this.timer !== undefined || this.queued === 0 || !Number.isFinite(this.config.acquireTimeoutMs)) return;
    const head = this.queue.peek();
    if (head === undefined) return;
    const delay = Math.max(0, head.enqueuedAt + this.config.acquireTimeoutMs - performance.now());
    this.timer = setTimeout(() => this.expire(), delay);
    this.timer.unref();
  }

  private expire(): void {
    this.timer = undefined;
    const now = performance.now();
    for (;;) {
      const head = this.queue.peek();
      if (head === undefined || (!head.cancelled && now - head.enqueuedAt < this.config.acquireTimeoutMs)) break;
      this.queue.shift();
      if (head.cancelled) continue;
      this.queued--;
      if (head.kind === 'query') head.detach?.();
      else head.taken = true;
      const error = new AcquireTimeoutError(this.config.acquireTimeoutMs, { cause: this.lastFailure });
      if (head.kind === 'query') head.waiter.reject(error);
      else head.fail(error);
    }
    this.settleIfIdle();
    this.armTimer();
  }

  /** Whether nothing is queued or running on this lane now. */
  get idle(): boolean {
    return this.queued === 0 && this.active === 0;
  }

  private settleIfIdle(): void {
    if (this.queued !== 0 || this.active !== 0) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
    this.config.onIdle?.();
  }
}
