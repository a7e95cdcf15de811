// process.exit() while a pool's thread loads better-sqlite3's addon (made slow
// by slow-addon-load.mjs, preloaded): the exit must wait for the load, whose
// trace then reads `loading` then `loaded`. Run with LITEPOOL_ADDON_TRACE set.
//   node --import ./slow-addon-load.mjs exit-while-loading.mjs DIR
import { createPool } from '@litepool/core';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const [dir] = process.argv.slice(2);
const pool = createPool({ filename: join(dir, 'exit.db'), inlineReads: false });
pool.get('SELECT 1').catch(() => {});
const trace = process.env.LITEPOOL_ADDON_TRACE;
// Exits as soon as the thread has begun to load the addon (bounded: 30 s).
const deadline = Date.now() + 30_000;
const poll = setInterval(() => {
  if (existsSync(trace) || Date.now() > deadline) process.exit(0);
}, 2);
poll.unref();
