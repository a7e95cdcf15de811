// Pools destroyed while their threads start, each in a directory of its own:
// for each, `destroy()` comes DELAYS ms after a first read was asked for (a
// sweep over a thread's start, which takes 35-100 ms here). Prints, as JSON,
// the files each directory gained after `destroy()` had resolved (listed
// again once every pool is gone and a second has passed). A thread that
// opens the database after its pool let it go would add them.
//   node files-after-destroy.mjs DIR [DELAYS, comma-separated]
import { createPool } from '@litepool/core';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const [root, delays = '0,10,20,30,40,50,60,80,100,120,150'] = process.argv.slice(2);
const runs = [];
for (const delayMs of delays.split(',').map(Number)) {
  const dir = join(root, `after-${delayMs}`);
  mkdirSync(dir);
  const pool = createPool({ filename: join(dir, 'app.db'), inlineReads: false });
  const read = pool.get('SELECT 1').catch((error) => error.code);
  await sleep(delayMs);
  await pool.destroy();
  runs.push({ delayMs, dir, atDestroy: readdirSync(dir), read: await read });
}
await sleep(1_000);
const gained = runs
  .map(({ delayMs, dir, atDestroy }) => ({ delayMs, files: readdirSync(dir).filter((file) => !atDestroy.includes(file)) }))
  .filter(({ files }) => files.length > 0);
console.log(JSON.stringify({ reads: runs.map(({ read }) => (typeof read === 'string' ? read : 'answered')), gained }));
