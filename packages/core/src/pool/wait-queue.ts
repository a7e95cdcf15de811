/**
 * A lane's wait queue: the jobs waiting for one of its connections, in
 * order. A waiting job leaves it when its caller aborts, when it has waited
 * `acquireTimeoutMs` (rejected with `ERR_ACQUIRE_TIMEOUT` and the last
 * underlying failure as cause), when a lease has held the connection longer
 * than the job's busy timeout (see {@link WaitQueue.leaseHolds}), or when the
 * pool is destroyed.
 */
import { SignalWatch, type AbortScanner } from '../abort-watch.js';
import type { Pending, Reclaimed, Request, Settings } from '../backend.js';
import { AbortError, AcquireTimeoutError, SqliteError } from '../errors.js';
import { JobQueue } from './job-queue.js';
import type { Grant } from './lease.js';
import { clearTimeout, now, setTimeout } from '../timers.js';

/** A one-shot request waiting to be sent in a batch. */
export interface QueryJob {
  readonly kind: 'query';
  readonly request: Request;
  readonly waiter: Pending;
  enqueuedAt: number;
  /** Its caller aborted while it waited in the queue. */
  cancelled: boolean;
  /** Cannot run inside a transaction (VACUUM): sent in a batch of its own, never group-committed. */
  readonly alone?: boolean;
}

/** Requests given back by a connection, as jobs of the queue (`alone`: each sent in a batch of its own). */
export function asJobs(items: readonly Reclaimed[], alone = false): QueryJob[] {
  const at = now();
  return items.map(({ request, waiter }) => ({ kind: 'query', request, waiter, enqueuedAt: at, cancelled: false, alone }));
}

/** Whether `job` is a read the readers lent to the writer (see lent-reads.ts). */
const isLent = (job: Job): boolean => job.kind === 'query' && job.request.lent === true;

/** A request for a whole connection (a lease or a transaction). */
export interface LeaseJob {
  readonly kind: 'lease';
  /** Called with the connection once it is this job's; the job gives it back through the grant. */
  readonly grant: (grant: Grant) => void;
  /** Called instead when the job cannot be served. */
  readonly fail: (error: Error) => void;
  enqueuedAt: number;
  cancelled: boolean;
  /** The settings of the session taking the lease (undefined: the pool's own); see {@link busyTimeoutOf}. */
  readonly settings?: Settings | undefined;
  /** The pool's own upkeep (a checkpoint): holding the writer, it is no lock a waiting call gives up on. */
  readonly maintenance?: boolean;
  /** A deferred transaction's move to the writer after it read: busy at once (see `LeaseWait.upgrade`). */
  readonly upgrade?: boolean;
  /** Set when the lane takes it from the queue: too late to cancel. */
  taken?: boolean;
}

/** Anything a lane serves. */
export type Job = QueryJob | LeaseJob;

/**
 * How long `job` may wait while a lease holds the connection, in ms: the
 * `busy_timeout` among its session's PRAGMAs (undefined: no such bound, only
 * `acquireTimeoutMs`); 0 for a read transaction's move to the writer. A read
 * lent to the writer never fails busy: in WAL mode a read waits for no writer.
 */
function busyTimeoutOf(job: Job): number | undefined {
  const settings = job.kind === 'lease' ? job.settings : job.request.lent === true ? undefined : job.request.settings;
  const value = settings?.pragmas['busy_timeout'];
  if (typeof value !== 'number') return undefined;
  return job.kind === 'lease' && job.upgrade === true ? 0 : Math.max(0, value);
}

/** The queue in front of a lane's connections. */
export class WaitQueue implements AbortScanner {
  readonly #jobs = new JobQueue<Job>();
  readonly #signals = new SignalWatch(this);
  #count = 0;
  /** Of those, reads lent to this lane (see {@link lent}). */
  #lent = 0;
  #timer: NodeJS.Timeout | undefined;
  /** Of those, jobs with a busy timeout ({@link busyTimeoutOf}): only while there are any does a lease's hold set a timer. */
  #bounded = 0;
  /** When the lease that holds the lane's connection took it (undefined: no lease holds it). */
  #heldSince: number | undefined;
  #busyTimer: NodeJS.Timeout | undefined;
  /** When #busyTimer fires (Infinity: it is not set). */
  #busyAt = Infinity;
  /** The last reason a connection could not be had, for the timeout's cause. */
  lastFailure: unknown;

