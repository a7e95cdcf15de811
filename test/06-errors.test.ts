/** Error paths: timeouts, queue limits, aborts, open failures, worker crashes. */
import {
  AbortError,
  AcquireTimeoutError,
  LitepoolError,
  QueueFullError,
  SqliteError,
  WorkerCrashedError,
  createPool,
} from '@litepool/core';
import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { test } from 'node:test';
import { testPool, within } from './helpers/pool.js';
import { tempDir } from './helpers/temp.js';

/**
 * Runs `step` until it does not time out waiting for a connection (at most 200
 * times). A 100 ms acquire limit is tight on a loaded machine for steps that
 * must succeed (opening the first connection, taking a free writer); only the
 * waits the test is about are expected to time out.
 */
async function eventually<T>(step: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await step();
    } catch (error) {
      if (!(error instanceof AcquireTimeoutError) || attempt >= 200) throw error;
    }
  }
}

test('acquireTimeoutMs: waiting behind a held writer fails with ERR_ACQUIRE_TIMEOUT', async (t) => {
  const pool = testPool(t, { acquireTimeoutMs: 100 });
  await eventually(() => pool.exec('CREATE TABLE x (v INTEGER)'));
  const held = await eventually(() => pool.acquire({ write: true }));
  try {
    const started = performance.now();
    await assert.rejects(pool.run('INSERT INTO x VALUES (1)'), (error: unknown) => {
      assert.ok(error instanceof AcquireTimeoutError);
      assert.equal(error.code, 'ERR_ACQUIRE_TIMEOUT');
      assert.equal(error.message, 'No connection became free within 100 ms (acquireTimeoutMs)');
      // Nothing failed underneath: no own `cause` (util.inspect would print `[cause]: undefined`).
      assert.equal(Object.hasOwn(error, 'cause'), false);
      assert.doesNotMatch(inspect(error), /\[cause\]/);
      return true;
    });
    assert.ok(performance.now() - started >= 90);
    await assert.rejects(pool.acquire({ write: true }), AcquireTimeoutError);
    await assert.rejects(
      pool.transaction(async () => {}),
      AcquireTimeoutError,
    );
  } finally {
    await held.release();
  }
  await eventually(() => pool.run('INSERT INTO x VALUES (1)'));
  assert.deepEqual(await eventually(() => pool.get('SELECT count(*) AS n FROM x')), { n: 1 });
});

test('maxQueue: requests beyond the limit fail with ERR_QUEUE_FULL, the queued ones still run', async (t) => {
  const pool = testPool(t, { maxQueue: 2 });
  await pool.exec('CREATE TABLE x (v INTEGER)');
  const held = await pool.acquire({ write: true });
  const queued = [pool.run('INSERT INTO x VALUES (1)'), pool.run('INSERT INTO x VALUES (2)')];
  await assert.rejects(pool.run('INSERT INTO x VALUES (3)'), (error: unknown) => {
    assert.ok(error instanceof QueueFullError);
    assert.equal(error.message, 'The queue is full: 2 requests are already waiting (maxQueue)');
    return true;
  });
  void held.release();
  await Promise.all(queued);
  assert.deepEqual(await pool.get('SELECT count(*) AS n FROM x'), { n: 2 });
});

test('acquire({ signal }): aborting stops the wait with ABORT_ERR and leaks nothing', async (t) => {
  const pool = testPool(t);
  const held = await pool.acquire({ write: true });
  const controller = new AbortController();
  const waiting = pool.acquire({ write: true, signal: controller.signal });
  controller.abort(new Error('user gave up'));
  await assert.rejects(waiting, (error: unknown) => {
    assert.ok(error instanceof AbortError);
    assert.equal(error.code, 'ABORT_ERR');
    assert.equal((error.cause as Error).message, 'user gave up');
    return true;
  });
  await assert.rejects(pool.acquire({ write: true, signal: AbortSignal.abort() }), { code: 'ABORT_ERR' });
  void held.release();
  const next = await within(2000, pool.acquire({ write: true }), 'acquire after an abort');
  await next.release();
  assert.equal(pool.stats().queued, 0);
});

