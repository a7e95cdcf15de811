/**
 * A lane: one kind of connection (the writer, or the readers), backed by a
 * generic-pool of them, serving its wait queue. It sends queued one-shot
 * requests in batches under one strategy hold (group-committed on a batching
 * writer), lends whole connections to leases and transactions, moves work
 * away from a connection stuck in a long statement, and replaces connections
 * that die.
 */
import genericPool from 'generic-pool';
import { PIPELINE_DEPTH, type Connection, type Reclaimed } from '../backend.js';
import type { StrategyHold } from '../strategy.js';
import { ExtraConnections } from './extra-connections.js';
import type { LaneConfig } from './lane-config.js';
import { takeHold } from './strategy-hold.js';
import { asJobs, WaitQueue, type Job, type LeaseJob, type QueryJob } from './wait-queue.js';
import { now, setTimeout } from '../timers.js';
import { channels } from '../diagnostics.js';

/** A connection that failed to open, kept as a resource so generic-pool does not retry in a loop. */
class OpenFailure {
  constructor(readonly error: unknown) {}
}

type Resource = Connection | OpenFailure;

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

  private readonly queue: WaitQueue;
  private active = 0;
  /** Connections lent to leases (their open included), and batches running (but reads lent by the readers): see {@link unclaimed}. */
  private claimed = 0;
  /** Connections lent to leases now: while they are, up to `extraForLeases` more may open. */
  private lent = 0;
  /** Serve loops still acquiring their connection: queued jobs are theirs to take, not a pipeline's. */
  private starting = 0;
  private readonly serving = new Set<Connection>();
  private readonly pool: genericPool.Pool<Resource>;
  private idleWaiters: (() => void)[] = [];
  /** Serve loops waiting for work while their batches run. */
  private wakers: (() => void)[] = [];
  /** How long a closing connection may take before it is given up (undefined: the connection's default). */
  private closeGraceMs: number | undefined;
  /** Whether the lane has had work since it was last idle (onIdle not called yet). */
  private busyNow = false;
  /** Aborts connections still opening when the lane is stopped (a setup module that never settles). */
  private readonly opening = new AbortController();
  /** Closes connections opened beyond `size` once they are not needed. */
  private readonly extras: ExtraConnections<Resource>;

  constructor(private readonly config: LaneConfig) {
    this.queue = new WaitQueue(config.acquireTimeoutMs, () => this.settleIfIdle());
    this.pool = genericPool.createPool<Resource>(
      {
        // Through a promise: a synchronous throw while opening must become an OpenFailure, not escape generic-pool.
        create: () =>
          Promise.resolve()
            .then(() => {
              const gate = config.startsEarly ? config.gate() : undefined;
              // Its failure reaches the callers through the open, which may look at it a turn or more later.
              gate?.catch(() => {});
              return config.open(this.opening.signal, gate);
            })
            .catch((error: unknown) => new OpenFailure(error)),
        destroy: async (resource) => {
          if (!(resource instanceof OpenFailure)) await resource.close(this.closeGraceMs);
        },
        // An OpenFailure passes validation so it reaches serveNext, which fails the waiters with it.
        validate: async (resource) => resource instanceof OpenFailure || resource.dead === undefined,
      },
      { max: config.size + (config.extraForLeases ?? 0), min: 0, testOnBorrow: true, autostart: false },
    );
    const host = { pool: this.pool, busy: () => this.active, queued: () => this.queue.size };
    this.extras = new ExtraConnections(config.size, config.extraIdleMs ?? Number.POSITIVE_INFINITY, host);
  }

  /** Jobs waiting for a connection. */
  get pending(): number {
    return this.queue.size;
  }

  /** Connections serving work (or being acquired for it). */
  get busy(): number {
    return this.active;
  }

  /** Connections open now. */
  get open(): number {
    return this.pool.size;
  }

  /** Whether nothing waits for this lane, runs on it or holds it but reads lent to it (a lane winding down from one counts as free). */
  get unclaimed(): boolean {
    return this.queue.size === this.queue.lent && this.claimed === 0;
  }

  /** Reads the readers lent to this lane waiting for it (see lent-reads.ts). */
  get lentWaiting(): number {
    return this.queue.lent;
  }

  /** Whether nothing is queued or running on this lane now (a connection still opening with nothing queued serves nothing). */
  get idle(): boolean {
    return this.queue.size === 0 && this.active === this.starting;
  }

  /** Queues a job; it starts as soon as a connection is free. */
  enqueue(job: Job): void {
    if (job.kind === 'query' && this.allStalled() && this.config.overflow?.(job) === true) {
      this.moved++;
      return;
    }
    if (this.active >= this.config.size) this.waits++;
    this.queue.push(job);
    this.busyNow = true;
    this.config.onWorkChange?.();
    this.pump();
    this.wake();
  }

  /** Cancels a waiting lease job (its caller gave up); false once the lane has taken it (too late). */
  cancel(job: LeaseJob): boolean {
    return this.queue.cancel(job);
  }

  /** Rejects every queued job with `error`. */
  failQueued(error: unknown): void {
    this.queue.failAll(error);
  }

  /** Stops every request running or sent on this lane's connections (the pool is being destroyed). */
  stopAll(reason: Error): void {
    this.opening.abort(reason);
    for (const connection of this.serving) connection.stopAll(reason);
  }

  /** Resolves when nothing is queued or running. */
  whenIdle(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Waits until idle, then closes every connection, each given `graceMs` to finish what it runs. */
  async close(graceMs?: number): Promise<void> {
    this.extras.stop();
    this.closeGraceMs = graceMs;
    if (graceMs !== undefined) {
      this.opening.abort(new Error('The pool was destroyed'));
      for (const connection of this.serving) void connection.close(graceMs);
    }
    await this.whenIdle();
    this.queue.stop();
    // No job is left for a connection still opening: its thread is stopped, not waited for (a pool closed unused).
    this.opening.abort(new Error('The pool was closed'));
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
    const reclaimed = asJobs(connection.reclaim?.() ?? []);
    this.moved += reclaimed.length;
    // When no connection of this lane can run them soon, the queued jobs go to the other lane too.
    const back: Job[] = handOver ? [...reclaimed, ...this.queue.takeAll()] : reclaimed;
    const requeue: Job[] = [];
    for (const job of back) {
      if (handOver && job.kind === 'query' && this.config.overflow(job)) {
        if (!reclaimed.includes(job)) this.moved++;
      } else {
        requeue.push(job);
      }
    }
    this.queue.unshift(requeue);
    if (requeue.length > 0) this.pump();
    this.settleIfIdle();
  }

  /** Requests a connection stopped and gave back unanswered (see `ConnectionHooks.onReturned`): they run next, each alone. */
  takeBack(items: readonly Reclaimed[]): void {
    this.moved += items.length;
    this.queue.unshift(asJobs(items, true));
    this.pump();
    this.wake();
  }

  /** Whether every connection of the lane is serving and stuck in a long statement. */
  private allStalled(): boolean {
    if (this.serving.size < this.config.size) return false;
    for (const connection of this.serving) if (connection.stalled !== true) return false;
    return true;
  }

  private wake(): void {
    if (this.wakers.length > 0) for (const wake of this.wakers.splice(0)) wake();
  }

  private pump(): void {
    const limit = this.config.size + Math.min(this.lent, this.config.extraForLeases ?? 0);
    while (this.queue.size > this.starting && this.active < limit) {
      this.active++;
      this.extras.noteBusy(this.active);
      this.starting++;
      void this.serveNext();
    }
  }

  private async serveNext(): Promise<void> {
    let connection: Connection;
    try {
      const gate = this.config.startsEarly ? undefined : this.config.gate();
      if (gate !== undefined) await gate;
      const resource = await this.pool.acquire();
      if (resource instanceof OpenFailure) {
        void this.pool.destroy(resource);
        throw resource.error;
      }
      connection = resource;
    } catch (error) {
      // tarn's propagateCreateError: a connection that cannot open fails the waiting callers, never hangs them.
      this.queue.lastFailure = error;
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
        const mayPipeline = outstanding.size === 0 || (this.queue.size > this.starting && connection.stalled !== true);
        const job = mayPipeline ? this.queue.shift() : undefined;
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
      this.extras.released();
      if (this.queue.size > 0) this.pump();
      else this.settleIfIdle();
    }
  }

  private async runBatch(connection: Connection, first: QueryJob): Promise<void> {
    const group = this.config.group !== undefined && first.alone !== true;
    const limit =
      first.alone === true
        ? 1
        : (this.config.group?.maxBatch ?? Math.max(1, Math.min(this.config.maxBatch, Math.ceil((this.queue.size + 1) / this.config.size))));
    const jobs: QueryJob[] = [first];
    this.takeQueries(jobs, limit);
    if (group && jobs.length < limit && this.config.group.maxWaitMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, this.config.group!.maxWaitMs));
      this.takeQueries(jobs, limit);
    }
    let hold: StrategyHold;
    try {
      hold = await takeHold(this.config, first.enqueuedAt);
      hold.assertHeld?.();
      if (hold.signal?.aborted === true) {
        hold.release();
        throw hold.signal.reason as Error;
      }
    } catch (error) {
      this.queue.lastFailure = error;
      for (const job of jobs) job.waiter.reject(error as Error);
      return;
    }
    this.batches++;
    this.requests += jobs.length;
    const sentAt = now();
    const claims = first.request.lent === true ? 0 : 1;
    this.claimed += claims;
    try {
      await connection.send(
        jobs.map((job) => job.request),
        jobs.map((job) => job.waiter),
        { epoch: hold.epoch, group, oneShot: true, holdSignal: hold.signal },
      );
    } finally {
      this.claimed -= claims;
      hold.release();
    }
    if (channels.batch.hasSubscribers) {
      const role = this.config.access === 'write' ? 'writer' : 'reader';
      channels.batch.publish({ database: this.config.database, role, requests: jobs.length, group, durationMs: now() - sentAt });
    }
  }

  /** Adds queued one-shot requests to `jobs`, up to `limit`: a batch runs with one set of settings, never with a VACUUM. */
  private takeQueries(jobs: QueryJob[], limit: number): void {
    const settings = jobs[0]!.request.settings;
    while (jobs.length < limit) {
      const next = this.queue.shiftQuery((job) => job.alone !== true && job.request.settings === settings);
      if (next === undefined) return;
      jobs.push(next);
    }
  }

  private async lend(connection: Connection, job: LeaseJob): Promise<void> {
    let hold: StrategyHold;
    try {
      hold = await takeHold(this.config, job.enqueuedAt);
    } catch (error) {
      this.queue.lastFailure = error;
      job.fail(error as Error);
      return;
    }
    if (job.cancelled) {
      hold.release();
      return;
    }
    this.claimed++;
    try {
      if (connection.opensFor(hold.epoch)) {
        // Open (or reopen) under the hold before lending, so an open failure reaches the caller.
        const opened = await new Promise<Error | undefined>((settle) => {
          void connection.send(
            [{ op: 'get', sql: 'SELECT 1', params: undefined }],
            [{ resolve: () => settle(undefined), reject: settle }],
            { epoch: hold.epoch },
          );
        });
        if (opened !== undefined) {
          this.queue.lastFailure = opened;
          job.fail(opened);
          return;
        }
      }
      this.lent++;
      // The writer held by a lease is a lock other sessions' calls may give up on (see WaitQueue.leaseHolds).
      const locks = this.config.access === 'write' && job.maintenance !== true;
      if (locks) this.queue.leaseHolds(now());
      try {
        // Work queued behind every connection lent: another may open for it now.
        this.pump();
        await new Promise<void>((giveBack) => job.grant({ connection, hold, giveBack }));
      } finally {
        this.lent--;
        if (locks) this.queue.leaseHolds(undefined);
      }
    } finally {
      this.claimed--;
      hold.release();
    }
  }

  private settleIfIdle(): void {
    this.config.onWorkChange?.();
    if (!this.idle) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
    if (!this.busyNow) return;
    this.busyNow = false;
    this.config.onIdle?.();
  }
}
