// A pool destroyed while its writer's thread loads the addon: the load,
// slowed past the 2 s a stopping thread is given (run with
// slow-addon-load.mjs preloaded, LITEPOOL_ADDON_DELAY_MS above 2000), is still
// going on when litepool would terminate the thread. The process then waits
// for the thread to end and exits 0.
//   node --import ./slow-addon-load.mjs stop-while-loading.mjs DIR
import { createPool } from '@litepool/core';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const [dir] = process.argv.slice(2);
const trace = process.env.LITEPOOL_ADDON_TRACE ?? '';
const pool = createPool({ filename: join(dir, 'stop.db'), inlineReads: false });
const read = pool.get('SELECT 1').catch((error) => error.code);
// Destroyed once a thread is inside its load (a destroy before it would keep the load from starting at all).
for (let waited = 0; !(existsSync(trace) && readFileSync(trace, 'utf8').includes('loading')) && waited < 30_000; waited += 5)
  await sleep(5);
await pool.destroy();
console.log(JSON.stringify({ read: await read }));
