#!/usr/bin/env node
// The first calls of a process, as an app or a test file makes them on a new
// file: litepool's pool (create, a schema write, then at once a read and a
// stream of 3 rows) and a node-sqlite3 Database (open, two `run`s, `get`,
// `each`), through the drop-in and through the real sqlite3. Each round runs
// in a fresh process, so every one is a process's first; prints each step's
// ms per round and their medians, as JSON. Build first (`pnpm build`).
//   node packages/bench/scripts/first-calls.mjs [--rounds 5]
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freshRounds, roundsOption } from './fresh-rounds.mjs';

const require = createRequire(import.meta.url);
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, child: { type: 'string' } } });
const lap = (() => {
  let last = performance.now();
  return () => {
    const now = performance.now();
    const ms = Math.round((now - last) * 10) / 10;
    last = now;
    return ms;
  };
})();

/** One round, in this (fresh) process: the steps' ms. */
async function round(subject, file) {
  if (subject === 'pool') {
    const { createPool } = await import('@litepool/core');
    lap();
    const pool = createPool({ filename: file });
    await pool.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1), (2), (3)');
    const schema = lap();
    await pool.get('SELECT count(*) AS n FROM t');
    const get = lap();
    for await (const row of pool.iterate('SELECT x FROM t')) void row;
    const iterate = lap();
    await pool.close();
    return { schema, get, iterate };
  }
  const sqlite3 = require(subject === 'drop-in' ? '@litepool/core/sqlite3' : 'sqlite3');
  const call = (db, method, sql) =>
    new Promise((resolve, reject) =>
      method === 'each'
        ? db.each(
            sql,
            () => {},
            (err) => (err ? reject(err) : resolve()),
          )
        : db[method](sql, (err) => (err ? reject(err) : resolve())),
    );
  lap();
  const db = await new Promise((resolve, reject) => {
    const opened = new sqlite3.Database(file, (err) => (err ? reject(err) : resolve(opened)));
  });
  const open = lap();
  await call(db, 'run', 'CREATE TABLE t (x)');
  await call(db, 'run', 'INSERT INTO t VALUES (1), (2), (3)');
  const schema = lap();
  await call(db, 'get', 'SELECT count(*) AS n FROM t');
  const get = lap();
  await call(db, 'each', 'SELECT x FROM t');
  const each = lap();
  await new Promise((resolve) => db.close(resolve));
  return { open, schema, get, each };
}

if (values.child !== undefined) {
  const [subject, file] = JSON.parse(values.child);
  console.log(JSON.stringify(await round(subject, file)));
} else {
  const rounds = roundsOption(values.rounds);
  const dir = mkdtempSync(join(tmpdir(), 'litepool-first-calls-'));
  const script = new URL(import.meta.url).pathname;
  const report = {};
  try {
    for (const subject of ['pool', 'drop-in', 'sqlite3']) {
      report[subject] = freshRounds(script, rounds, subject, (i) => [subject, join(dir, `${subject}-${i}.db`)]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(JSON.stringify(report, null, 2));
}
