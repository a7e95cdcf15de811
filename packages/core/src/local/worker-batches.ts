/**
 * How a worker runs one batch: one request after another (a one-shot
 * statement must leave the connection in autocommit), a reader's batch of
 * plain reads in one read transaction, or a group commit of one-shot writes
 * (the shared group-commit policy, pool/group-commit.ts). Every request is
 * answered, whatever happens.
 */
import { driveGroup, failedOnAMember, type MemberOutcome, type StepResult } from '../pool/group-commit.js';
import { readsRows } from '../backend.js';
import { failed, KindedError, skipped } from './answers.js';
import { Status, type WireError, type WireRequest, type WireResponse } from './protocol.js';
import type { StatementRunner } from './statement-runner.js';

/** Results of one batch, each with whether a transaction was open after it. */
export class Answers {
  readonly items: WireResponse[] = [];
  readonly open: boolean[] = [];

  add(response: WireResponse, open: boolean): void {
    this.items.push(response);
    this.open.push(open);
  }
}

/** Whether the strategy's hold was lost (the pool set the shared flag). */
function aborted(flag: Int32Array | undefined): boolean {
  return flag !== undefined && Atomics.load(flag, 0) !== 0;
}

const lostHold = (): KindedError => new KindedError('aborted', 'The strategy hold was lost before this request ran');

/** better-sqlite3 checks the directory itself and throws without a code: that is SQLite's CANTOPEN. */
export function openError(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? error : Object.assign(error as object, { code: 'SQLITE_CANTOPEN' });
}

/** Reopens a connection whose state became unknown; false (and the requests from `from` on failed) if it cannot. */
function recover(runner: StatementRunner, items: readonly WireRequest[], from: number, answers: Answers): boolean {
  if (!runner.broken) return true;
  try {
    runner.ensureOpen(false);
    return true;
  } catch (error) {
    for (let i = from; i < items.length; i++) answers.add(failed(items[i]!.seq, openError(error)), false);
    return false;
  }
}

/** Requests one by one. A one-shot request must leave the connection in autocommit, or it is rolled back and fails. */
export function runEach(
  runner: StatementRunner,
  items: readonly WireRequest[],
  flag: Int32Array | undefined,
  oneShot: boolean,
  answers: Answers,
): void {
  for (let i = 0; i < items.length; i++) {
    const request = items[i]!;
    if (!recover(runner, items, i, answers)) return;
    if (aborted(flag)) {
      answers.add(failed(request.seq, lostHold()), runner.inTransaction);
      continue;
    }
    if (!runner.claim(request.seq)) {
      answers.add(skipped(request.seq), runner.inTransaction);
      continue;
    }
    let response = runner.run(request);
    if (oneShot && request.op === 'iterate') response = runner.endsInOneChunk(response);
    if (oneShot && runner.inTransaction) {
      runner.rollback();
      response = failed(
        request.seq,
        new KindedError(
          'transaction-control',
          'This statement left a transaction open, so it was rolled back: one-shot statements run in autocommit; use pool.transaction(fn) or a lease from pool.acquire()',
        ),
      );
    }
    runner.idle();
    answers.add(response, runner.inTransaction);
  }
}

/** Whether a reader may run this batch in one read transaction: plain one-shot reads, nothing open. */
export function snapshotable(runner: StatementRunner, reader: boolean, items: readonly WireRequest[]): boolean {
  if (!reader || items.length < 2 || runner.inTransaction || runner.cursorsOpen) return false;
  for (const request of items) if (!readsRows(request.op)) return false;
  return true;
}

const isBusyFailure = (response: WireResponse): boolean =>
  response.status === Status.Failed && (response.value as WireError).code?.startsWith('SQLITE_BUSY') === true;

/**
 * A reader's batch in one read transaction: the requests were all in flight
 * at once, so one snapshot answers them as truly as several, and SQLite takes
 * its read lock once instead of once per statement (about 3x fewer ns per
 * point read). A SQLITE_BUSY ends the snapshot; the rest run alone, with retries.
 */
export function runSnapshot(runner: StatementRunner, items: readonly WireRequest[], flag: Int32Array | undefined, answers: Answers): void {
  let next = 0;
  runner.control('BEGIN');
  try {
    for (; next < items.length; next++) {
      const request = items[next]!;
      if (aborted(flag)) {
        answers.add(failed(request.seq, lostHold()), false);
        continue;
      }
      if (!runner.claim(request.seq)) {
        answers.add(skipped(request.seq), false);
        continue;
      }
      const response = runner.run(request);
      runner.idle();
      if (isBusyFailure(response)) break;
      answers.add(response, false);
      if (runner.broken) {
        next++;
        break;
      }
    }
  } finally {
    if (runner.inTransaction) {
      try {
        runner.control('COMMIT');
      } catch {
        runner.rollback();
      }
    }
  }
  if (next < items.length) runEach(runner, items.slice(next), flag, true, answers);
}

/** An interrupt that reached a request other than the one the pool meant (kind `sqlite`, not `interrupted`). */
const strayInterrupt = (response: WireResponse): boolean =>
  response.status === Status.Failed &&
  (response.value as WireError).kind === 'sqlite' &&
  (response.value as WireError).code === 'SQLITE_INTERRUPT';

