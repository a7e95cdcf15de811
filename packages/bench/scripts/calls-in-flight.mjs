#!/usr/bin/env node
// Point reads kept in flight by a bare loop, without the bench's harness
// (no per-call timing or histograms): the calling thread's own cost per call
// shows more plainly. `--api drop-in` reads through
// `@litepool/core/sqlite3`'s `db.get(sql, params, callback)`, `--api pool`
// through `pool.get`. Prints reads per second, after a 500 ms warm-up, on a
// new file of 10,000 rows. Build first (`pnpm build`).
//   node packages/bench/scripts/calls-in-flight.mjs [--api drop-in|pool] [--in-flight 64] [--ms 3000]
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { createPool } from '@litepool/core';

const require = createRequire(import.meta.url);
const { values } = parseArgs({
  options: {
    api: { type: 'string', default: 'drop-in' },
    'in-flight': { type: 'string', default: '64' },
    ms: { type: 'string', default: '3000' },
  },
});
const inFlight = Number(values['in-flight']);
const ms = Number(values.ms);
if (values.api !== 'drop-in' && values.api !== 'pool') throw new Error(`--api must be drop-in or pool, got ${values.api}`);
if (!Number.isInteger(inFlight) || inFlight < 1) throw new Error(`--in-flight must be a positive whole number, got ${values['in-flight']}`);
if (!Number.isInteger(ms) || ms < 1) throw new Error(`--ms must be a positive whole number, got ${values.ms}`);

const ROWS = 10_000;
const SQL = 'SELECT v FROM kv WHERE id = ?';
const dir = mkdtempSync(join(tmpdir(), 'litepool-calls-in-flight-'));
const file = join(dir, 'kv.db');
const seed = new Database(file);
seed.pragma('journal_mode = WAL');
seed.exec('CREATE TABLE kv (id INTEGER PRIMARY KEY, v TEXT)');
const insert = seed.prepare('INSERT INTO kv VALUES (?, ?)');
seed.transaction(() => {
  for (let id = 1; id <= ROWS; id++) insert.run(id, `value ${id}`);
})();
seed.close();

let get;
let close;
if (values.api === 'drop-in') {
  const sqlite3 = require('@litepool/core/sqlite3');
  const db = await new Promise((resolve, reject) => {
    const opened = new sqlite3.Database(file, (err) => (err ? reject(err) : resolve(opened)));
  });
  get = (id) => new Promise((resolve, reject) => db.get(SQL, [id], (err, row) => (err ? reject(err) : resolve(row))));
  close = () => new Promise((resolve) => db.close(resolve));
} else {
  const pool = createPool({ filename: file });
  get = (id) => pool.get(SQL, [id]);
  close = () => pool.close();
}

const warmUntil = performance.now() + 500;
const end = warmUntil + ms;
let counted = 0;
await Promise.all(
  Array.from({ length: inFlight }, async () => {
    while (performance.now() < end) {
      await get(1 + Math.floor(Math.random() * ROWS));
      if (performance.now() > warmUntil) counted++;
    }
  }),
);
await close();
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({ api: values.api, inFlight, readsPerSecond: Math.round(counted / (ms / 1000)) }));
