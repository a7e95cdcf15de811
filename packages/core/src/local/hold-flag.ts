/**
 * A strategy hold's loss, as a flag in shared memory: the worker checks it
 * between requests (it cannot hear an AbortSignal while it runs a batch).
 */

/** One shared flag per hold signal (a hold serves many batches): one listener, not one per batch. */
const flags = new WeakMap<AbortSignal, Int32Array>();

/** The shared flag that follows `signal` (1 once it aborted), for the worker to check between requests. */
export function flagFor(signal: AbortSignal | undefined): Int32Array | undefined {
  if (signal === undefined) return undefined;
  let flag = flags.get(signal);
  if (flag === undefined) {
    const created = new Int32Array(new SharedArrayBuffer(4));
    if (signal.aborted) Atomics.store(created, 0, 1);
    else signal.addEventListener('abort', () => Atomics.store(created, 0, 1), { once: true });
    flags.set(signal, (flag = created));
  }
  return flag;
}
