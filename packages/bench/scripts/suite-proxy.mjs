#!/usr/bin/env node
// What a test suite written against node-sqlite3 pays: N "tests", each opening
// a Database on a new file, creating a table, inserting 20 rows in a
// transaction, reading them back three ways, and closing. Runs the same with
// the real sqlite3 and with the drop-in and prints each wall time and the
// ratio. Build first (`pnpm build`).
//   node packages/bench/scripts/suite-proxy.mjs [--tests 50]
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const { values } = parseArgs({ options: { tests: { type: 'string', default: '50' } } });
const tests = Number(values.tests);

function call(db, method, ...args) {
  return new Promise((resolve, reject) => db[method](...args, (err, result) => (err ? reject(err) : resolve(result))));
}

async function suite(sqlite3, dir) {
  const started = performance.now();
  for (let i = 0; i < tests; i++) {
    const db = await new Promise((resolve, reject) => {
      const opened = new sqlite3.Database(join(dir, `test-${i}.db`), (err) => (err ? reject(err) : resolve(opened)));
    });
    await call(db, 'run', 'CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)');
    await call(db, 'run', 'BEGIN');
    for (let r = 0; r < 20; r++) await call(db, 'run', 'INSERT INTO t (name) VALUES (?)', [`row ${r}`]);
    await call(db, 'run', 'COMMIT');
    const rows = await call(db, 'all', 'SELECT * FROM t ORDER BY id');
    const one = await call(db, 'get', 'SELECT count(*) AS n FROM t');
    if (rows.length !== 20 || one.n !== 20) throw new Error('wrong rows');
    await new Promise((resolve, reject) => db.close((err) => (err ? reject(err) : resolve())));
  }
  return performance.now() - started;
}

const dir = mkdtempSync(join(tmpdir(), 'litepool-suite-proxy-'));
try {
  const real = await suite(require('sqlite3'), join(dir, ''));
  const dropIn = await suite(require('@litepool/core/sqlite3'), mkdtempSync(join(dir, 'd-')));
  console.log(JSON.stringify({ tests, realMs: Math.round(real), dropInMs: Math.round(dropIn), ratio: Number((dropIn / real).toFixed(2)) }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
