// A pool destroyed at once, its writer's thread still starting: the thread,
// whose addon load is slowed past the 2 s a stopping thread is given (run
// with slow-addon-load.mjs preloaded, LITEPOOL_ADDON_DELAY_MS above 2000), is
// still loading when litepool would terminate it. The process then waits for
// the thread to end and exits 0.
//   node --import ./slow-addon-load.mjs stop-while-loading.mjs DIR
import { createPool } from '@litepool/core';
import { join } from 'node:path';

const [dir] = process.argv.slice(2);
const pool = createPool({ filename: join(dir, 'stop.db'), inlineReads: false });
const read = pool.get('SELECT 1').catch((error) => error.code);
await pool.destroy();
console.log(JSON.stringify({ read: await read }));
