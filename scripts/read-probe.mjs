#!/usr/bin/env node
// Point reads at N in flight for a few seconds, through the pool (`pool.get`)
// or through the node-sqlite3 drop-in (`--drop-in`, `db.get`): reads per
// second and the main thread's event-loop delay p99. For the young-generation
// GC figures, run it under `node --trace-gc-nvp` (scavenges: `gc=s`, with
// `allocated`, `promoted` and `pause`). Build first (`pnpm build`).
// `--threads-only` turns the pool's inline reads off (every read through a reader thread).
//   node scripts/read-probe.mjs [--drop-in] [--threads-only] [--in-flight 64] [--ms 3000]
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createPool } from '../packages/core/dist/index.js';
import sqlite3 from '../packages/core/dist/adapters/sqlite3.js';

const { values } = parseArgs({
  options: {
    'drop-in': { type: 'boolean', default: false },
    'threads-only': { type: 'boolean', default: false },
    'in-flight': { type: 'string', default: '64' },
    ms: { type: 'string', default: '3000' },
  },
});
const inFlight = Number(values['in-flight']);
const file = join(tmpdir(), `litepool-read-probe-${process.pid}.db`);
const ROWS = 10_000;

/** `get(id)` and `close()` on the chosen API, over a table of ROWS rows. */
async function open() {
  if (!values['drop-in']) {
    const pool = createPool({ filename: file, inlineReads: !values['threads-only'] });
    await pool.exec('CREATE TABLE kv (id INTEGER PRIMARY KEY, v TEXT)');
    await pool.transaction(async (tx) => {
      for (let i = 0; i < ROWS; i++) await tx.run('INSERT INTO kv VALUES (?, ?)', [i, `value ${i}`]);
    });
    return { get: (id) => pool.get('SELECT v FROM kv WHERE id = ?', [id]), close: () => pool.close() };
  }
  const db = new sqlite3.Database(file);
  const call = (method, sql, params) =>
    new Promise((resolve, reject) => db[method](sql, params, (err, row) => (err ? reject(err) : resolve(row))));
  await call('run', 'CREATE TABLE kv (id INTEGER PRIMARY KEY, v TEXT)', []);
  await call('run', 'BEGIN', []);
  for (let i = 0; i < ROWS; i++) await call('run', 'INSERT INTO kv VALUES (?, ?)', [i, `value ${i}`]);
  await call('run', 'COMMIT', []);
  return { get: (id) => call('get', 'SELECT v FROM kv WHERE id = ?', [id]), close: () => new Promise((resolve) => db.close(resolve)) };
}

const api = await open();
let count = 0;
let stop = false;
const loop = async () => {
  while (!stop) {
    await api.get((count * 7919) % ROWS);
    count++;
  }
};
/** Runs the loops for `ms`; returns reads per second. */
async function measure(ms) {
  count = 0;
  stop = false;
  const started = performance.now();
  const loops = Array.from({ length: inFlight }, loop);
  await new Promise((resolve) => setTimeout(resolve, ms));
  stop = true;
  await Promise.all(loops);
  return Math.round((count / (performance.now() - started)) * 1000);
}
await measure(500); // warm-up
const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();
const rate = await measure(Number(values.ms));
delay.disable();
console.log(
  `${values['drop-in'] ? 'node-sqlite3 drop-in (db.get)' : `pool.get${values['threads-only'] ? ' (threads only)' : ''}`}, ${inFlight} in flight: ${rate} reads/s, event-loop p99 ${(delay.percentile(99) / 1e6).toFixed(2)} ms`,
);
await api.close();
for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
