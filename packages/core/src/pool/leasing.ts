/**
 * Taking a lease: a whole connection from a lane, for a caller who may give
 * up waiting (an AbortSignal). A connection granted after its caller gave up
 * (the abort landed while it was being opened for them) goes straight back:
 * it is never lent to nobody.
 */
import { AbortError } from '../errors.js';
import type { Lane } from './lane.js';
import { PoolLease, type LeaseHooks } from './lease.js';
import type { Scope } from './scope.js';
import type { LeaseJob } from './wait-queue.js';
import { now } from '../timers.js';

/** How leases are taken on a pool. */
export interface LeaseTerms {
  /** Limit of each statement's run time when a call sets none (0: none). */
  readonly statementTimeoutMs: number;
  /** Report a lease held this long (0: never). */
  readonly leakDetectionMs: number;
}

/** How a lease request waits. */
export interface LeaseWait {
  /** Gives up waiting when it aborts (`ABORT_ERR`). */
  readonly signal?: AbortSignal | undefined;
  /** The pool's own upkeep (a checkpoint, an optimize): not a lock that other calls give up waiting on. */
  readonly maintenance?: boolean;
  /**
   * A deferred transaction that has read, moving to the writer: with a busy
   * timeout, it fails busy at once while another lease holds the writer, as
   * SQLite calls no busy handler for a read transaction's upgrade.
   */
  readonly upgrade?: boolean;
}

/** A lease request. */
export interface LeaseRequest extends LeaseWait {
  /** The lane to take a connection from. */
  readonly lane: Lane;
  /** Whether it is the writer's lane. */
  readonly write: boolean;
  /** Whether statements that write are refused. */
  readonly readOnly: boolean;
  /** Whose call it is. */
  readonly scope: Scope;
}

/** Takes leases for one pool and keeps the ones out, so the pool can revoke them. */
export class Leasing {
  /** Leases lent and not yet given back. */
  readonly out = new Set<PoolLease>();
  /** Leases lent with nothing in flight: they do not keep the process alive (see keep-alive.ts). */
  quiet = 0;

  constructor(
    private readonly terms: LeaseTerms,
    private readonly warn: (code: string, message: string) => void,
    private readonly onQuietChange: () => void,
  ) {}

  /** A lease from `request.lane`, once a connection is free. */
  take(request: LeaseRequest): Promise<PoolLease> {
    const { lane, signal } = request;
    if (signal?.aborted === true) return Promise.reject(new AbortError({ cause: signal.reason }));
    // Capturing a stack costs microseconds: only when leak detection will report it.
    const stack = this.terms.leakDetectionMs > 0 ? new Error('lease taken here').stack : undefined;
    const hooks: LeaseHooks = {
      released: (lease) => this.out.delete(lease as PoolLease),
      warn: this.warn,
      quiet: (quiet) => {
        this.quiet += quiet ? 1 : -1;
        this.onQuietChange();
      },
    };
    return new Promise((resolve, reject) => {
      let gaveUp = false;
      const onAbort = (): void => {
        gaveUp = true;
        lane.cancel(job);
        reject(new AbortError({ cause: signal?.reason }));
      };
      const job: LeaseJob = {
        kind: 'lease',
        enqueuedAt: now(),
        cancelled: false,
        settings: request.scope.settings,
        maintenance: request.maintenance === true,
        upgrade: request.upgrade === true,
        grant: (grant) => {
          signal?.removeEventListener('abort', onAbort);
          if (gaveUp) {
            grant.giveBack();
            return;
          }
          const lease = new PoolLease(
            grant,
            {
              write: request.write,
              readOnly: request.readOnly,
              statementTimeoutMs: this.terms.statementTimeoutMs,
              settings: request.scope.settings,
              tracker: request.scope.tracker,
              leakDetectionMs: this.terms.leakDetectionMs,
              stack,
            },
            hooks,
          );
          this.out.add(lease);
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

  /** The pool is destroyed: every lease out is revoked (later calls reject with `error`). */
  revokeAll(error: Error): void {
    for (const lease of this.out) lease.revoke(error);
  }
}