  /**
   * @param acquireTimeoutMs longest wait before `ERR_ACQUIRE_TIMEOUT` (may be Infinity)
   * @param onLeave called whenever jobs left without being served (the lane may have gone idle)
   */
  constructor(
    private readonly acquireTimeoutMs: number,
    private readonly onLeave: () => void,
  ) {}

  /** Jobs waiting (not cancelled). */
  get size(): number {
    return this.#count;
  }

  /** Jobs waiting that are reads the readers lent to this lane (a young pool's writer): they do not keep more from being lent. */
  get lent(): number {
    return this.#lent;
  }

  /** Adds a job at the end. */
  push(job: Job): void {
    this.#jobs.push(job);
    this.#joined(job);
    this.#arm();
    if (this.#heldSince !== undefined) this.#armBusyAt(this.#busyDeadline(job, this.#heldSince));
  }

  /** Puts `jobs` back at the front, in their order (work taken back from a stalled connection). */
  unshift(jobs: readonly Job[]): void {
    if (jobs.length === 0) return;
    this.#jobs.unshift(jobs);
    for (const job of jobs) this.#joined(job);
    this.#arm();
    if (this.#heldSince !== undefined) this.#armBusy(jobs);
  }

  /** The next job to serve, taken out of the queue. */
  shift(): Job | undefined {
    for (;;) {
      const job = this.#jobs.shift();
      if (job === undefined) return undefined;
      if (job.cancelled) continue;
      this.#taken(job);
      return job;
    }
  }

  /** The next job, if it is a one-shot query that `accept`s; taken out when it is. */
  shiftQuery(accept: (job: QueryJob) => boolean): QueryJob | undefined {
    for (;;) {
      const next = this.#jobs.peek();
      if (next === undefined || next.kind !== 'query' || !accept(next)) return undefined;
      this.#jobs.shift();
      if (next.cancelled) continue;
      this.#taken(next);
      return next;
    }
  }

  /** Every waiting job, taken out, in order. */
  takeAll(): Job[] {
    const jobs: Job[] = [];
    for (const job of this.#jobs.drain()) {
      if (job.cancelled) continue;
      this.#taken(job);
      jobs.push(job);
    }
    return jobs;
  }

  /** Marks a waiting lease job cancelled (its caller gave up); false once the lane has taken it (too late). */
  cancel(job: LeaseJob): boolean {
    if (job.taken === true) return false;
    if (job.cancelled) return true;
    job.cancelled = true;
    this.#left(job);
    this.onLeave();
    return true;
  }

  /** Rejects every waiting job with `error`. */
  failAll(error: unknown): void {
    const failure = error instanceof Error ? error : new Error(String(error));
    for (const job of this.takeAll()) {
      if (job.kind === 'query') job.waiter.reject(failure);
      else job.fail(failure);
    }
    this.onLeave();
  }

  /** Stops the timeout timers (the lane is closing). */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.leaseHolds(undefined);
  }

  /**
   * The lane's connection was lent to a lease at `since` (undefined: it was
   * given back). While one lease holds it, a job waiting with a busy timeout
   * ({@link busyTimeoutOf}) fails with SQLite's `SQLITE_BUSY` "database is
   * locked" once that lease has held the connection for the timeout during
   * its wait, as SQLite's busy handler gives up on a lock held too long. A
   * queue of calls, each quick, never fails a job busy: only one lock held
   * across awaits does.
   */
  leaseHolds(since: number | undefined): void {
    this.#heldSince = since;
    clearTimeout(this.#busyTimer);
    this.#busyTimer = undefined;
    this.#busyAt = Infinity;
    if (since !== undefined && this.#bounded > 0) this.#armBusy(this.#jobs.values());
  }

  /** When `job` fails busy under the lease holding the connection now (Infinity: never). */
  #busyDeadline(job: Job, heldSince: number): number {
    const timeout = busyTimeoutOf(job);
    return timeout === undefined ? Infinity : Math.max(job.enqueuedAt, heldSince) + timeout;
  }

  /** Sets the busy timer for the earliest deadline among `jobs`, if it comes before the one set. */
  #armBusy(jobs: Iterable<Job>): void {
    const heldSince = this.#heldSince!;
    let earliest = Infinity;
    for (const job of jobs) if (!job.cancelled) earliest = Math.min(earliest, this.#busyDeadline(job, heldSince));
    this.#armBusyAt(earliest);
  }

  /** Sets the busy timer for `earliest`, if it comes before the one set (a job pushed: no array per job). */
  #armBusyAt(earliest: number): void {
    if (earliest >= this.#busyAt) return;
    clearTimeout(this.#busyTimer);
    this.#busyAt = earliest;
    this.#busyTimer = setTimeout(() => this.#expireBusy(), Math.max(0, earliest - now()));
    this.#busyTimer.unref();
  }

  #expireBusy(): void {
    this.#busyTimer = undefined;
    this.#busyAt = Infinity;
    const heldSince = this.#heldSince;
    if (heldSince === undefined) return;
    const at = now();
    let left = false;
    for (const job of this.#jobs.values()) {
      if (job.cancelled || this.#busyDeadline(job, heldSince) > at) continue;
      job.cancelled = true;
      this.#taken(job);
      left = true;
      const error = new SqliteError('database is locked', 'SQLITE_BUSY');
      if (job.kind === 'query') job.waiter.reject(error);
      else job.fail(error);
    }
    if (this.#bounded > 0) this.#armBusy(this.#jobs.values());
    if (left) this.onLeave();
  }

  #joined(job: Job): void {
    this.#count++;
    if (isLent(job)) this.#lent++;
    if (busyTimeoutOf(job) !== undefined) this.#bounded++;
    if (job.kind === 'query' && job.waiter.signal !== undefined) this.#signals.watch(job.waiter.signal);
  }

  /** `job` left the queue (taken, cancelled or failed). */
  #left(job: Job): void {
    this.#count--;
    if (isLent(job)) this.#lent--;
    if (busyTimeoutOf(job) !== undefined) this.#bounded--;
  }

  #taken(job: Job): void {
    this.#left(job);
    if (job.kind === 'lease') job.taken = true;
  }

  /** One-shot calls waiting whose caller's signal aborted leave the queue at once. */
  signalAborted(signal: AbortSignal): void {
    let left = false;
    for (const job of this.#jobs.values()) {
      if (job.kind !== 'query' || job.cancelled || job.waiter.signal !== signal) continue;
      job.cancelled = true;
      this.#left(job);
      left = true;
      job.waiter.reject(new AbortError({ cause: signal.reason }));
    }
    if (left) this.onLeave();
  }

  #arm(): void {
    if (this.#timer !== undefined || this.#count === 0 || !Number.isFinite(this.acquireTimeoutMs)) return;
    const head = this.#jobs.peek();
    if (head === undefined) return;
    const delay = Math.max(0, head.enqueuedAt + this.acquireTimeoutMs - now());
    this.#timer = setTimeout(() => this.#expire(), delay);
    this.#timer.unref();
  }

  #expire(): void {
    this.#timer = undefined;
    const at = now();
    for (;;) {
      const head = this.#jobs.peek();
      if (head === undefined || (!head.cancelled && at - head.enqueuedAt < this.acquireTimeoutMs)) break;
      this.#jobs.shift();
      if (head.cancelled) continue;
      this.#taken(head);
      const error = new AcquireTimeoutError(this.acquireTimeoutMs, { cause: this.lastFailure });
      if (head.kind === 'query') head.waiter.reject(error);
      else head.fail(error);
    }
    this.onLeave();
    this.#arm();
  }
}