test('one signal shared by many calls: a listener per holder, not per call; its abort answers every call waiting or running', async (t) => {
  const pool = testPool(t, { readers: 1, inlineReads: false });
  await pool.exec('CREATE TABLE w (v INTEGER)');
  const controller = new AbortController();
  const { signal } = controller;
  // Two slow reads running on the reader, 300 writes waiting behind a held writer, all with the same signal.
  const slow = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50000000) SELECT sum(x) AS s FROM c';
  const reads = [pool.get(slow, [], { signal }), pool.get(`${slow} -- again`, [], { signal })];
  const held = await pool.acquire({ write: true });
  const writes = Array.from({ length: 300 }, (_, i) => pool.run('INSERT INTO w VALUES (?)', [i], { signal }));
  await within(
    5000,
    (async () => {
      while (pool.stats().queuedWrites < 300) await new Promise((resolve) => setTimeout(resolve, 5));
    })(),
    'the writes queueing',
  );
  // The wait queue and each connection's requests in flight hold one listener each, however many calls carry the signal.
  assert.ok(getEventListeners(signal, 'abort').length <= 4, `${getEventListeners(signal, 'abort').length} abort listeners`);
  controller.abort(new Error('client went away'));
  const outcomes = await within(5000, Promise.allSettled([...reads, ...writes]), 'every call answered after the abort');
  for (const outcome of outcomes) {
    assert.equal(outcome.status, 'rejected');
    assert.equal((outcome.reason as AbortError).code, 'ABORT_ERR');
    assert.equal(((outcome.reason as AbortError).cause as Error).message, 'client went away');
  }
  await held.release();
  // Nothing aborted ran; the pool serves the next calls, and an unrelated signal still works.
  assert.deepEqual(await pool.get('SELECT count(*) AS n FROM w'), { n: 0 });
  assert.deepEqual(await pool.run('INSERT INTO w VALUES (1)', [], { signal: new AbortController().signal }), {
    changes: 1,
    lastInsertRowid: 1,
  });
  assert.equal(pool.stats().queued, 0);
});

test('an abort that lands while a connection is being reopened for the caller leaks nothing', async (t) => {
  // A lease that creates a TEMP table makes the writer reopen before its next lease, under the strategy's
  // hold; a setup function that takes 60 ms keeps that reopen going when the caller's abort lands.
  const setup = join(tempDir(t), 'slow-setup.mjs');
  writeFileSync(setup, 'export function setup() {\n  const end = Date.now() + 60;\n  while (Date.now() < end);\n}\n');
  const pool = testPool(t, { setup, acquireTimeoutMs: 3000 });
  await pool.exec('CREATE TABLE x (v INTEGER)');
  for (let round = 0; round < 3; round++) {
    const dirty = await pool.acquire({ write: true });
    await dirty.run('CREATE TEMP TABLE scratch (v)');
    await dirty.release();
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('gave up')), 20);
    await assert.rejects(pool.acquire({ write: true, signal: controller.signal }), { code: 'ABORT_ERR' });
    // The connection reopened for nobody went back: the next caller gets it at once.
    const next = await within(2000, pool.acquire({ write: true }), 'a lease after the abort');
    await next.run('INSERT INTO x VALUES (?)', [round]);
    await next.release();
  }
  assert.deepEqual(await pool.get('SELECT count(*) AS n FROM x'), { n: 3 });
  await within(3000, pool.close(), 'close after the aborts');
});

test('a setup module that fails only on readers: reads and writes are all answered by the writer (issue 19 item 9)', async (t) => {
  const setup = join(tempDir(t), 'reader-setup.mjs');
  writeFileSync(setup, "export function setup(db, { role }) {\n  if (role === 'reader') throw new Error('no readers here');\n}\n");
  const pool = testPool(t, { setup, readers: 1 });
  await pool.exec('CREATE TABLE t (v INTEGER)');
  // Never seen before and fronted by a CTE (it may only read), so probed on a reader first: the reader's ERR_SETUP hands it to the writer.
  assert.deepEqual(await pool.run('WITH v(x) AS (VALUES (1)) INSERT INTO t SELECT x FROM v'), { changes: 1, lastInsertRowid: 1 });
  assert.deepEqual(await pool.get('SELECT count(*) AS n FROM t'), { n: 1 });
  assert.deepEqual(await pool.all('SELECT v FROM t'), [{ v: 1 }]);
});

test('a read of a missing table fails at once while a transaction holds the writer; it waits there only while a session keeps TEMP tables on the writer', async (t) => {
  const pool = testPool(t, { readers: 1 });
  await pool.exec('CREATE TABLE t (v INTEGER)');
  const holder = await pool.begin();
  await holder.run('INSERT INTO t VALUES (1)');
  const failed = (sql: string): Promise<unknown> =>
    pool.get(sql).then(
      () => 'answered',
      (error: unknown) => error,
    );
  for (const sql of ['SELECT * FROM missing', 'SELECT nope FROM t']) {
    const error = await within(5000, failed(sql), `${sql} while the writer is held`);
    assert.ok(error instanceof SqliteError && error.code === 'SQLITE_ERROR', String(error));
  }
  // A session's TEMP table lives on the writer: a read another scope has never run is tried there too, and waits for it.
  await holder.commit();
  const session = pool.session();
  await session.exec('CREATE TEMP TABLE scratch (v INTEGER)');
  await session.run('INSERT INTO scratch VALUES (7)');
  const again = await pool.begin();
  let settled = false;
  const read = pool.all('SELECT v FROM temp.scratch').finally(() => (settled = true));
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(settled, false, 'the TEMP table read waits for the writer');
  await again.commit();
  assert.deepEqual(await read, [{ v: 7 }]);
  // Once that session closes, nothing lives on the writer alone: a missing table fails at once again.
  await session.close();
  const third = await pool.begin();
  const error = await within(5000, failed('SELECT * FROM temp.scratch'), 'the closed session’s TEMP table');
  assert.ok(error instanceof SqliteError && error.code === 'SQLITE_ERROR', String(error));
  await third.rollback();
});

