#!/usr/bin/env node
// Cold start, as a user meets it: `import('@litepool/core')`, then, on a new
// file each time, createPool + the first read, close(); and the node-sqlite3
// drop-in's open + first get, beside the real sqlite3's. Medians of 10 rounds,
// in ms, printed as JSON.   node packages/bench/scripts/cold-start.mjs
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const ROUNDS = 10;
const median = (values) => Math.round([...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]);

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
    return median(times);
  }
  console.log(
    JSON.stringify({
      importMs: Math.round(importMs),
      createPoolFirstReadMs: median(firstRead),
      closeMs: median(close),
      dropInOpenFirstGetMs: await openAndGet(require('@litepool/core/sqlite3'), 'drop-in'),
      realSqlite3OpenFirstGetMs: await openAndGet(require('sqlite3'), 'real'),
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
