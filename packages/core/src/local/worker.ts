/**
 * A worker thread that owns one better-sqlite3 connection. It runs batches of
 * requests in order and answers each batch with one message, whatever
 * happens: a failing statement, an I/O error or an interrupt becomes that
 * request's error, never a dead thread. The connection never leaves this
 * thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  packResponses,
  Status,
  unpackRequests,
  type FromWorker,
  type ToWorker,
  type WireError,
  type WireRequest,
  type WireResponse,
  type WorkerConfig,
} from './protocol.js';
import { KindedError, WorkerSession, toWireError } from './session.js';
import { CodeLoadError, loadWorkerCode } from './worker-code.js';

const config = workerData as WorkerConfig;
const port = parentPort;
if (port === null) throw new Error('litepool worker started outside a worker thread');
/** Set once the application's modules are loaded, before the thread reports ready (no batch arrives before). */
let session!: WorkerSession;
/** Prepared statements' SQL by id (see `Pool.prepare`): kept across reopens, as the pool sends each id's SQL once. */
const statements = new Map<number, string>();

function post(message: FromWorker): void {
  port!.postMessage(message);
}

/** Results of one batch, each with whether a transaction was open after it. */
class Answers {
  readonly items: WireResponse[] = [];
  readonly open: boolean[] = [];

  add(response: WireResponse, open = session.inTransaction): void {
    this.items.push(response);
    this.open.push(open);
  }
}

function aborted(flag: Int32Array | undefined): boolean {
  return flag !== undefined && Atomics.load(flag, 0) !== 0;
}

/** The answer to a request that did not run because the strategy's hold was lost first. */
const lostHold = (seq: number): WireResponse =>
  session.failed(seq, new KindedError('aborted', 'The strategy hold was lost before this request ran'));

/** Reopens a connection whose state became unknown; false (and the requests from `from` on failed) if it cannot. */
function recover(items: readonly WireRequest[], from: number, answers: Answers): boolean {
  if (!session.broken) return true;
  try {
    session.ensureOpen(false);
    return true;
  } catch (error) {
    for (let i = from; i < items.length; i++) answers.add(session.failed(items[i]!.seq, openError(error)), false);
    return false;
  }
}

/** Requests one by one. A one-shot request must leave the connection in autocommit, or it is rolled back and fails. */
function runEach(items: readonly WireRequest[], flag: Int32Array | undefined, oneShot: boolean, answers: Answers): void {
  for (let i = 0; i < items.length; i++) {
    const request = items[i]!;
    if (!recover(items, i, answers)) return;
    if (aborted(flag)) {
      answers.add(lostHold(request.seq));
      continue;
    }
    if (!session.claim(request.seq)) {
      answers.add(session.skipped(request.seq));
      continue;
    }
    let response = session.run(request);
    if (oneShot && session.inTransaction) {
      session.rollback();
      response = session.failed(
        request.seq,
        new KindedError(
          'transaction-control',
          'This statement left a transaction open, so it was rolled back: one-shot statements run in autocommit; use pool.transaction(fn) or a lease from pool.acquire()',
        ),
      );
    }
    session.idle();
    answers.add(response);
  }
}