test('a database that cannot open rejects every waiting caller; nothing hangs', async (t) => {
  const directory = join(tempDir(t), 'goes-away');
  mkdirSync(directory);
  const filename = join(directory, 'app.db');
  const pool = createPool({ filename, acquireTimeoutMs: 60_000 });
  t.after(() => pool.destroy());
  rmSync(directory, { recursive: true }); // after createPool checked it: the open itself fails
  const calls = [
    pool.get('SELECT 1'),
    pool.run('CREATE TABLE t (v)'),
    pool.all('SELECT 1'),
    pool.transaction(async () => {}),
    pool.acquire({ write: true }),
    pool.acquire(),
  ];
  const results = await within(10_000, Promise.allSettled(calls), 'calls on an unopenable database');
  for (const result of results) {
    assert.equal(result.status, 'rejected');
    const error = result.reason as SqliteError;
    assert.ok(error instanceof SqliteError, String(error));
    assert.equal(error.code, 'SQLITE_CANTOPEN');
  }
  // Later calls try again (and fail again) rather than hang.
  await assert.rejects(within(10_000, pool.get('SELECT 1'), 'a retry'), { code: 'SQLITE_CANTOPEN' });
});

test('a file that is not a database fails its callers with SQLITE_NOTADB, and the pool keeps answering', async (t) => {
  const filename = join(tempDir(t), 'not-a.db');
  writeFileSync(filename, Buffer.alloc(8192, 'x'));
  const pool = createPool({ filename });
  t.after(() => pool.destroy());
  const results = await within(
    10_000,
    Promise.allSettled([pool.get('SELECT 1'), pool.run('CREATE TABLE t (v)')]),
    'calls on a file that is not a database',
  );
  for (const result of results) assert.equal(((result as PromiseRejectedResult).reason as SqliteError).code, 'SQLITE_NOTADB');
  await assert.rejects(within(10_000, pool.get('SELECT 1'), 'a retry'), { code: 'SQLITE_NOTADB' });
});

