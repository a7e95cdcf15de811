/**
 * A lane: the wait queue in front of one kind of connection (the writer, or
 * the readers), backed by a generic-pool of worker connections. It sends
 * queued one-shot requests in batches under one strategy hold, lends whole
 * connections to leases and transactions, expires waiters after
 * `acquireTimeoutMs`, and replaces crashed workers.
 */
import genericPool from 'generic-pool';
import type { Pending, WorkerConnection } from '../local/worker-connection.js';
import { AbortError, AcquireTimeoutError } from '../errors.js';
import { JobQueue } from './job-queue.js';
import type { WireRequest } from '../local/protocol.js';
import type { AccessKind, Strategy, StrategyHold, WriteBatching } from '../strategy.js';

/** A one-shot request waiting to be sent in a batch. */
export interface QueryJob {
  readonly kind: 'query';
  readonly request: WireRequest;
  readonly waiter: Pending;
  enqueuedAt: number;
}

/** What a lease receives: a connection for its exclusive use, under a strategy hold. */
export interface Grant {
  readonly connection: WorkerConnection;
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
}

type Job = QueryJob | LeaseJob;

/** Batches in flight per connection: one running in the worker, one waiting behind it. */
const PIPELINE_DEPTH = 2;

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
  /** Opens one connection (a worker thread). */
  readonly open: () => Promise<WorkerConnection>;
  /** Awaited before a connection is acquired (strategy init, the writer's first open); undefined once passed. */
  readonly gate: () => Promise<void> | undefined;
  /** Request ids for the lane's own requests. */
  readonly nextId: () => number;
  /** Called when the lane has nothing queued and nothing running. */
  readonly onIdle?: () => void;
}

/** A connection that failed to open, kept as a resource so generic-pool does not retry in a loop. */
class OpenFailure {
  constructor(readonly error: unknown) {}
}

