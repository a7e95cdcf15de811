#!/usr/bin/env node
// The first calls of a process, as an app or a test file makes them on a new
// file: litepool's pool (create, a schema write, then at once a read and a
// stream of 3 rows) and a node-sqlite3 Database (open, two `run`s, `get`,
// `each`), through the drop-in and through the real sqlite3. Each round runs
// in a fresh process, so every one is a process's first; prints each step's
// ms per round and their medians, as JSON. Build first (`pnpm build`).
//   node packages/bench/scripts/first-calls.mjs [--rounds 5]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

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
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a whole number above 0, got ${values.rounds}`);
  const dir = mkdtempSync(join(tmpdir(), 'litepool-first-calls-'));
  const script = new URL(import.meta.url).pathname;
  const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];
  const report = {};
  try {
    for (const subject of ['pool', 'drop-in', 'sqlite3']) {
      const runs = [];
      for (let i = 0; i < rounds; i++) {
        const child = JSON.stringify([subject, join(dir, `${subject}-${i}.db`)]);
        const result = spawnSync(process.execPath, [script, '--child', child], { encoding: 'utf8', timeout: 60_000 });
        if (result.status !== 0) throw new Error(`${subject} round ${i} failed (${result.status}): ${result.stderr}`);
        runs.push(JSON.parse(result.stdout));
      }
      const steps = Object.keys(runs[0]);
      report[subject] = Object.fromEntries(
        steps.map((step) => [step, { median: median(runs.map((run) => run[step])), runs: runs.map((run) => run[step]) }]),
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(JSON.stringify(report, null, 2));
}