/** Whether a reader may run this batch in one read transaction: plain one-shot reads, nothing open. */
function snapshotable(items: readonly WireRequest[]): boolean {
  if (config.role !== 'reader' || items.length < 2 || session.inTransaction || session.cursorsOpen) return false;
  for (const request of items) if (request.op !== 'get' && request.op !== 'all' && request.op !== 'values') return false;
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
function runSnapshot(items: readonly WireRequest[], flag: Int32Array | undefined, answers: Answers): void {
  let next = 0;
  session.control('BEGIN');
  try {
    for (; next < items.length; next++) {
      const request = items[next]!;
      if (aborted(flag)) {
        answers.add(lostHold(request.seq), false);
        continue;
      }
      if (!session.claim(request.seq)) {
        answers.add(session.skipped(request.seq), false);
        continue;
      }
      const response = session.run(request);
      session.idle();
      if (isBusyFailure(response)) break;
      answers.add(response, false);
      if (session.broken) {
        next++;
        break;
      }
    }
  } finally {
    if (session.inTransaction) {
      try {
        session.control('COMMIT');
      } catch {
        session.rollback();
      }
    }
  }
  if (next < items.length) runEach(items.slice(next), flag, true, answers);
}

/** An interrupt that reached a request other than the one the pool meant (kind `sqlite`, not `interrupted`). */
const strayInterrupt = (response: WireResponse): boolean =>
  response.status === Status.Failed &&
  (response.value as WireError).kind === 'sqlite' &&
  (response.value as WireError).code === 'SQLITE_INTERRUPT';

/**
 * Group commit: one transaction, each request inside its own SAVEPOINT so a
 * failing one rolls back alone. Nothing is acknowledged before COMMIT
 * succeeds. When SQLite ends the whole transaction itself (an interrupt of a
 * write, SQLITE_FULL, an I/O error), the members that had run are not lost:
 * none was acknowledged, so they run again in a new transaction, at most
 * twice more.
 */
function runGroup(items: readonly WireRequest[], flag: Int32Array | undefined, answers: Answers): void {
  const results = new Map<number, WireResponse>();
  let pending = items;
  let lastError: unknown = new Error('The group transaction could not be completed');
  for (let attempt = 0; attempt < 3 && pending.length > 0; attempt++) {
    try {
      if (session.broken) session.ensureOpen(false);
      session.runControl('BEGIN IMMEDIATE');
    } catch (error) {
      lastError = openError(error);
      break;
    }
    const done: WireRequest[] = [];
    let lostFrom = -1;
    for (let i = 0; i < pending.length && lostFrom < 0; i++) {
      const request = pending[i]!;
      if (aborted(flag)) {
        results.set(request.seq, lostHold(request.seq));
        continue;
      }
      if (!session.claim(request.seq)) {
        results.set(request.seq, session.skipped(request.seq));
        continue;
      }
      let response: WireResponse | undefined;
      try {
        session.control('SAVEPOINT litepool_group');
        response = session.run(request);
        if (response.status === Status.Failed && session.inTransaction) session.control('ROLLBACK TO litepool_group');
        if (session.inTransaction) session.control('RELEASE litepool_group');
      } catch (error) {
        lastError = error;
        session.rollback();
      }
      session.idle();
      if (session.inTransaction && response !== undefined) {
        results.set(request.seq, response);
        if (response.status !== Status.Failed) done.push(request);
      } else if (response !== undefined && response.status === Status.Failed && !strayInterrupt(response)) {
        // This request failed and took the transaction with it; the others run again.
        results.set(request.seq, response);
        lastError = Object.assign(new Error((response.value as WireError).message), { code: (response.value as WireError).code });
        lostFrom = i + 1;
      } else {
        lostFrom = i;
      }
    }
    if (lostFrom < 0) {
      try {
        if (aborted(flag)) throw new KindedError('aborted', 'The strategy hold was lost before COMMIT: the batch was rolled back');
        session.runControl('COMMIT');
      } catch (error) {
        session.rollback();
        for (const request of done) results.set(request.seq, session.failed(request.seq, error));
      }
      break;
    }
    // SQLite ended the transaction: what had run is undone and unacknowledged; it runs again.
    session.rollback();
    for (const request of done) results.delete(request.seq);
    pending = [...done, ...pending.slice(lostFrom)];
  }
  for (const request of items) answers.add(results.get(request.seq) ?? session.failed(request.seq, lastError), false);
}

/** better-sqlite3 checks the directory itself and throws without a code: that is SQLite's CANTOPEN. */
function openError(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? error : Object.assign(error as object, { code: 'SQLITE_CANTOPEN' });
}

/** Messages that arrived while an asynchronous request (a backup) ran: handled, in order, once it is done. */
let held: ToWorker[] | undefined;

function receive(message: ToWorker): void {
  if (held !== undefined) held.push(message);
  else handle(message);
}

port.on('message', receive);

/** Runs a backup, then what arrived meanwhile. */
async function backUp(request: WireRequest): Promise<void> {
  held = [];
  const answers = new Answers();
  if (!session.claim(request.seq)) answers.add(session.skipped(request.seq));
  else {
    const response = await session.backup(request, ({ totalPages, remainingPages }) =>
      post({ type: 'progress', seq: request.seq, totalPages, remainingPages }),
    );
    session.idle();
    answers.add(response);
  }
  post({ type: 'results', items: packResponses(answers.items, answers.open), retries: 0 });
  const waiting = held;
  held = undefined;
  for (const message of waiting) receive(message);
}

function handle(message: ToWorker): void {
  if (message.type === 'close') {
    session.close();
    post({ type: 'closed' });
    port!.close();
    return;
  }
  const requests = unpackRequests(message.items, statements);
  const answers = new Answers();
  const before = session.retries;
  try {
    session.ensureOpen(message.reopen);
  } catch (error) {
    // Every request of the batch fails with the open error; the next batch tries again.
    session.close();
    for (const request of requests) answers.add(session.failed(request.seq, openError(error)), false);
    post({ type: 'results', items: packResponses(answers.items, answers.open), retries: 0 });
    return;
  }
  try {
    session.useSettings(message.settings);
  } catch (error) {
    for (const request of requests) answers.add(session.failed(request.seq, error), false);
    post({ type: 'results', items: packResponses(answers.items, answers.open), retries: 0 });
    return;
  }
  if (requests.length === 1 && requests[0]!.op === 'backup') {
    void backUp(requests[0]!);
    return;
  }
  try {
    if (message.group) runGroup(requests, message.abortFlag, answers);
    else if (snapshotable(requests)) runSnapshot(requests, message.abortFlag, answers);
    else runEach(requests, message.abortFlag, message.oneShot, answers);
  } catch (error) {
    // Not a statement's error (those are answers): whatever it was, the batch is answered and the connection reopened.
    session.idle();
    session.rollback();
    session.close();
    const answered = new Set(answers.items.map((response) => response.seq));
    for (const request of requests) if (!answered.has(request.seq)) answers.add(session.failed(request.seq, error), false);
  }
  post({ type: 'results', items: packResponses(answers.items, answers.open), retries: session.retries - before });
}

async function start(): Promise<void> {
  try {
    const code = await loadWorkerCode(config.setup, config.procedures);
    session = new WorkerSession(config, code);
    if (!config.deferOpen) session.ensureOpen(false);
    post({ type: 'ready', procedures: [...code.procedures].map(([name, procedure]) => [name, procedure.readOnly] as const) });
  } catch (error) {
    const wire = error instanceof CodeLoadError ? toWireError(new KindedError('setup', error.message)) : toWireError(openError(error));
    post({ type: 'open-failed', error: wire });
    port!.close();
  }
}

void start();