type Resource = WorkerConnection | OpenFailure;

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
  /** Batches of one-shot requests sent to workers. */
  batches = 0;
  /** One-shot requests sent in those batches. */
  requests = 0;

  private readonly queue = new JobQueue<Job>();
  private queued = 0;
  private active = 0;
  private readonly pool: genericPool.Pool<Resource>;
  private timer: NodeJS.Timeout | undefined;
  private lastFailure: unknown;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly config: LaneConfig) {
    this.pool = genericPool.createPool<Resource>(
      {
        create: () => config.open().catch((error: unknown) => new OpenFailure(error)),
        destroy: async (resource) => {
          if (!(resource instanceof OpenFailure)) await resource.close();
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
    if (this.active >= this.config.size) this.waits++;
    this.queue.push(job);
    this.queued++;
    this.armTimer();
    if (this.wakers.length > 0) for (const wake of this.wakers.splice(0)) wake();
    this.pump();
  }

  /** Serve loops waiting for work while their batches run. */
  private wakers: (() => void)[] = [];

  /** Marks a queued lease job cancelled (its caller gave up). */
  cancel(job: LeaseJob): void {
    if (job.cancelled) return;
    job.cancelled = true;
    this.queued--;
    this.settleIfIdle();
  }

  /** Rejects every queued job with `error`. */
  failQueued(error: unknown): void {
    const failure = error instanceof Error ? error : new Error(String(error));
    for (const job of this.queue.drain()) {
      if (job.kind === 'query') job.waiter.reject(failure);
      else if (!job.cancelled) job.fail(failure);
    }
    this.queued = 0;
    this.settleIfIdle();
  }

  /** Resolves when nothing is queued or running. */
  whenIdle(): Promise<void> {
    if (this.queued === 0 && this.active === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Waits until idle, then closes every connection. */
  async close(): Promise<void> {
    await this.whenIdle();
    clearTimeout(this.timer);
    await this.pool.drain();
    await this.pool.clear();
  }

  private pump(): void {
    while (this.queued > 0 && this.active < this.config.size) {
      this.active++;
      void this.serveNext();
    }
  }

  private async serveNext(): Promise<void> {
    let connection: WorkerConnection;
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
      this.active--;
      this.failQueued(error);
      return;
    }
    await this.serve(connection);
  }

  /**
   * Serves queued jobs on one connection until the queue is empty or the
   * worker dies. Batches are pipelined: the next one is sent while the worker
   * still runs the previous, so the worker never idles waiting for the main
   * thread to turn results into new requests. Leases wait for the pipeline to drain.
   */
  private async serve(connection: WorkerConnection): Promise<void> {
    const outstanding = new Set<Promise<void>>();
    try {
      while (connection.dead === undefined) {
        const job = this.shift();
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
      this.active--;
      if (connection.dead !== undefined) {
        void this.pool.destroy(connection);
      } else {
        void this.pool.release(connection);
      }
      if (this.queued > 0) this.pump();
      else this.settleIfIdle();
    }
  }

  private shift(): Job | undefined {
    for (;;) {
      const job = this.queue.shift();
      if (job === undefined) return undefined;
      if (job.kind === 'lease' && job.cancelled) continue;
      this.queued--;
      return job;
    }
  }

  /** Takes the strategy's hold, racing it against the remaining acquire time when it must be waited for. */
  private async hold(since: number, signal?: AbortSignal): Promise<StrategyHold> {
    const pending = this.config.strategy.acquire(this.config.access);
    if (!(pending instanceof Promise)) return pending;
    const remaining = this.config.acquireTimeoutMs - (performance.now() - since);
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      return await Promise.race([
        pending,
        new Promise<never>((_, reject) => {
          if (Number.isFinite(remaining)) {
            timer = setTimeout(() => reject(new AcquireTimeoutError(this.config.acquireTimeoutMs)), Math.max(0, remaining));
          }
          if (signal !== undefined) {
            onAbort = () => reject(new AbortError({ cause: signal.reason }));
            signal.addEventListener('abort', onAbort, { once: true });
          }
        }),
      ]);
    } catch (error) {
      // A hold granted after we gave up is given straight back.
      pending.then((late) => late.release(), () => {});
      throw error;
    } finally {
      clearTimeout(timer);
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
    }
  }

  private async runBatch(connection: WorkerConnection, first: QueryJob): Promise<void> {
    const limit =
      this.config.group?.maxBatch ??
      Math.max(1, Math.min(this.config.maxBatch, Math.ceil((this.queued + 1) / this.config.size)));
    const jobs: QueryJob[] = [first];
    this.takeQueries(jobs, limit);
    if (this.config.group !== undefined && jobs.length < limit && this.config.group.maxWaitMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, this.config.group!.maxWaitMs));
      this.takeQueries(jobs, limit);
    }
    let hold: StrategyHold;
    try {
      hold = await this.hold(first.enqueuedAt);
    } catch (error) {
      this.lastFailure = error;
      for (const job of jobs) job.waiter.reject(error as Error);
      return;
    }
    try {
      hold.assertHeld?.();
      if (hold.signal?.aborted === true) throw hold.signal.reason as Error;
    } catch (error) {
      hold.release();
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
        { reopen, group: this.config.group !== undefined, abortFlag: flagFor(hold.signal) },
      );
    } finally {
      hold.release();
    }
  }

  private takeQueries(jobs: QueryJob[], limit: number): void {
    while (jobs.length < limit) {
      const next = this.queue.peek();
      if (next === undefined || next.kind !== 'query') return;
      this.queue.shift();
      this.queued--;
      jobs.push(next);
    }
  }

  private async lend(connection: WorkerConnection, job: LeaseJob): Promise<void> {
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
          void connection.send([{ id: this.config.nextId(), op: 'get', sql: 'SELECT 1', params: undefined }], [{ resolve: () => settle(undefined), reject: settle }], {
            reopen: true,
          });
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
      if (head === undefined || now - head.enqueuedAt < this.config.acquireTimeoutMs) break;
      this.queue.shift();
      if (head.kind === 'lease' && head.cancelled) continue;
      this.queued--;
      const error = new AcquireTimeoutError(this.config.acquireTimeoutMs, { cause: this.lastFailure });
      if (head.kind === 'query') head.waiter.reject(error);
      else head.fail(error);
    }
    this.settleIfIdle();
    this.armTimer();
  }

  private settleIfIdle(): void {
    if (this.queued !== 0 || this.active !== 0) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
    this.config.onIdle?.();
  }
}
