/**
 * Whether a one-shot read is answered at once on the calling thread (the
 * backend's {@link InlineReader}) instead of queued for a reader: only a
 * `get`, `all` or `values` that reads, of the pool or a session (not of
 * a transaction or lease; nothing pinned to the writer), once the writer has
 * opened (the file exists, in the strategy's journal mode; no reader needs to
 * have opened), and only while few reads sent to readers wait for their
 * answers: under load the calling thread is the bottleneck (it sends and
 * receives every reader's batches), and reads then cost it less batched
 * through readers than run here.
 *
 * The read that finds this turn's budget for reads here spent (so that the
 * loop's timers and I/O get their turn) went to a reader, and with one caller
 * awaiting read after read that was a reader's round trip every 0.5 ms with
 * the calling thread idle meanwhile (24% of its profile, 1.1-1.2 reads per
 * ms). One such read at a time now waits for the next turn and runs here then
 * ({@link NextTurnRead}); under load the others still go to readers.
 */
import { readsRows, type InlineReader, type Pending, type Request } from '../backend.js';
import { AbortError } from '../errors.js';
import { setImmediate } from '../timers.js';
import type { Router } from './router.js';

/**
 * Answers `request` inline if it can: `answered` if it did, or if the calling
 * thread found that a statement never seen writes (it then went to the
 * writer, through `toWriter`, without a probe on a reader); `spent` if it may
 * run here but this turn's budget was used up before it; undefined otherwise.
 */
export function readNow(
  inline: InlineReader | undefined,
  fileReady: boolean,
  router: Pick<Router, 'readersQuiet' | 'knows' | 'remember'>,
  request: Request,
  caller: Pending,
  toWriter: () => void,
): 'answered' | 'spent' | undefined {
  if (!mayRunHere(inline, fileReady, router, request)) return undefined;
  // Only a read the budget turned away waits: one that ran and failed here (too long, an error) goes to a reader now.
  if (inline.spent) return 'spent';
  const probe = !router.knows(request.sql);
  const answer = inline.run(probe ? { ...request, probe } : request, caller.timeoutMs);
  if (answer === undefined) return undefined;
  if (probe) router.remember(request.sql, answer.writes);
  if (answer.writes) toWriter();
  else caller.resolve(answer.value);
  return 'answered';
}

/** Whether `request` is a read the calling thread may answer. */
function mayRunHere(
  inline: InlineReader | undefined,
  fileReady: boolean,
  router: Pick<Router, 'readersQuiet'>,
  request: Request,
): inline is InlineReader {
  if (inline === undefined || !fileReady || !router.readersQuiet) return false;
  return readsRows(request.op);
}

/**
 * Reads waiting for the next turn, per pool: at most one the turn's budget
 * turned away ({@link defer}), and any number that found a young pool's
 * writer still counting its last batch ({@link deferAll}).
 */
export class NextTurnRead {
  #waiting: Pending | undefined;
  /** Reads routed again together on the next turn (see {@link deferAll}). */
  #all: { caller: Pending; retry: () => void }[] = [];
  #failed: Error | undefined;
  /** Callers of {@link drained} (none in the common case: no promise per deferral). */
  #drainWaiters: (() => void)[] = [];

  /**
   * Runs `retry` on the next turn (it routes the read again; the turn's
   * budget is renewed by then, its reset scheduled when it was spent, before
   * this); false if a read already waits, or the pool was destroyed: the
   * caller then sends this one on as usual.
   */
  defer(caller: Pending, retry: () => void): boolean {
    if (this.#waiting !== undefined || this.#failed !== undefined) return false;
    this.#waiting = caller;
    setImmediate(() => {
      if (this.#waiting !== caller) return;
      this.#waiting = undefined;
      route(caller, retry);
      this.#drainIfIdle();
    });
    return true;
  }

  /**
   * Runs `retry` on the next turn, for as many reads as ask in this one: a
   * young pool's writer has counted its last batch done by then (see
   * `lendsToWriter`), so a burst of reads right after its first write is
   * lent to it rather than made to wait for readers' threads to start.
   * False once the pool was destroyed.
   */
  deferAll(caller: Pending, retry: () => void): boolean {
    if (this.#failed !== undefined) return false;
    if (this.#all.push({ caller, retry }) === 1) {
      setImmediate(() => {
        for (const read of this.#all.splice(0)) route(read.caller, read.retry);
        this.#drainIfIdle();
      });
    }
    return true;
  }

  /** Resolves once no read waits for its turn (each has been routed on, or failed). */
  drained(): Promise<void> {
    if (this.#waiting === undefined && this.#all.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** The pool was destroyed: the waiting reads fail with `error`, and none waits from now on. */
  failAll(error: Error): void {
    this.#failed = error;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.reject(error);
    for (const read of this.#all.splice(0)) read.caller.reject(error);
    this.#drainIfIdle();
  }

  #drainIfIdle(): void {
    if (this.#waiting !== undefined || this.#all.length > 0) return;
    for (const resolve of this.#drainWaiters.splice(0)) resolve();
  }
}

/** Routes a read that waited for its turn again, unless its caller gave up meanwhile. */
function route(caller: Pending, retry: () => void): void {
  if (caller.signal?.aborted === true) caller.reject(new AbortError({ cause: caller.signal.reason }));
  else retry();
}
