// Preloaded (--import) into a process and, through its options, into each of
// its worker threads: a worker thread's load of a native addon takes 500 ms (or
// LITEPOOL_ADDON_DELAY_MS), as on a slow disk, and leaves a trace in the file
// LITEPOOL_ADDON_TRACE: `loading` before, `loaded` after.
import { appendFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

const trace = process.env.LITEPOOL_ADDON_TRACE;
const delayMs = Number(process.env.LITEPOOL_ADDON_DELAY_MS ?? 500);
if (!isMainThread && trace !== undefined) {
  const dlopen = process.dlopen;
  process.dlopen = function slowDlopen(...args) {
    appendFileSync(trace, 'loading\n');
    const until = Date.now() + delayMs;
    while (Date.now() < until) {
      // the slow disk
    }
    const loaded = dlopen.apply(this, args);
    appendFileSync(trace, 'loaded\n');
    return loaded;
  };
}