/**
 * Whether a failed one-shot statement ended as SQLite's autocommit would
 * have it: one statement (a procedure is a transaction of its own) that
 * SQLite failed, which SQLite has already undone, or, under ON CONFLICT
 * FAIL or a trigger's RAISE(FAIL), left what it changed before failing.
 * Its group keeps that rather than rolling it back (group-commit.ts).
 */
const settledBySqlite = (request: WireRequest, response: WireResponse): boolean =>
  request.op !== 'call' && (response.value as WireError).kind === 'sqlite' && !strayInterrupt(response);

/** A member's savepoint statements (one statement each: the runner prepares them once). */
const GROUP_CONTROL = {
  savepoint: ['SAVEPOINT litepool_group'],
  release: ['RELEASE litepool_group'],
  'rollback-member': ['ROLLBACK TO litepool_group', 'RELEASE litepool_group'],
} as const;

/**
 * Group commit of one-shot writes: the shared policy (pool/group-commit.ts)
 * driven synchronously on this connection, each request a member in its own
 * SAVEPOINT. Nothing is acknowledged before COMMIT succeeds.
 */
export function runGroup(runner: StatementRunner, items: readonly WireRequest[], flag: Int32Array | undefined, answers: Answers): void {
  const responses = new Map<number, WireResponse>();
  const result = (ok: boolean, error?: unknown): StepResult => ({ ok, error, open: runner.inTransaction });
  // A lone write still waits for the lock in BEGIN (outside its time limit) and commits only with COMMIT, but has no
  // other member to be undone apart from: no SAVEPOINT around it.
  const isolation = items.length === 1 ? 'rerun' : 'savepoint';
  let commitFailedOnAMember = false;
  const before = runner.countersMark();
  // Every member that ran failed, each a statement whose rows total_changes() counts (not a script, whose DDL it does
  // not count, nor a REPLACE, whose deletions it does not count).
  let onlyFailures = true;
  const outcomes: MemberOutcome[] = driveGroup(items.length, { isolation, maxAttempts: 3 }, (step) => {
    try {
      switch (step.kind) {
        case 'begin':
          if (runner.broken) runner.ensureOpen(false);
          runner.runControl('BEGIN IMMEDIATE');
          return result(true);
        case 'commit':
          if (aborted(flag)) throw new KindedError('aborted', 'The strategy hold was lost before COMMIT: the batch was rolled back');
          if (onlyFailures && before !== undefined && runner.countersMark()?.total === before.total) {
            // Nothing was left to commit: roll back, as autocommit does after such failures, rather than commit the
            // pages their undoing left dirty (a commit that moves every other connection's snapshot on).
            runner.rollback();
            return result(true);
          }
          runner.committing(true);
          runner.runControl('COMMIT');
          return result(true);
        case 'rollback':
          runner.rollback();
          return result(true);
        case 'member': {
          const request = items[step.index]!;
          if (aborted(flag)) return { ok: false, error: lostHold(), open: runner.inTransaction, fatal: true };
          if (!runner.claim(request.seq)) return { ok: false, skipped: true, open: runner.inTransaction };
          const response = runner.run(request);
          runner.idle();
          responses.set(request.seq, response);
          if (response.status !== Status.Failed || request.op === 'exec' || /\bREPLACE\b/i.test(request.sql)) onlyFailures = false;
          if (response.status !== Status.Failed) return { ok: true, value: response, open: runner.inTransaction };
          return {
            ok: false,
            error: response,
            open: runner.inTransaction,
            own: !strayInterrupt(response),
            kept: settledBySqlite(request, response),
          };
        }
        default:
          for (const sql of GROUP_CONTROL[step.kind]) runner.control(sql);
          return result(true);
      }
    } catch (error) {
      runner.idle();
      if (step.kind !== 'rollback') runner.rollback();
      if (step.kind === 'commit') {
        // A COMMIT that failed on a deferred constraint: each member runs again alone (below).
        commitFailedOnAMember = failedOnAMember(error);
        return { ...result(false, error), alone: commitFailedOnAMember };
      }
      return result(false, step.kind === 'begin' ? openError(error) : error);
    }
  });
  // Undone by a COMMIT that failed on what one of them left: each runs again by itself, in autocommit (a lone write
  // too, whose failure then carries the counters autocommit leaves: statement-runner.ts).
  const alone: WireRequest[] = [];
  outcomes.forEach((outcome, i) => {
    const { seq } = items[i]!;
    if (outcome.status === 'alone' || (commitFailedOnAMember && items.length === 1)) return void alone.push(items[i]!);
    // A member's own failure is its response; a failure of the group (a COMMIT, a lost hold) is that error.
    const answer =
      outcome.status === 'ok'
        ? (outcome.value as WireResponse)
        : outcome.status === 'skipped'
          ? skipped(seq)
          : isResponse(outcome.error)
            ? { ...outcome.error, seq }
            : failed(seq, outcome.error);
    answers.add(answer, false);
  });
  if (alone.length === 0) return;
  runner.committing(false); // that COMMIT did not happen
  runner.countersRestore(before);
  runEach(runner, alone, flag, true, answers);
}

function isResponse(value: unknown): value is WireResponse {
  return typeof value === 'object' && value !== null && 'status' in value && 'seq' in value;
}
