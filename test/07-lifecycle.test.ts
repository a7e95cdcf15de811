/** close() drains, destroy() rejects; use after close is a typed error. */
import { PoolClosedError, createPool } from '@litepool/core';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { testPool, tick, within } from './helpers/pool.js';
import { slowWorker } from './helpers/slow-worker.js';
import { tempDb } from './helpers/temp.js';

test('close(): queued work finishes, new work rejects with ERR_POOL_CLOSED', async (t) => {
  const pool = testPool(t);
  await pool.exec('CREATE TABLE c (v INTEGER)');
  const writes = Array.from({ length: 100 }, (_, i) => pool.run('INSERT INTO c VALUES (?)', [i]));
  const reads = Array.from({ length: 100 }, () => pool.get('SELECT 1 AS one'));
  const transaction = pool.transaction(async (tx) => {
    await tick();
    await tx.run('INSERT INTO c VALUES (-1)');
  });
  const closing = pool.close();
  assert.equal(pool.close(), closing, 'close() is idempotent');
  await assert.rejects(pool.get('SELECT 1'), (error: unknown) => {
    assert.ok(error instanceof PoolClosedError);
    assert.equal(error.code, 'ERR_POOL_CLOSED');
    assert.equal(error.message, 'The pool is closing');
    return true;
  });
  await Promise.all([...writes, ...reads, transaction]);
  await closing;
  assert.equal(pool.stats().state, 'closed');
  await assert.rejects(pool.run('INSERT INTO c VALUES (0)'), { code: 'ERR_POOL_CLOSED', message: 'The pool is closed' });
  await assert.rejects(
    pool.transaction(async () => {}),
    PoolClosedError,
  );
  await assert.rejects(pool.acquire(), PoolClosedError);
  await assert.rejects(pool.iterate('SELECT 1').next(), PoolClosedError);

  const check = createPool({ filename: pool.options.filename });
  t.after(() => check.close());
  assert.deepEqual(await check.get('SELECT count(*) AS n FROM c'), { n: 101 });
});

test('close() waits for an open lease; the WAL is cleaned up after the last connection', async (t) => {
  const filename = tempDb(t);
  const pool = createPool({ filename });
  await pool.exec('CREATE TABLE c (v INTEGER)');
  const lease = await pool.acquire({ write: true });
  let closed = false;
  const closing = pool.close().then(() => (closed = true));
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(closed, false);
  await lease.run('INSERT INTO c VALUES (1)'); // the lease still works while the pool drains
  void lease.release();
  await within(5000, closing, 'close after release');
  assert.equal(existsSync(`${filename}-wal`), false);
});

test('close() of a pool never used starts no threads and resolves', async (t) => {
  const pool = createPool({ filename: tempDb(t) });
  await within(2000, pool.close(), 'close of an unused pool');
  assert.equal(pool.stats().state, 'closed');
});

test('close() does not wait for a connection still opening that nothing waits for any more: its thread is stopped', async (t) => {
  const { workerFile, marker } = slowWorker(t);
  const pool = createPool({ filename: tempDb(t), workerFile });
  const stop = new AbortController();
  const lease = pool.acquire({ write: true, signal: stop.signal });
  await tick();
  stop.abort();
  await assert.rejects(lease, { code: 'ABORT_ERR' });
  await pool.close();
  assert.equal(pool.stats().state, 'closed');
  assert.equal(existsSync(marker), false, 'close() waited for the thread that was starting');
});

test('destroy(reason): queued work and open leases reject now, with the reason as cause', async (t) => {
  const pool = testPool(t);
  await pool.exec('CREATE TABLE d (v INTEGER)');
  const lease = await pool.acquire({ write: true });
  const queued = [pool.run('INSERT INTO d VALUES (1)'), pool.transaction(async () => {})];
  const reason = new Error('shutting down');
  const destroying = pool.destroy(reason);
  for (const result of await Promise.allSettled(queued)) {
    assert.equal(result.status, 'rejected');
    const error = result.reason as PoolClosedError;
    assert.ok(error instanceof PoolClosedError);
    assert.equal(error.message, 'The pool was destroyed');
    assert.equal(error.cause, reason);
  }
  await assert.rejects(lease.get('SELECT 1'), (error: unknown) => error instanceof PoolClosedError && error.cause === reason);
  await within(5000, destroying, 'destroy');
  assert.equal(pool.stats().state, 'closed');
});

