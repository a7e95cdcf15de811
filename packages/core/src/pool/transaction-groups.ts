/**
 * Group commit of transactions (`writeBatching.transactions`): queued
 * immediate transactions share one writer lease and one outer transaction,
 * each a member of the group-commit policy (its own SAVEPOINT; rolled back
 * and rejected alone; acknowledged only after the shared COMMIT; run again if
 * SQLite ends the shared transaction because of another member).
 */
import type { Op } from '../backend.js';
import { channels } from '../diagnostics.js';
import { now } from '../timers.js';
import type { Params, QueryOptions } from '../types.js';
import { driveGroupAsync, failedOnAMember, type GroupStep, type MemberOutcome, type StepResult } from './group-commit.js';
import type { PoolLease } from './lease.js';
import type { StatementOp } from './query-methods.js';
import { TransactionScope, type Transaction, type TransactionChannel } from './transaction-scope.js';

/** A transaction waiting for its group. */
interface Member {
  readonly fn: (tx: Transaction) => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/** What the groups need from their pool. */
export interface GroupHost {
  /** The pool's database, for diagnostics. */
  readonly database: string;
  /** The writer, for one group (admitted when its members were queued). */
  leaseWriter(): Promise<PoolLease>;
  /** Most members per group. */
  readonly maxMembers: number;
}

/** A member's statements: on the group's lease, inside its transaction. */
class MemberChannel implements TransactionChannel {
  constructor(private readonly lease: PoolLease) {}

  statement(op: StatementOp, sql: string, params: Params | undefined, options: QueryOptions | undefined): Promise<unknown> {
    return this.lease.request(op, sql, params, options, { inTransaction: true });
  }

  stream<T>(sql: string, params: Params | undefined, options: QueryOptions | undefined): AsyncIterableIterator<T> {
    return this.lease.stream<T>(sql, params, options, { inTransaction: true });
  }

  internal(op: Op, sql: string, params?: Params): Promise<unknown> {
    return this.lease.request(op, sql, params, undefined, { internal: true, inTransaction: true });
  }
}

const CONTROL: Readonly<Record<Exclude<GroupStep['kind'], 'member' | 'rollback'>, string>> = {
  begin: 'BEGIN IMMEDIATE',
  savepoint: 'SAVEPOINT litepool_member',
  release: 'RELEASE litepool_member',
  'rollback-member': 'ROLLBACK TO litepool_member; RELEASE litepool_member',
  commit: 'COMMIT',
};

/** Errors after which nothing of the group may commit. */
const isFatal = (error: unknown): boolean => (error as { code?: unknown } | null)?.code === 'ERR_LOCK_COMPROMISED';

/** The queue of grouped transactions and the groups run from it. */
export class TransactionGroups {
  /** Groups committed (or failed) together. */
  groups = 0;
  /** Transactions acknowledged in those groups. */
  acknowledged = 0;
  readonly #queue: Member[] = [];
  #running: Promise<void> | undefined;

  constructor(private readonly host: GroupHost) {}

  /** Transactions waiting for a group. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Resolves once no group runs or waits. */
  async drained(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  /** Queues `fn` for the next group; settles as its member does. */
  run<T>(fn: (tx: Transaction) => Promise<T> | T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ fn, resolve: resolve as (value: unknown) => void, reject });
      this.#running ??= this.#runAll();
    });
  }

  /** Rejects every waiting transaction with `error`. */
  failQueued(error: Error): void {
    for (const member of this.#queue.splice(0)) member.reject(error);
  }

  async #runAll(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        let lease: PoolLease;
        try {
          lease = await this.host.leaseWriter();
        } catch (error) {
          for (const member of this.#queue.splice(0)) member.reject(error);
          return;
        }
        // Members are taken once the writer is ours: everything queued while it was busy joins this group.
        await this.#runGroup(lease, this.#queue.splice(0, this.host.maxMembers));
      }
    } finally {
      // In the same turn as the last check: a transaction queued after it starts a new run.
      this.#running = undefined;
    }
  }

  async #runGroup(lease: PoolLease, members: Member[]): Promise<void> {
    const startedAt = now();
    const outcomes = await this.#drive(lease, members);
    // Undone by a COMMIT that failed on what one of them left: each again in a transaction of its own (a group of one).
    for (const [i, outcome] of outcomes.entries()) {
      if (outcome.status === 'alone') outcomes[i] = (await this.#drive(lease, [members[i]!]))[0]!;
    }
    void lease.release();
    this.groups++;
    if (channels.transactionGroup.hasSubscribers) {
      const committed = outcomes.filter((outcome) => outcome.status === 'ok').length;
      channels.transactionGroup.publish({
        database: this.host.database,
        members: members.length,
        committed,
        durationMs: now() - startedAt,
      });
    }
    outcomes.forEach((outcome, i) => {
      const member = members[i]!;
      if (outcome.status === 'ok') {
        this.acknowledged++;
        member.resolve(outcome.value);
      } else member.reject(outcome.status === 'failed' ? outcome.error : new Error('The transaction did not run'));
    });
  }

  /** One group on the writer: the shared policy, driven over the lease (a member's statements run inside its SAVEPOINT). */
  #drive(lease: PoolLease, members: readonly Member[]): Promise<MemberOutcome[]> {
    const channel = new MemberChannel(lease);
    return driveGroupAsync(members.length, { isolation: 'savepoint', maxAttempts: 3 }, async (step): Promise<StepResult> => {
      if (step.kind === 'member') {
        const scope = new TransactionScope(channel, 'immediate', 1);
        try {
          const value = await members[step.index]!.fn(scope);
          return { ok: true, value, open: lease.inTransaction };
        } catch (error) {
          return { ok: false, error, open: lease.inTransaction, own: true, fatal: isFatal(error) };
        } finally {
          scope.close();
        }
      }
      try {
        if (step.kind === 'rollback') await lease.rollback();
        else
          await lease.request('exec', CONTROL[step.kind], undefined, undefined, {
            internal: true,
            inTransaction: step.kind !== 'begin',
            final: step.kind === 'commit',
          });
        return { ok: true, open: lease.inTransaction };
      } catch (error) {
        const alone = step.kind === 'commit' && failedOnAMember(error);
        return { ok: false, error, open: lease.inTransaction, fatal: isFatal(error), alone };
      }
    });
  }
}