// About 400 MB of 100 KB strings: far past a 32 MB heap, in few allocations (a fast, certain OOM).
const HUGE = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 4000)
  SELECT x, hex(randomblob(50000)) AS pad FROM c`;

test('a worker that runs out of memory rejects its requests with ERR_WORKER_CRASHED and is replaced', async (t) => {
  const pool = testPool(t, { workerResourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 8 }, readers: 1 });
  await pool.exec('CREATE TABLE x (v INTEGER)');
  await assert.rejects(within(60_000, pool.all(HUGE), 'the out-of-memory query'), (error: unknown) => {
    assert.ok(error instanceof WorkerCrashedError, String(error));
    assert.equal(error.code, 'ERR_WORKER_CRASHED');
    return true;
  });
  assert.deepEqual(await pool.get('SELECT 41 + 1 AS n'), { n: 42 });
  assert.equal(pool.stats().crashes, 1);
});

test('a writer crash inside a transaction fails the transaction, commits nothing, and the writer is replaced', async (t) => {
  const pool = testPool(t, { workerResourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 8 } });
  await pool.exec('CREATE TABLE x (v INTEGER)');
  await assert.rejects(
    within(
      60_000,
      pool.transaction(async (tx) => {
        await tx.run('INSERT INTO x VALUES (1)');
        await tx.all(HUGE);
      }),
      'the crashing transaction',
    ),
    WorkerCrashedError,
  );
  await pool.run('INSERT INTO x VALUES (2)');
  assert.deepEqual(await pool.all('SELECT v FROM x'), [{ v: 2 }]);
});

test('every error is a LitepoolError with a string code', async (t) => {
  const pool = testPool(t);
  const errors = await Promise.allSettled([pool.get('nope'), pool.get('SELECT ?'), pool.get('')]);
  for (const result of errors) {
    const error = (result as PromiseRejectedResult).reason as LitepoolError;
    assert.ok(error instanceof LitepoolError);
    assert.equal(typeof error.code, 'string');
    assert.equal(error.name, error.constructor.name);
  }
});

/** Writes that fail while they run, each in its own way (the table holds 1 to 5; u holds (1, 1), (2, 3), (3, 4)). */
const FAILING_WRITES: readonly (readonly [string, string])[] = [
  ['ON CONFLICT FAIL, part-way (two rows stay)', 'INSERT OR FAIL INTO t SELECT column1 FROM (VALUES (10), (11), (1), (12))'],
  ['ABORT, part-way (SQLite undoes the two rows, the rowid stays moved)', 'INSERT INTO t SELECT column1 FROM (VALUES (20), (21), (1))'],
  ['a row that conflicts at once (nothing inserted)', 'INSERT INTO t VALUES (2)'],
  ['UPDATE OR FAIL, part-way (one row stays changed)', 'UPDATE OR FAIL u SET v = v + 1'],
  ['a trigger that fails after its row went in', 'INSERT INTO t VALUES (30)'],
  ['ON CONFLICT ROLLBACK, part-way', 'INSERT OR ROLLBACK INTO t SELECT column1 FROM (VALUES (40), (3))'],
];
const FAILING_SCHEMA = `CREATE TABLE t (a INTEGER PRIMARY KEY);
  INSERT INTO t VALUES (1), (2), (3), (4), (5);
  CREATE TABLE u (id INTEGER PRIMARY KEY, v INTEGER UNIQUE);
  INSERT INTO u VALUES (1, 1), (2, 3), (3, 4);
  CREATE TRIGGER no_30 AFTER INSERT ON t WHEN NEW.a = 30 BEGIN SELECT RAISE(FAIL, 'no 30'); END;`;

/** What SQLite's counters say after each failing write, on one connection in autocommit: the oracle. */
function countersAfterFailures(dir: string): { changes: number; lastInsertRowid: number | undefined }[] {
  const db = new Database(join(dir, 'oracle.db'));
  try {
    db.exec(FAILING_SCHEMA);
    const read = db.prepare('SELECT changes() AS n, last_insert_rowid() AS id');
    return FAILING_WRITES.map(([, sql]) => {
      const before = (read.get() as { id: number }).id;
      assert.throws(() => db.prepare(sql).run(), { code: /^SQLITE_CONSTRAINT/ });
      const { n, id } = read.get() as { n: number; id: number };
      return { changes: n, lastInsertRowid: id === before ? undefined : id };
    });
  } finally {
    db.close();
  }
}

test('a write that fails while it runs reports SQLite’s counters after it (changes, and the rowid it moved), one-shot or in a transaction, grouped or not', async (t) => {
  const expected = countersAfterFailures(tempDir(t));
  assert.deepEqual(
    expected.map((counts) => counts.changes),
    [2, 0, 0, 1, 1, 0],
    'the oracle: what ON CONFLICT FAIL and RAISE(FAIL) keep',
  );
  for (const strategy of ['wal', 'single-writer'] as const) {
    for (const where of ['one-shot', 'in a transaction'] as const) {
      const pool = testPool(t, { strategy });
      await pool.exec(FAILING_SCHEMA);
      for (const [i, [name, sql]] of FAILING_WRITES.entries()) {
        const attempt =
          where === 'one-shot'
            ? pool.run(sql)
            : pool.transaction(async (tx) => {
                await tx.run(sql);
              });
        await assert.rejects(attempt, (error: unknown) => {
          assert.ok(error instanceof SqliteError, name);
          assert.deepEqual(
            { changes: error.changes, lastInsertRowid: error.lastInsertRowid },
            expected[i],
            `${strategy}, ${where}: ${name}`,
          );
          return true;
        });
      }
      // One-shot writes keep what SQLite left of them, as in autocommit; a transaction that throws keeps nothing.
      const rows = (await pool.all<{ a: number }>('SELECT a FROM t ORDER BY a')).map((row) => row.a);
      assert.deepEqual(rows, where === 'one-shot' ? [1, 2, 3, 4, 5, 10, 11, 30] : [1, 2, 3, 4, 5], `${strategy}, ${where}`);
      assert.deepEqual(
        await pool.all('SELECT v FROM u ORDER BY id'),
        where === 'one-shot' ? [{ v: 2 }, { v: 3 }, { v: 4 }] : [{ v: 1 }, { v: 3 }, { v: 4 }],
      );
    }
  }
  // A statement that never ran says nothing of the counters.
  const pool = testPool(t);
  const error = await pool.run('INSERT INTO missing VALUES (1)').catch((caught: unknown) => caught);
  assert.ok(error instanceof SqliteError);
  assert.equal('changes' in error, false);
  assert.equal('lastInsertRowid' in error, false);
});