test('destroy() lets a statement already running finish', async (t) => {
  const pool = testPool(t);
  const running = pool.get<{ s: number }>(
    'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) SELECT sum(x) AS s FROM c',
  );
  await tick();
  await tick();
  const destroyed = pool.destroy();
  const outcome = await Promise.allSettled([running]);
  await destroyed;
  // Either it was still queued (rejected as destroyed) or it was running and finished with the right answer.
  const [result] = outcome;
  if (result.status === 'fulfilled') assert.equal(result.value?.s, (300000 * 300001) / 2);
  else assert.equal((result.reason as PoolClosedError).code, 'ERR_POOL_CLOSED');
});

test('a pool works from `node --input-type=module -e …`, with V8 and process-wide options too (workers must not inherit --input-type)', () => {
  const file = join(tmpdir(), `litepool-eval-${process.pid}.db`);
  const code = `import { createPool } from '@litepool/core';
const pool = createPool({ filename: ${JSON.stringify(file)} });
console.log(JSON.stringify(await pool.get('SELECT 6 * 7 AS answer')));
await pool.close();`;
  // Without --input-type a worker inherits the parent's options less what it cannot take; with it, it is given them
  // as a list, in which Node refuses a V8 or process-wide option outright: those are dropped, as inheriting drops them.
  for (const options of [[], ['--max-old-space-size=300', '--title=litepool-eval']]) {
    const output = execFileSync(process.execPath, [...options, '--input-type=module', '-e', code], {
      cwd: import.meta.dirname,
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.deepEqual(JSON.parse(output), { answer: 42 }, options.join(' '));
  }
  rmSync(file, { force: true });
});

test('a transaction left open does not keep the process alive (SQLite rolls it back), a statement in flight on a lease does', async (t) => {
  const filename = tempDb(t);
  const setup = createPool({ filename });
  await setup.exec('CREATE TABLE t (v)');
  await setup.close();
  const scripts = {
    // The process ends with the lease out, its transaction open: nothing is in flight.
    lease: `import { createPool } from '@litepool/core';
const pool = createPool({ filename: ${JSON.stringify(filename)} });
const lease = await pool.acquire({ write: true });
await lease.run('BEGIN');
await lease.run("INSERT INTO t VALUES ('lease')");
console.log('left open');`,
    // As with node-sqlite3: a Database whose BEGIN was never committed, and a statement stepped once and kept.
    sqlite3: `import sqlite3 from '@litepool/core/sqlite3';
const db = new sqlite3.Database(${JSON.stringify(filename)});
const stmt = db.prepare('SELECT 1 AS one UNION ALL SELECT 2');
stmt.get(() => db.run('BEGIN', () => db.run("INSERT INTO t VALUES ('sqlite3')", () => console.log('left open'))));`,
    // The only thing left is a statement running on a lease: the process waits for its answer.
    inFlight: `import { createPool } from '@litepool/core';
const pool = createPool({ filename: ${JSON.stringify(filename)} });
const lease = await pool.acquire();
lease.get('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000) SELECT count(*) AS n FROM c')
  .then((row) => console.log(JSON.stringify(row)));`,
  };
  const output = (code: string): string =>
    // A process kept alive by the pool is killed by the timeout: execFileSync then throws.
    execFileSync(process.execPath, ['--input-type=module', '-e', code], { cwd: import.meta.dirname, encoding: 'utf8', timeout: 30_000 });
  assert.match(output(scripts.lease), /left open/);
  assert.match(output(scripts.sqlite3), /left open/);
  assert.match(output(scripts.inFlight), /\{"n":2000000\}/);
  const check = createPool({ filename });
  t.after(() => check.close());
  assert.deepEqual(await check.all('SELECT v FROM t'), [], 'both transactions rolled back');
});

test('an idle pool never closed does not keep the process alive (nor does an unclosed node-sqlite3 Database)', (t) => {
  const filename = tempDb(t);
  const scripts = {
    pool: `import { createPool } from '@litepool/core';
const pool = createPool({ filename: ${JSON.stringify(filename)}, readers: 2 });
await pool.run('CREATE TABLE IF NOT EXISTS t (v)');
await pool.run('INSERT INTO t VALUES (1)');
console.log(JSON.stringify(await pool.get('SELECT count(*) AS n FROM t')));`,
    sqlite3: `import sqlite3 from '@litepool/core/sqlite3';
const db = new sqlite3.Database(${JSON.stringify(filename)});
db.get('SELECT count(*) AS n FROM t', (err, row) => console.log(JSON.stringify(err ?? row)));`,
  };
  for (const [name, code] of Object.entries(scripts)) {
    // A process kept alive by the pool is killed by the timeout: execFileSync then throws.
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', code], {
      cwd: import.meta.dirname,
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.match(output, /\{"n":1\}/, name);
  }
});
