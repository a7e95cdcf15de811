/**
 * A worker thread's scheduling priority, lowered below the thread that
 * started it (the `workerNice` option), so that when the calling thread and
 * the pool's workers want the same core the calling thread's event loop runs
 * first. Only on Linux, where a nice value belongs to one thread: elsewhere
 * setpriority() applies to the whole process, so nothing is done.
 */
import { readlinkSync } from 'node:fs';
import { constants, getPriority, setPriority } from 'node:os';

/**
 * Raises this thread's nice value by `by` (at most to 19) from what it
 * inherited from the thread that started it. Does nothing for 0, off
 * Linux, or where the system refuses (the thread then keeps its priority:
 * this is about latency, never about correctness).
 */
export function lowerThreadPriority(by: number): void {
  if (by <= 0 || process.platform !== 'linux') return;
  try {
    // "<pid>/task/<tid>": this thread's own id, so the call can only change this thread.
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid) || tid <= 0) return;
    setPriority(tid, Math.min(constants.priority.PRIORITY_LOW, getPriority(tid) + by));
  } catch {
    // Left at the priority it started with.
  }
}
