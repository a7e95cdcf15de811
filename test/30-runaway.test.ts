/**
 * Statements that never end are stopped: a statement timeout or an
 * AbortSignal interrupts them (SQLite's own interrupt, through the
 * litepool_interrupt extension), nothing queued behind them waits for them,
 * close() and destroy() settle within their bounds, and a process can exit.
 */
import { AbortError, StatementTimeoutError, TransactionError } from '@litepool/core';
import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { testPool, within } from './helpers/pool.js';
import { tempDb } from './helpers/temp.js';

const RUNAWAY = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) AS n FROM c';
const RUNAWAY_WRITE = 'INSERT INTO t (v) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c';
const helper = join(dirname(fileURLToPath(import.meta.url)), 'helpers', 'runaway-exit.mjs');

function timedOut(limit: number): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof StatementTimeoutError, String(error));
    assert.equal(error.code, 'ERR_STATEMENT_TIMEOUT');
    assert.equal(error.message, `The statement ran longer than ${limit} ms and was interrupted (statementTimeoutMs)`);
    return true;
  };
}

test('statementTimeoutMs interrupts a runaway read; the reader serves the reads queued behind it', async (t) => {
  const pool = testPool(t, { statementTimeoutMs: 300, readers: 1 });
  await pool.exec('CREATE TABLE t (v INTEGER)');
  const runaway = pool.get(RUNAWAY);
  const behind = Array.from({ length: 10 }, (_, i) => pool.get('SELECT ? AS i', [i]));
  await assert.rejects(within(10_000, runaway, 'the runaway read'), timedOut(300));
  assert.deepEqual(
    await within(10_000, Promise.all(behind), 'reads queued behind it'),
    Array.from({ length: 10 }, (_, i) => ({ i })),
  );
  // A call's own timeoutMs overrides the pool's.
  await assert.rejects(within(10_000, pool.get(RUNAWAY, [], { timeoutMs: 100 }), 'a call with its own limit'), timedOut(100));
});

test('a runaway write is interrupted: nothing of it is written, and the writer serves on', async (t) => {
  const pool = testPool(t, { statementTimeoutMs: 300 });
  await pool.exec('CREATE TABLE t (v INTEGER)');
  const next = [pool.run('INSERT INTO t VALUES (-1)')];
  const runaway = pool.run(RUNAWAY_WRITE);
  next.push(pool.run('INSERT INTO t VALUES (-2)'));
  await assert.rejects(within(10_000, runaway, 'the runaway write'), timedOut(300));
  await within(10_000, Promise.all(next), 'writes beside it');
  assert.deepEqual(await pool.all('SELECT v FROM t ORDER BY v'), [{ v: -2 }, { v: -1 }]);
});

