#!/usr/bin/env node
// A second and a third database opened while the first is still open, as an
// app with two databases or an ORM with two connections does: the first one
// is opened and read, then (200 ms later each) a second and a third, each on a
// new file, are opened and read once. Prints the ms from each open to its
// first answer, per round and their medians, as JSON; every round runs in a
// fresh process. Subjects: litepool's pool, node-sqlite3 through the drop-in,
// the real sqlite3. Build first (`pnpm build`).
//   node packages/bench/scripts/second-pool.mjs [--rounds 5]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, child: { type: 'string' } } });
const GAP_MS = 200;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Opens `file` with `subject` and reads once: the database (to close) and the ms it took. */
async function openAndRead(subject, file) {
  const start = performance.now();
  if (subject === 'pool') {
    const { createPool } = await import('@litepool/core');
    const pool = createPool({ filename: file });
    await pool.get('SELECT 1 AS one');
    return { ms: performance.now() - start, close: () => pool.close() };
  }
  const sqlite3 = require(subject === 'drop-in' ? '@litepool/core/sqlite3' : 'sqlite3');
  const db = await new Promise((resolve, reject) => {
    const opened = new sqlite3.Database(file, (err) => (err ? reject(err) : resolve(opened)));
  });
  await new Promise((resolve, reject) => db.get('SELECT 1 AS one', (err) => (err ? reject(err) : resolve())));
  return { ms: performance.now() - start, close: () => new Promise((resolve) => db.close(resolve)) };
}

/** One round, in this (fresh) process: each database's ms to its first answer. */
async function round(subject, dir) {
  const opened = [];
  for (const name of ['first', 'second', 'third']) {
    if (opened.length > 0) await sleep(GAP_MS);
    opened.push(await openAndRead(subject, join(dir, `${subject}-${name}.db`)));
  }
  await Promise.all(opened.map((db) => db.close()));
  const [first, second, third] = opened.map((db) => Math.round(db.ms * 10) / 10);
  return { first, second, third };
}

if (values.child !== undefined) {
  const [subject, dir] = JSON.parse(values.child);
  console.log(JSON.stringify(await round(subject, dir)));
} else {
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a whole number above 0, got ${values.rounds}`);
  const script = new URL(import.meta.url).pathname;
  const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];
  const report = {};
  for (const subject of ['pool', 'drop-in', 'sqlite3']) {
    const runs = [];
    for (let i = 0; i < rounds; i++) {
      const dir = mkdtempSync(join(tmpdir(), 'litepool-second-pool-'));
      try {
        const child = spawnSync(process.execPath, [script, '--child', JSON.stringify([subject, dir])], {
          encoding: 'utf8',
          timeout: 60_000,
        });
        if (child.status !== 0) throw new Error(`${subject} round ${i} failed: ${child.stderr.slice(-1000)}`);
        runs.push(JSON.parse(child.stdout));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    report[subject] = {
      rounds: runs,
      median: Object.fromEntries(['first', 'second', 'third'].map((key) => [key, median(runs.map((run) => run[key]))])),
    };
  }
  console.log(JSON.stringify(report, null, 2));
}
