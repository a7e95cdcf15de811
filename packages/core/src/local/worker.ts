/**
 * A worker thread that owns one better-sqlite3 connection. It runs batches of
 * requests in order and answers each batch with one message, whatever
 * happens: a failing statement, an I/O error or an interrupt becomes that
 * request's error, never a dead thread. The connection never leaves this
 * thread.
 */
import * as threads from 'node:worker_threads';
import { failed, KindedError, skipped, toWireError } from './answers.js';
import {
  Control,
  isSpareConfig,
  packResponses,
  unpackRequests,
  type FromWorker,
  type ToWorker,
  type WireRequest,
  type WorkerConfig,
} from './protocol.js';
import { StatementRunner } from './statement-runner.js';
import { Answers, openError, runEach, runGroup, runSnapshot, snapshotable } from './worker-batches.js';
import { CodeLoadError, loadWorkerCode } from './worker-code.js';
import { isWatchConfig, watchReads } from './read-watch-loop.js';
import { lowerThreadPriority } from './thread-priority.js';
import { countLoadsOf } from './native-loads.js';
import { loadNative } from './database-open.js';

/** This connection's config; a parked thread gets its next one with `rebind` (see thread-reuse.ts). */
let config = threads.workerData as WorkerConfig;
const port = threads.parentPort;
if (port === null) throw new Error('litepool worker started outside a worker thread');
/** Set once the application's modules are loaded, before the thread reports ready (no batch arrives before). */
let runner: StatementRunner | undefined;
/** The pool gave up on this thread while it started: it ends without opening its connection. */
let stopped = false;
/** Prepared statements' SQL by id (see `Pool.prepare`): kept across reopens, as the pool sends each id's SQL once. */
const statements = new Map<number, string>();

function post(message: FromWorker): void {
  port!.postMessage(message);
}

function answer(answers: Answers, retries: number): void {
  post({ type: 'results', items: packResponses(answers.items, answers.open), retries });
}

/** Messages that arrived while an asynchronous request (a backup) ran: handled, in order, once it is done. */
let held: Exclude<ToWorker, { type: 'go' }>[] | undefined;

/** Lets the connection open (the `go` message; see `WorkerConfig.awaitGo`). */
let letOpen = (): void => {};
/** better-sqlite3's addon and the interrupt extension are loaded in this thread (see `loadNative`). */
let nativeLoaded = false;

/**
 * After an answer inside a transaction, how long the thread looks for the
 * transaction's next statement before its event loop sleeps: it is usually
 * one round trip away, and a sleeping thread's wake costs more than the look
 * (docs/benchmarks.md, "Round trips that remain"). The same after the answer
 * that ended a transaction: an app that runs transactions one after another
 * sends the next BEGIN one round trip later.
 */
const NEXT_STATEMENT_MS = 0.05;
/**
 * For how long of that it spins; then it waits on its doorbell (rung with each
 * batch sent). Spinning alone starved a calling thread that the kernel had
 * put on this thread's CPU: round trips of 75-300 µs instead of 15.
 */
const SPIN_MS = 0.02;
/** Node's and Bun's; looked up, not imported by name, so a runtime without it still loads this module (Deno's refuses its parentPort). */
let receiveNow = (threads as { receiveMessageOnPort?: typeof threads.receiveMessageOnPort }).receiveMessageOnPort;

/**
 * Handles `message`, then, while a transaction is open or one has just ended,
 * what arrives within NEXT_STATEMENT_MS of each answer. The port is read when
 * the doorbell has rung (the pool rings it after each batch it posts), not in
 * the spin: reading it takes the lock the calling thread's postMessage needs
 * (a young pool's postMessage averaged 30-67 µs while the worker spun on the
 * port, against ~2 µs to an idle worker; docs/benchmarks.md has the figures
 * after).
 */
function receiveAndLook(message: ToWorker): void {
  let looking = receiveInTransaction(message);
  if (receiveNow === undefined || !looking) return;
  const { control } = config;
  let until = performance.now() + NEXT_STATEMENT_MS;
  let rung = 0;
  let read = true;
  while (looking && held === undefined) {
    if (read) {
      // Before the port: a ring after this load is a batch this read may have missed.
      rung = Atomics.load(control, Control.Doorbell);
      let next: ReturnType<typeof threads.receiveMessageOnPort>;
      try {
        next = receiveNow(port!);
      } catch {
        receiveNow = undefined; // this runtime's port cannot be read from outside its event: the loop waits as before
        return;
      }
      if (next !== undefined) {
        looking = receiveInTransaction(next.message as ToWorker);
        until = performance.now() + NEXT_STATEMENT_MS;
        continue;
      }
      read = false;
    }
    const at = performance.now();
    if (at >= until) return;
    if (Atomics.load(control, Control.Doorbell) !== rung) {
      read = true;
      continue;
    }
    if (until - at > NEXT_STATEMENT_MS - SPIN_MS) continue;
    // Asleep in the kernel: a calling thread sharing this CPU can run and send the statement; its ring wakes us.
    Atomics.store(control, Control.Waiting, 1);
    Atomics.wait(control, Control.Doorbell, rung, until - at);
    Atomics.store(control, Control.Waiting, 0);
    read = true;
  }
}

