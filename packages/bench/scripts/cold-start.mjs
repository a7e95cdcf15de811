#!/usr/bin/env node
// Cold start, as a user meets it: `import('@litepool/core')`, then, on a new
// file each time, createPool + the first read, close(); and the node-sqlite3
// drop-in's open + first get, beside the real sqlite3's. In ms, printed as
// JSON: the first pool (or Database) of the process, which starts its
// threads, and the median of the 9 after it, which take the threads the one
// before parked (each section waits for parked threads to end first, so its
// first round starts cold).   node packages/bench/scripts/cold-start.mjs
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const ROUNDS = 10;
const median = (values) => Math.round([...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]);
/** The first round, and the median of the rest. */
const firstAndLater = (values) => ({ first: Math.round(values[0]), later: median(values.slice(1)) });
/** Longer than a parked thread waits to be reused (PARKED_IDLE_MS, 2 s). */
const threadsGone = () => new Promise((resolve) => setTimeout(resolve, 2_500));

const started = performance.now();
const { createPool } = await import('@litepool/core');
const importMs = performance.now() - started;
const dir = mkdtempSync(join(tmpdir(), 'litepool-cold-'));
try {
  const firstRead = [];
  const close = [];
  for (let i = 0; i < ROUNDS; i++) {
    const begin = performance.now();
    const pool = createPool({ filename: join(dir, `pool-${i}.db`) });
    await pool.get('SELECT 1');
    const answered = performance.now();
    await pool.close();
    firstRead.push(answered - begin);
    close.push(performance.now() - answered);
  }
  /** Open + first get through a node-sqlite3 module, on a new file. */
  async function openAndGet(sqlite3, name) {
    const times = [];
    for (let i = 0; i < ROUNDS; i++) {
      const begin = performance.now();
      const db = await new Promise((resolve, reject) => {
        const opened = new sqlite3.Database(join(dir, `${name}-${i}.db`), (err) => (err ? reject(err) : resolve(opened)));
      });
      await new Promise((resolve, reject) => db.get('SELECT 1', (err) => (err ? reject(err) : resolve())));
      times.push(performance.now() - begin);
      await new Promise((resolve) => db.close(resolve));
    }
    return firstAndLater(times);
  }
  const pool = firstAndLater(firstRead);
  await threadsGone();
  const dropIn = await openAndGet(require('@litepool/core/sqlite3'), 'drop-in');
  const real = await openAndGet(require('sqlite3'), 'real');
  console.log(
    JSON.stringify({
      importMs: Math.round(importMs),
      createPoolFirstReadMs: pool.first,
      laterPoolFirstReadMs: pool.later,
      closeMs: median(close),
      dropInOpenFirstGetMs: dropIn.first,
      laterDropInOpenFirstGetMs: dropIn.later,
      realSqlite3OpenFirstGetMs: real.first,
      laterRealSqlite3OpenFirstGetMs: real.later,
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
