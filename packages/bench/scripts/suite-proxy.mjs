#!/usr/bin/env node
// What a test suite written against node-sqlite3 pays: N "tests", each opening
// a Database on a new file, creating a table, inserting 20 rows in a
// transaction, reading them back three ways, and closing. Runs the same with
// the real sqlite3 and with the drop-in and prints each wall time and the
// ratio, with each phase's mean per test and the calling thread's CPU time
// per test (`process.threadCpuUsage`). Build first (`pnpm build`).
//   node packages/bench/scripts/suite-proxy.mjs [--tests 50] [--phases]
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const { values } = parseArgs({ options: { tests: { type: 'string', default: '50' }, phases: { type: 'boolean', default: false } } });
const tests = Number(values.tests);

function call(db, method, ...args) {
  return new Promise((resolve, reject) => db[method](...args, (err, result) => (err ? reject(err) : resolve(result))));
}

/** Runs the tests; returns the wall time, the mean ms per test of each phase and the calling thread's CPU ms per test. */
async function suite(sqlite3, dir) {
  const phases = { open: 0, create: 0, insert: 0, read: 0, close: 0 };
  const cpu = process.threadCpuUsage();
  const started = performance.now();
  let lapStart = started;
  const lap = (phase) => {
    const at = performance.now();
    phases[phase] += at - lapStart;
    lapStart = at;
  };
  for (let i = 0; i < tests; i++) {
    const db = await new Promise((resolve, reject) => {
      const opened = new sqlite3.Database(join(dir, `test-${i}.db`), (err) => (err ? reject(err) : resolve(opened)));
    });
    lap('open');
    await call(db, 'run', 'CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)');
    lap('create');
    await call(db, 'run', 'BEGIN');
    for (let r = 0; r < 20; r++) await call(db, 'run', 'INSERT INTO t (name) VALUES (?)', [`row ${r}`]);
    await call(db, 'run', 'COMMIT');
    lap('insert');
    const rows = await call(db, 'all', 'SELECT * FROM t ORDER BY id');
    const one = await call(db, 'get', 'SELECT count(*) AS n FROM t');
    if (rows.length !== 20 || one.n !== 20) throw new Error('wrong rows');
    lap('read');
    await new Promise((resolve, reject) => db.close((err) => (err ? reject(err) : resolve())));
    lap('close');
  }
  const used = process.threadCpuUsage(cpu);
  const perTest = (ms) => Number((ms / tests).toFixed(2));
  return {
    ms: performance.now() - started,
    phases: Object.fromEntries(Object.entries(phases).map(([phase, ms]) => [phase, perTest(ms)])),
    cpuMsPerTest: perTest((used.user + used.system) / 1000),
  };
}

const dir = mkdtempSync(join(tmpdir(), 'litepool-suite-proxy-'));
try {
  const real = await suite(require('sqlite3'), join(dir, ''));
  const dropIn = await suite(require('@litepool/core/sqlite3'), mkdtempSync(join(dir, 'd-')));
  const summary = { tests, realMs: Math.round(real.ms), dropInMs: Math.round(dropIn.ms), ratio: Number((dropIn.ms / real.ms).toFixed(2)) };
  const phases = { real: { ...real.phases, cpu: real.cpuMsPerTest }, dropIn: { ...dropIn.phases, cpu: dropIn.cpuMsPerTest } };
  console.log(JSON.stringify(values.phases ? { ...summary, msPerTest: phases } : summary));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
