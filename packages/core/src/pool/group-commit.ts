/**
 * Group commit, written once: many writes (one-shot statements, procedures,
 * or whole transactions) in one transaction and one COMMIT, with the rules
 * that make an acknowledgement mean "durable" and a rejection mean "not
 * there". Every backend drives the same policy: the worker threads
 * synchronously, transaction groups and dqlite asynchronously. The policy is
 * a generator of steps; a driver takes each step on its connection and
 * answers what happened.
 *
 * The member outcome rules:
 * - a member that succeeds is acknowledged only after the COMMIT succeeds;
 * - a member that fails while the transaction stays open is undone alone (a
 *   SAVEPOINT rolled back) and rejected with its own error; where members
 *   have no savepoints (`isolation: 'rerun'`), the whole transaction is
 *   rolled back, that member rejected, and the others run again;
 * - but a one-statement member whose failure SQLite itself already settled
 *   (`kept`: its statement undone, or under ON CONFLICT FAIL what it changed
 *   before failing left in place) keeps that outcome, as autocommit would
 *   commit it: it is rejected with its own error, its savepoint released,
 *   and what it left commits with the group;
 * - when the transaction ends underneath (SQLite rolls it back after an
 *   interrupt of a write, SQLITE_FULL or an I/O error), the member that
 *   caused it is rejected with its own error, and every other member that
 *   had run (none acknowledged) runs again in a new transaction, up to
 *   `maxAttempts` times in all;
 * - a fatal failure (a lost strategy hold, a lost leader) rejects every
 *   member not yet acknowledged with it: nothing of the group committed;
 * - a COMMIT that fails on what a member left (`alone`: a deferred foreign
 *   key or constraint) leaves each member that ran to be run again by
 *   itself, outside any group (outcome `alone`, the driver's to run), so only
 *   the one that left it fails, as in autocommit;
 * - when no member is left to commit (each failed and was undone, or was
 *   skipped), the transaction is rolled back, not committed: an empty COMMIT
 *   still writes the pages a rolled-back savepoint restored, and moves every
 *   other connection's snapshot on (autocommit would have left it alone);
 * - any other COMMIT that fails rejects every member that ran with its error;
 *   with `unknown`, that error says the outcome is unknown (a remote COMMIT
 *   whose answer was lost).
 */

/** A step the policy asks its driver to take. */
export type GroupStep =
  | { readonly kind: 'begin' }
  | { readonly kind: 'savepoint' }
  | { readonly kind: 'member'; readonly index: number }
  | { readonly kind: 'release' }
  | { readonly kind: 'rollback-member' }
  | { readonly kind: 'commit' }
  | { readonly kind: 'rollback' };

/** What a step came to, as the driver saw it. */
export interface StepResult {
  /** The step succeeded. */
  readonly ok: boolean;
  /** Whether the group's transaction is open after the step. */
  readonly open: boolean;
  /** A member's value. */
  readonly value?: unknown;
  /** Why it failed. */
  readonly error?: unknown;
  /** A failed member failed by its own doing (its statement failed, or its caller stopped it), not by something done to the group. */
  readonly own?: boolean;
  /** The member was cancelled before it started (it did not run). */
  readonly skipped?: boolean;
  /** Nothing of the group may commit (a lost hold or leader): every member not acknowledged fails with `error`. */
  readonly fatal?: boolean;
  /**
   * A failed member's statement was settled by SQLite as in autocommit (one
   * statement, SQLite's own error, the transaction still open): what it left
   * stays and commits with the group instead of being rolled back.
   */
  readonly kept?: boolean;
  /**
   * The COMMIT failed on something a member left (a deferred constraint):
   * each member that ran gets the outcome `alone`, and the driver runs it
   * again by itself, so only the one that left it fails, as in autocommit.
   */
  readonly alone?: boolean;
}

/** How one member ended. */
export type MemberOutcome =
  | { readonly status: 'ok'; readonly value: unknown }
  | { readonly status: 'failed'; readonly error: unknown }
  | { readonly status: 'skipped' }
  /** Nothing of it committed: the driver runs it again by itself, outside any group, as it runs when not grouped (see `alone`). */
  | { readonly status: 'alone' };

/** How a group is run. */
export interface GroupOptions {
  /** `savepoint`: each member in a SAVEPOINT, undone alone; `rerun`: no savepoints, a failing member's group runs again without it. */
  readonly isolation: 'savepoint' | 'rerun';
  /** Transactions tried in all before the members still pending fail. */
  readonly maxAttempts: number;
}

