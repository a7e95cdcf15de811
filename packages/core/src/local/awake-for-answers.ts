/**
 * Keeps the calling thread's event loop awake for a moment after a request
 * goes to a worker thread (and wakes a worker that waits for the request).
 * An event loop with nothing to do sleeps in the kernel, and a worker's
 * answer must then wake it: here that wake made a
 * round trip ~100 µs where ~35 µs is the message's own cost, and it cost more
 * CPU than the few empty turns that replace it (docs/benchmarks.md, "One
 * call at a time"). Only while few answers are awaited: under load answers
 * arrive often enough to keep the loop awake, and empty turns would take CPU
 * from the worker threads (at 64 reads in flight: event-loop p99 ~6 ms
 * instead of ~2, fewer reads/s). Bounded: turns stop once no answer (or more
 * than MAX_AWAITED) is awaited, or WINDOW_MS after the last request went out
 * (a long statement is then waited for asleep); an idle pool costs nothing.
 */
import { now, setImmediate } from '../timers.js';
import { Control } from './protocol.js';

/** How long after the last request the loop stays awake for its answer. */
const WINDOW_MS = 0.2;
/** Batches awaited beyond which the loop is left to sleep. */
const MAX_AWAITED = 2;

let awaited = 0;
let until = 0;
let awake = false;

/**
 * A request went to the worker whose control block is `control`: ring its
 * doorbell (it may be waiting for it, see `Control.Doorbell`) and stay awake
 * for its answer.
 */
export function requestSent(control: Int32Array): void {
  Atomics.add(control, Control.Doorbell, 1);
  // Waiting is set before the worker's wait checks the doorbell, so a 0 here means that check sees this ring.
  if (Atomics.load(control, Control.Waiting) === 1) Atomics.notify(control, Control.Doorbell);
  awaited++;
  until = now() + WINDOW_MS;
  if (awake || awaited > MAX_AWAITED) return;
  awake = true;
  setImmediate(turn);
}

/** An answer came back (or `count` answers will not: their worker is gone). */
export function answerReceived(count = 1): void {
  awaited = Math.max(0, awaited - count);
}

function turn(): void {
  if (awaited > 0 && awaited <= MAX_AWAITED && now() < until) setImmediate(turn);
  else awake = false;
}
