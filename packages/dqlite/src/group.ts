/**
 * Group commit on dqlite: the pool's shared policy (`groupCommit` in core)
 * driven over the leader connection. Each COMMIT is one entry of the
 * replicated log, so many writes share one.
 */
import { driveGroupAsync, failedOnAMember, SqliteError, type GroupStep, type Pending, type Request, type StepResult } from '@litepool/core';
import { CommitUnknownError, LeaderGone, LeaderLostError } from './errors.js';

/** What a group needs from its connection. */
export interface GroupHost {
  /** Runs one request on the leader (LeaderGone when the leader is lost). */
  run(request: Request, waiter: Pending): Promise<unknown>;
  /** Rolls back the open transaction, if any. */
  rollback(): Promise<void>;
  /** Whether a transaction is open on the leader connection. */
  transactionOpen(): boolean;
  /** Forgets the leader connection (its transaction is gone with it). */
  dropClient(): void;
  /** Runs one request by itself, as an ungrouped write runs (autocommit), and answers its waiter. */
  runAlone(request: Request, waiter: Pending): Promise<void>;
}

/** A step's outcome once the leader was lost during it: fatal to the group, or, during COMMIT, its outcome unknown. */
function leaderLost(kind: GroupStep['kind'], error: LeaderGone, host: GroupHost): StepResult {
  host.dropClient();
  const lost =
    kind === 'commit'
      ? error.applied
        ? new CommitUnknownError('The dqlite leader was lost while COMMIT was on its way: these writes may or may not have committed', {
            cause: error.cause,
          })
        : new LeaderLostError('The dqlite leader refused COMMIT as no longer the leader: nothing was applied', { cause: error.cause })
      : new LeaderLostError(
          'The dqlite leader was lost before this group of writes committed: nothing of it was applied; it is safe to run again',
          { cause: error.cause },
        );
  return { ok: false, error: lost, open: false, fatal: kind !== 'commit' };
}

const control = (sql: string): Request => ({ op: 'exec', sql, params: undefined });
const quiet: Pending = { resolve() {}, reject() {} };

/**
 * Whether the group's transaction is still open on the leader after a
 * member's statement failed: SQLite may have ended it (ON CONFLICT ROLLBACK,
 * a trigger's RAISE(ROLLBACK)), which the SQL sent does not show. A BEGIN
 * fails inside a transaction; one that runs found none, and is rolled back.
 */
export async function stillOpen(host: Pick<GroupHost, 'run' | 'rollback'>): Promise<boolean> {
  try {
    await host.run(control('BEGIN'), quiet);
  } catch (error) {
    if (error instanceof LeaderGone) throw error;
    return true;
  }
  await host.rollback();
  return false;
}

/**
 * Group commit: the queued writes in one transaction, all answered after
 * the one COMMIT, which is one entry of the replicated log. The shared
 * policy (group-commit in core), with no SAVEPOINT per member (each would
 * cost a round trip): a member whose statement SQLite failed keeps what
 * SQLite settled (its statement undone, or what ON CONFLICT FAIL left), as
 * autocommit would, and is rejected; any other failure rolls the group back,
 * rejects that member, and the others run again. A lost leader is fatal to
 * the group: nothing of it committed (`ERR_LEADER_LOST`), or, lost while
 * COMMIT was on its way, its outcome is unknown (`ERR_COMMIT_UNKNOWN`).
 */
export async function runGroup(requests: readonly Request[], waiters: readonly Pending[], host: GroupHost): Promise<void> {
  const open = (): boolean => host.transactionOpen();
  const outcomes = await driveGroupAsync(requests.length, { isolation: 'rerun', maxAttempts: 3 }, async (step): Promise<StepResult> => {
    try {
      switch (step.kind) {
        case 'member':
          return { ok: true, value: await host.run(requests[step.index]!, waiters[step.index]!), open: open() };
        case 'rollback':
          await host.rollback();
          return { ok: true, open: open() };
        case 'begin':
          await host.run(control('BEGIN IMMEDIATE'), quiet);
          return { ok: true, open: open() };
        case 'commit':
          await host.run(control('COMMIT'), quiet);
          return { ok: true, open: open() };
        default:
          return { ok: true, open: open() }; // no savepoints here
      }
    } catch (error) {
      if (error instanceof LeaderGone) return leaderLost(step.kind, error, host);
      // A COMMIT that failed on a deferred constraint: each member runs again alone (group-commit in core).
      const alone = step.kind === 'commit' && failedOnAMember(error);
      if (step.kind !== 'member' || !(error instanceof SqliteError)) return { ok: false, error, open: open(), own: true, alone };
      // SQLite's own failure of the statement: what it settled stays, as in autocommit, if the transaction is still open.
      try {
        const kept = await stillOpen(host);
        return { ok: false, error, open: kept, own: true, kept };
      } catch (lost) {
        if (lost instanceof LeaderGone) return leaderLost(step.kind, lost, host);
        return { ok: false, error, open: open(), own: true };
      }
    }
  });
  const alone: number[] = [];
  outcomes.forEach((outcome, i) => {
    const waiter = waiters[i]!;
    if (outcome.status === 'alone') alone.push(i);
    else if (outcome.status === 'ok') waiter.resolve(outcome.value);
    else waiter.reject(outcome.status === 'failed' ? (outcome.error as Error) : new Error('The write did not run'));
  });
  // Undone by a COMMIT that failed on what one of them left: each runs again by itself.
  for (const i of alone) await host.runAlone(requests[i]!, waiters[i]!);
}