test('under group commit, the interrupted write fails alone; the writes of its group commit', async (t) => {
  const pool = testPool(t, { strategy: 'single-writer', statementTimeoutMs: 300 });
  await pool.exec('CREATE TABLE t (v INTEGER)');
  const held = await pool.acquire({ write: true }); // so that all four queue into one group
  const calls = [
    pool.run('INSERT INTO t VALUES (1)'),
    pool.run(RUNAWAY_WRITE),
    pool.run('INSERT INTO t VALUES (2)'),
    pool.run('INSERT INTO t VALUES (3)'),
  ];
  await held.release();
  const results = await within(15_000, Promise.allSettled(calls), 'the group');
  assert.deepEqual(
    results.map((result) => result.status),
    ['fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
  );
  assert.ok(timedOut(300)((results[1] as PromiseRejectedResult).reason));
  assert.deepEqual(await pool.all('SELECT v FROM t ORDER BY v'), [{ v: 1 }, { v: 2 }, { v: 3 }]);
});

/**
 * A write (statement timeout 300 ms) sent while another connection holds the
 * write lock for 1 s: asserts its caller is not answered meanwhile (SQLite's
 * busy wait cannot be interrupted, and the write might still commit), then
 * frees the lock. Returns the write and the other connection.
 */
async function writeBehindForeignLock(
  t: TestContext,
  strategy: 'wal' | 'single-writer',
): Promise<{ write: Promise<unknown>; other: Database.Database }> {
  const filename = tempDb(t);
  const pool = testPool(t, { filename, busyTimeoutMs: 20_000, statementTimeoutMs: 300, readers: 0, strategy });
  await pool.exec('CREATE TABLE t (v INTEGER)');
  const other = new Database(filename);
  t.after(() => other.close());
  other.exec('BEGIN IMMEDIATE');
  const write = pool.run('INSERT INTO t VALUES (1)');
  let settled = false;
  void write.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  assert.equal(settled, false, 'the caller is not answered while the write might still commit');
  other.exec('ROLLBACK');
  return { write, other };
}

test("a write waiting for another connection's lock is told the timeout only once it has really stopped: nothing is written", async (t) => {
  const { write, other } = await writeBehindForeignLock(t, 'wal');
  await assert.rejects(within(10_000, write, 'the write after the lock frees'), timedOut(300));
  assert.deepEqual(other.prepare('SELECT count(*) AS n FROM t').get(), { n: 0 });
});

test('under group commit (single-writer), a write that waited for the lock past its timeout runs once the lock frees, and its caller is told so', async (t) => {
  // The group's BEGIN IMMEDIATE waits for the lock: the statement itself has not started, so its time limit has not either.
  const { write, other } = await writeBehindForeignLock(t, 'single-writer');
  await within(10_000, write, 'the write after the lock frees');
  assert.deepEqual(other.prepare('SELECT count(*) AS n FROM t').get(), { n: 1 });
});

test('a timeout inside a transaction rolls the transaction back; the writer is free afterwards', async (t) => {
  const pool = testPool(t, { statementTimeoutMs: 300, acquireTimeoutMs: 5_000 });
  await pool.exec('CREATE TABLE t (v INTEGER)');
  await assert.rejects(
    pool.transaction(async (tx) => {
      await tx.run('INSERT INTO t VALUES (1)');
      await assert.rejects(tx.run(RUNAWAY_WRITE), timedOut(300));
      // SQLite ended the transaction with the interrupted write: the next statement says so instead of autocommitting.
      await tx.run('INSERT INTO t VALUES (2)');
    }),
    (error: unknown) => {
      assert.ok(error instanceof TransactionError, String(error));
      assert.equal(error.code, 'ERR_TRANSACTION_ABORTED');
      return true;
    },
  );
  await within(5_000, pool.run('INSERT INTO t VALUES (3)'), 'a write after it');
  assert.deepEqual(await pool.all('SELECT v FROM t'), [{ v: 3 }]);
});

test('an AbortSignal stops a running statement, and a queued call never runs', async (t) => {
  const pool = testPool(t, { statementTimeoutMs: 0, readers: 1 });
  await pool.exec('CREATE TABLE t (v INTEGER)');
  const controller = new AbortController();
  const running = pool.get(RUNAWAY, [], { signal: controller.signal });
  const held = await pool.acquire({ write: true });
  const queuedController = new AbortController();
  const queued = pool.run('INSERT INTO t VALUES (1)', [], { signal: queuedController.signal });
  setTimeout(() => {
    controller.abort(new Error('user left'));
    queuedController.abort();
  }, 200);
  const outcomes = await within(10_000, Promise.allSettled([running, queued]), 'aborted calls');
  for (const outcome of outcomes) {
    const error = (outcome as PromiseRejectedResult).reason as AbortError;
    assert.ok(error instanceof AbortError, String(error));
    assert.equal(error.code, 'ABORT_ERR');
  }
  await held.release();
  assert.equal((await pool.get<{ n: number }>('SELECT count(*) AS n FROM t'))!.n, 0);
  await assert.rejects(pool.get('SELECT 1', [], { signal: AbortSignal.abort() }), AbortError);
});

test('close() with a runaway statement and no timeout settles within its bound; destroy() within a second', async (t) => {
  for (const how of ['close', 'destroy'] as const) {
    const pool = testPool(t, { statementTimeoutMs: 0, readers: 1 });
    const runaway = pool.get(RUNAWAY);
    runaway.catch(() => {});
    await pool.exec('CREATE TABLE IF NOT EXISTS t (v)');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = performance.now();
    await within(how === 'close' ? 5_000 : 2_000, how === 'close' ? pool.close({ timeoutMs: 500 }) : pool.destroy(), `${how}()`);
    t.diagnostic(`${how}() with a runaway statement settled in ${Math.round(performance.now() - started)} ms`);
    await assert.rejects(runaway, { code: 'ERR_POOL_CLOSED' });
    assert.equal(pool.stats().state, 'closed');
  }
});

test('a process with a runaway statement exits by itself: after close(), after destroy(), and at process.exit()', (t) => {
  for (const how of ['close', 'destroy', 'exit']) {
    const started = performance.now();
    const result = spawnSync(process.execPath, [helper, tempDb(t), how], { encoding: 'utf8', timeout: 30_000 });
    t.diagnostic(
      `${how}: exited ${String(result.status ?? result.signal)} after ${Math.round(performance.now() - started)} ms: ${result.stdout.trim().replace(/\n/g, '; ')}`,
    );
    assert.equal(result.signal, null, `${how}: the process had to be killed (it did not exit by itself)`);
    assert.equal(result.status, 0, `${how}: ${result.stderr.slice(-1000)}`);
    if (how !== 'exit') assert.match(result.stdout, new RegExp(`${how} settled in \\d+ ms`));
  }
});
