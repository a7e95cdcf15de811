#!/usr/bin/env node
// Calls queued at once through the node-sqlite3 API, as node-sqlite3's own
// test setup fills its large table and as bulk-insert code does: one loop of
// `stmt.run(...)` without waiting, in a transaction inside `serialize()`, or
// serialized without a transaction, or in parallel mode; through a prepared
// statement (`--via statement`, as node-sqlite3's setup) or `db.run` (`--via
// database`, as bulk-insert code often writes it); or (`--mode reads`) as
// many point reads at once (`db.get`, or a prepared statement's `get`) of a
// table of 10,000 rows filled first. Runs in a child
// process per module (the real `sqlite3`, then `@litepool/core/sqlite3`) so
// that each one's peak memory is its own, and prints per module: the time to
// queue the calls, the time until close() called back, the peak resident
// memory, and the rows written. Build first (`pnpm build`).
// `--modules` runs only the ones named (a million parallel calls take the
// real module about ten minutes).
//   node packages/bench/scripts/queued-calls.mjs [--calls 100000] [--mode transaction|serialized|parallel|reads] [--via statement|database]
//     [--modules sqlite3,@litepool/core/sqlite3]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const MODES = ['transaction', 'serialized', 'parallel', 'reads'];
const VIAS = ['statement', 'database'];
const MODULES = ['sqlite3', '@litepool/core/sqlite3'];
const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '100000' },
    mode: { type: 'string', default: 'transaction' },
    via: { type: 'string', default: 'statement' },
    modules: { type: 'string', default: MODULES.join(',') },
    child: { type: 'string' },
    file: { type: 'string' },
  },
});
const calls = Number(values.calls);
if (!Number.isInteger(calls) || calls < 1) throw new Error(`--calls must be a positive whole number, got ${values.calls}`);
if (!MODES.includes(values.mode)) throw new Error(`--mode must be one of ${MODES.join(', ')}, got ${values.mode}`);
if (!VIAS.includes(values.via)) throw new Error(`--via must be one of ${VIAS.join(', ')}, got ${values.via}`);
const modules = values.modules.split(',');
if (modules.length === 0 || modules.some((module) => !MODULES.includes(module)))
  throw new Error(`--modules must name some of ${MODULES.join(', ')}, got ${values.modules}`);

if (values.child === undefined) {
  const results = [];
  for (const module of modules) {
    const dir = mkdtempSync(join(tmpdir(), 'litepool-queued-'));
    try {
      const args = [
        fileURLToPath(import.meta.url),
        '--child',
        module,
        '--file',
        join(dir, 'big.db'),
        '--calls',
        values.calls,
        '--mode',
        values.mode,
        '--via',
        values.via,
      ];
      results.push(JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 20 })));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log(JSON.stringify({ calls, mode: values.mode, via: values.via, node: process.version, results }, null, 2));
} else {
  const sqlite3 = require(values.child);
  // Text of 0-99 characters appended one by one, as node-sqlite3's setup builds it; seeded, so both modules write the same rows.
  let seed = 1;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789  ';
  const text = () => {
    let value = '';
    for (let i = Math.floor(random() * 100); i > 0; i--) value += letters[Math.floor(random() * letters.length)];
    return value;
  };
  /** Queues every insert without waiting: through one prepared statement, or `db.run` each. */
  const insertAll = () => {
    if (values.via === 'database') {
      for (let i = 0; i < calls; i++) db.run('INSERT INTO foo VALUES(?, ?)', i, text());
      return;
    }
    const stmt = db.prepare('INSERT INTO foo VALUES(?, ?)');
    for (let i = 0; i < calls; i++) stmt.run(i, text());
    stmt.finalize();
  };
  let started = performance.now();
  let queuedMs;
  const db = new sqlite3.Database(values.file);
  const fill = () => {
    db.run('CREATE TABLE foo (id INT, txt TEXT)');
    if (values.mode === 'transaction') db.run('BEGIN TRANSACTION');
    insertAll();
    if (values.mode === 'transaction') db.run('COMMIT TRANSACTION');
  };
  /** Reads rows 1 to 10,000 in turn, every read at once; fails the run on a missing row or an error. */
  const readAll = () => {
    const stmt = values.via === 'database' ? undefined : db.prepare('SELECT txt FROM foo WHERE id = ?');
    let answered = 0;
    const check = (err, row) => {
      if (err) throw err;
      if (row === undefined) throw new Error('a row is missing');
      if (++answered === calls) {
        stmt?.finalize();
        report();
      }
    };
    for (let i = 0; i < calls; i++) {
      if (stmt === undefined) db.get('SELECT txt FROM foo WHERE id = ?', (i % 10_000) + 1, check);
      else stmt.get((i % 10_000) + 1, check);
    }
    queuedMs = performance.now() - started;
  };
  if (values.mode === 'reads') {
    db.exec(
      'CREATE TABLE foo (id INTEGER PRIMARY KEY, txt TEXT); WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000) INSERT INTO foo SELECT x, hex(randomblob(20)) FROM c',
      (err) => {
        if (err) throw err;
        started = performance.now();
        readAll();
      },
    );
  } else if (values.mode === 'parallel') {
    // Parallel mode: the table first, then every insert at once.
    db.run('CREATE TABLE foo (id INT, txt TEXT)', (err) => {
      if (err) throw err;
      insertAll();
      report();
    });
  } else {
    db.serialize(fill);
    report();
  }
  function report() {
    queuedMs ??= performance.now() - started;
    db.close((err) => {
      if (err) throw err;
      const doneMs = performance.now() - started;
      const check = new (require('better-sqlite3'))(values.file, { readonly: true });
      const { rows } = check.prepare('SELECT count(*) AS rows FROM foo').get();
      check.close();
      const peakMiB = process.resourceUsage().maxRSS / 1024;
      console.log(
        JSON.stringify({
          module: values.child,
          queuedMs: Math.round(queuedMs),
          doneMs: Math.round(doneMs),
          peakMiB: Math.round(peakMiB),
          rows,
        }),
      );
    });
  }
}
