#!/usr/bin/env node
// Long streams: a young pool's first stream of a file that exists already,
// and a stream's steady cost. Makes two files of --rows rows (three columns):
// one in WAL mode, one in rollback-journal mode. Each round runs in a fresh
// process (so each is a process's first stream) and times the first row and
// the last: `pool.iterate` on the WAL file, then `each` on a read-only
// node-sqlite3 Database of the other file, through the drop-in and through the
// real sqlite3. Then, in this process, `pool.iterate` of every row five times
// after one warm-up: the median pass and the process's CPU per pass. Prints
// JSON. Build first (`pnpm build`).
//   node packages/bench/scripts/long-streams.mjs [--rounds 5] [--rows 100000]
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { freshRounds, median, roundsOption } from './fresh-rounds.mjs';

const require = createRequire(import.meta.url);
const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '5' }, rows: { type: 'string', default: '100000' }, child: { type: 'string' } },
});
const SQL = 'SELECT id, txt, n FROM t';
const ms = (since) => Math.round((performance.now() - since) * 10) / 10;

/** A file of `rows` rows in `journalMode`. */
function makeFile(path, rows, journalMode) {
  const db = new Database(path);
  db.pragma(`journal_mode = ${journalMode}`);
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, txt TEXT, n REAL)');
  const insert = db.prepare('INSERT INTO t (txt, n) VALUES (?, ?)');
  db.transaction(() => {
    for (let i = 0; i < rows; i++) insert.run(`row number ${i}`, i / 3);
  })();
  db.close();
}

/** One round, in this (fresh) process: ms to the first row and to the last. */
async function round(subject, file) {
  const started = performance.now();
  let first;
  if (subject === 'pool') {
    const { createPool } = await import('@litepool/core');
    const pool = createPool({ filename: file });
    for await (const row of pool.iterate(SQL)) {
      void row;
      first ??= ms(started);
    }
    const last = ms(started);
    await pool.close();
    return { first, last };
  }
  const sqlite3 = require(subject === 'drop-in' ? '@litepool/core/sqlite3' : 'sqlite3');
  const db = await new Promise((resolve, reject) => {
    const opened = new sqlite3.Database(file, sqlite3.OPEN_READONLY, (err) => (err ? reject(err) : resolve(opened)));
  });
  await new Promise((resolve, reject) =>
    db.each(
      SQL,
      () => (first ??= ms(started)),
      (err) => (err ? reject(err) : resolve()),
    ),
  );
  const last = ms(started);
  await new Promise((resolve) => db.close(resolve));
  return { first, last };
}

/** `pool.iterate` of every row of `file`, once to warm up, then five times: the median pass and CPU per pass. */
async function steady(file) {
  const { createPool } = await import('@litepool/core');
  const pool = createPool({ filename: file });
  const pass = async () => {
    for await (const row of pool.iterate(SQL)) void row;
  };
  await pass();
  const passes = [];
  const cpu = process.cpuUsage();
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    await pass();
    passes.push(ms(started));
  }
  const { user, system } = process.cpuUsage(cpu);
  await pool.close();
  return { medianMs: median(passes), passesMs: passes, cpuMsPerPass: Math.round((user + system) / 5000) };
}

if (values.child !== undefined) {
  const [subject, file] = JSON.parse(values.child);
  console.log(JSON.stringify(await round(subject, file)));
} else {
  const rounds = roundsOption(values.rounds);
  const rows = Number(values.rows);
  if (!Number.isInteger(rows) || rows < 1) throw new Error(`--rows must be a whole number above 0, got ${values.rows}`);
  const dir = mkdtempSync(join(tmpdir(), 'litepool-long-streams-'));
  const script = new URL(import.meta.url).pathname;
  const files = { wal: join(dir, 'wal.db'), rollback: join(dir, 'rollback.db') };
  const report = { rows };
  try {
    makeFile(files.wal, rows, 'WAL');
    makeFile(files.rollback, rows, 'DELETE');
    for (const subject of ['pool', 'drop-in', 'sqlite3']) {
      report[subject] = freshRounds(script, rounds, subject, () => [subject, subject === 'pool' ? files.wal : files.rollback]);
    }
    report.steady = await steady(files.wal);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(JSON.stringify(report, null, 2));
}