/** The policy: the steps to take for `count` members, ending with each member's outcome. */
export function* groupCommit(count: number, options: GroupOptions): Generator<GroupStep, MemberOutcome[], StepResult> {
  const outcomes: (MemberOutcome | undefined)[] = new Array<MemberOutcome | undefined>(count).fill(undefined);
  let pending = Array.from({ length: count }, (_, i) => i);
  let lastError: unknown = new Error('The group transaction could not be completed');
  const savepoints = options.isolation === 'savepoint';
  const failAll = (members: readonly number[], error: unknown): MemberOutcome[] => {
    for (const i of members) outcomes[i] ??= { status: 'failed', error };
    return outcomes.map((outcome) => outcome ?? { status: 'failed', error });
  };
  for (let attempt = 0; attempt < options.maxAttempts && pending.length > 0; attempt++) {
    const begun = yield { kind: 'begin' };
    if (!begun.ok) return failAll(pending, begun.error);
    /** Members that ran in this transaction, with the outcome each gets once it commits. */
    const ran: { index: number; outcome: MemberOutcome }[] = [];
    /** Members to run again in a new transaction (the transaction ended underneath, or must be redone without one). */
    let again: number[] | undefined;
    for (let at = 0; at < pending.length && again === undefined; at++) {
      const i = pending[at]!;
      const rest = (from: number): number[] => [...ran.map((member) => member.index), ...pending.slice(from)];
      if (savepoints) {
        const marked = yield { kind: 'savepoint' };
        if (!marked.ok) {
          lastError = marked.error;
          if (marked.fatal === true) return failAll([...ran.map((member) => member.index), ...pending.slice(at)], marked.error);
          again = rest(at);
          break;
        }
      }
      const result = yield { kind: 'member', index: i };
      if (result.skipped === true) {
        outcomes[i] = { status: 'skipped' };
        if (savepoints) yield { kind: 'release' };
        continue;
      }
      if (result.fatal === true) return failAll([...ran.map((member) => member.index), ...pending.slice(at)], result.error);
      if (!result.ok) lastError = result.error;
      const own = !result.ok && result.own !== false;
      const kept = !result.ok && own && result.kept === true;
      if (result.open && (result.ok || kept)) {
        if (savepoints) {
          const released = yield { kind: 'release' };
          if (!released.ok || !released.open) {
            lastError = released.error;
            again = rest(at);
            break;
          }
        }
        const outcome: MemberOutcome = result.ok ? { status: 'ok', value: result.value } : { status: 'failed', error: result.error };
        ran.push({ index: i, outcome });
        continue;
      }
      if (!result.ok && result.open && savepoints) {
        const undone = yield { kind: 'rollback-member' };
        if (undone.ok && undone.open) {
          outcomes[i] = { status: 'failed', error: result.error };
          continue;
        }
      }
      // The transaction cannot go on as it is: this member is rejected if the failure was its own; the others run again.
      if (own) outcomes[i] = { status: 'failed', error: result.error };
      again = own ? rest(at + 1) : rest(at);
    }
    if (again !== undefined) {
      yield { kind: 'rollback' };
      pending = again;
      continue;
    }
    if (ran.length === 0) {
      // Every member failed and was undone: a COMMIT would still write the pages their savepoints restored, moving every other connection's snapshot on.
      yield { kind: 'rollback' };
      return failAll([], lastError);
    }
    const committed = yield { kind: 'commit' };
    if (committed.ok) {
      for (const member of ran) outcomes[member.index] = member.outcome;
      return failAll([], lastError);
    }
    if (committed.open) yield { kind: 'rollback' };
    if (committed.alone === true && ran.length > 1) {
      // The COMMIT failed on what a member left: each runs again by itself, so only that one fails, as in autocommit.
      for (const member of ran) outcomes[member.index] = { status: 'alone' };
      return failAll([], committed.error);
    }
    // A member that failed on its own keeps its own error; the others get the COMMIT's.
    for (const member of ran) if (member.outcome.status === 'failed') outcomes[member.index] = member.outcome;
    return failAll(
      ran.map((member) => member.index),
      committed.error,
    );
  }
  return failAll(pending, lastError);
}

/** Whether a failed COMMIT failed on what a member left (a deferred foreign key or constraint): see {@link StepResult.alone}. */
export function failedOnAMember(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT');
}

/** Runs the policy with a synchronous driver (a worker thread's connection). */
export function driveGroup(count: number, options: GroupOptions, take: (step: GroupStep) => StepResult): MemberOutcome[] {
  const steps = groupCommit(count, options);
  let next = steps.next();
  while (next.done !== true) next = steps.next(take(next.value));
  return next.value;
}

/** Runs the policy with an asynchronous driver (a lease's round trips, a remote engine). */
export async function driveGroupAsync(
  count: number,
  options: GroupOptions,
  take: (step: GroupStep) => Promise<StepResult>,
): Promise<MemberOutcome[]> {
  const steps = groupCommit(count, options);
  let next = steps.next();
  while (next.done !== true) next = steps.next(await take(next.value));
  return next.value;
}
