/**
 * The clock and timers litepool runs on, captured when the module loads. An
 * app's fake timers (sinon, Jest, installed later in a test) replace the
 * globals; the pool's own waits, deadlines and turns must not freeze with them.
 */
import * as timers from 'node:timers';

/** Node's timers, as they were when litepool loaded. */
export const { setTimeout, clearTimeout, setImmediate, clearImmediate, setInterval, clearInterval } = timers;

/** `queueMicrotask`, as it was when litepool loaded. */
export const queueMicrotask: (callback: () => void) => void = globalThis.queueMicrotask.bind(globalThis);

const performanceNow = performance.now.bind(performance);

/** Monotonic milliseconds (`performance.now()`, as it was when litepool loaded). */
export function now(): number {
  return performanceNow();
}