/** Handles `message`; true if a transaction is open after it, or was before it on a connection still in use (not closed, not parked). */
function receiveInTransaction(message: ToWorker): boolean {
  const wasOpen = runner?.inTransaction === true;
  receive(message);
  return runner?.inTransaction === true || (wasOpen && runner !== undefined && !stopped);
}

function receive(message: ToWorker): void {
  if (message.type === 'go') letOpen();
  else if (held !== undefined) held.push(message);
  else handle(message);
}

/** Runs a backup, then what arrived meanwhile. */
async function backUp(runner: StatementRunner, request: WireRequest): Promise<void> {
  held = [];
  const answers = new Answers();
  if (!runner.claim(request.seq)) answers.add(skipped(request.seq), runner.inTransaction);
  else {
    const response = await runner.backup(request, ({ totalPages, remainingPages }) =>
      post({ type: 'progress', seq: request.seq, totalPages, remainingPages }),
    );
    runner.idle();
    answers.add(response, runner.inTransaction);
  }
  answer(answers, 0);
  const waiting = held;
  held = undefined;
  for (const message of waiting) receive(message);
}

/** Lets the thread end: the port closed (Node, Bun), or, where the port cannot be closed (Deno's), the worker itself. */
function endThread(): void {
  if (typeof port!.close === 'function') port!.close();
  else (globalThis as { close?: () => void }).close?.();
}

function handle(message: Exclude<ToWorker, { type: 'go' }>): void {
  if (message.type === 'close') {
    // Before ready: start() sees the flag once the app's modules are loaded, and opens nothing.
    stopped = true;
    runner?.close();
    endThread();
    return;
  }
  if (message.type === 'park') {
    // Nothing of this connection may reach the next one: its database, its statements.
    runner?.close();
    runner = undefined;
    statements.clear();
    post({ type: 'parked' });
    return;
  }
  if (message.type === 'rebind') {
    config = message.config;
    void start();
    return;
  }
  if (runner === undefined) return; // never: no batch is sent before ready
  runner.committing(false);
  const requests = unpackRequests(message.items, statements);
  const answers = new Answers();
  const before = runner.retries;
  try {
    runner.ensureOpen(message.reopen);
    runner.useSettings(message.settings);
  } catch (error) {
    // Every request of the batch fails with the error; the next batch tries again.
    if (!(error instanceof KindedError)) runner.close();
    for (const request of requests) answers.add(failed(request.seq, openError(error)), false);
    answer(answers, 0);
    return;
  }
  if (requests.length === 1 && requests[0]!.op === 'backup') {
    void backUp(runner, requests[0]!);
    return;
  }
  try {
    if (message.group) runGroup(runner, requests, message.abortFlag, answers);
    else if (snapshotable(runner, config.role === 'reader', requests)) runSnapshot(runner, requests, message.abortFlag, answers);
    else runEach(runner, requests, message.abortFlag, message.oneShot, answers);
  } catch (error) {
    // Not a statement's error (those are answers): whatever it was, the batch is answered and the connection reopened.
    runner.idle();
    runner.rollback();
    runner.close();
    const answered = new Set(answers.items.map((response) => response.seq));
    for (const request of requests) if (!answered.has(request.seq)) answers.add(failed(request.seq, error), false);
  }
  answer(answers, runner.retries - before);
}

async function start(): Promise<void> {
  try {
    const mayOpen = config.awaitGo ? new Promise<void>((resolve) => (letOpen = resolve)) : undefined;
    const code = await loadWorkerCode(config.setup, config.procedures);
    if (mayOpen !== undefined) {
      // Once per thread: a parked thread taken again has them loaded already.
      if (!nativeLoaded) loadNative(config);
      nativeLoaded = true;
      await mayOpen;
    }
    if (stopped) return;
    runner = new StatementRunner(config, code);
    if (!config.deferOpen) runner.ensureOpen(false);
    post({ type: 'ready', procedures: [...code.procedures].map(([name, procedure]) => [name, procedure.readOnly] as const) });
  } catch (error) {
    const wire = error instanceof CodeLoadError ? toWireError(new KindedError('setup', error.message)) : toWireError(openError(error));
    post({ type: 'open-failed', error: wire });
    endThread();
  }
}

// Before anything loads the addon: this thread's loads are counted for the process's exit (native-loads.ts).
countLoadsOf(threads.workerData);
// The same entry serves the read watch (read-watch-loop.ts): bundlers and `workerFile` ship one file.
if (isWatchConfig(threads.workerData)) watchReads(threads.workerData);
else {
  // Once per thread: a parked thread is taken again only for the same `nice` (thread-reuse.ts).
  lowerThreadPriority(config.nice);
  port.on('message', receiveAndLook);
  if (isSpareConfig(threads.workerData)) {
    // Started ahead of its connection: the addon loads now, while the pool that started it gets ready; a rebind follows.
    // A reserve (no preload) loads it at its rebind: until then the process may end at any moment without harm.
    if (threads.workerData.preload) loadNative(threads.workerData);
    nativeLoaded = threads.workerData.preload;
    post({ type: 'parked' });
  } else void start();
}
