/** single-writer: group commit, failure isolation inside a batch, and a writer crash mid-batch. */
import { createPool, WorkerCrashedError, type Pool } from '@litepool/core';
import { singleWriter } from '@litepool/core';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { within } from './helpers/pool.js';
import { tempDb } from './helpers/temp.js';

async function open(t: TestContext, extra: Partial<Parameters<typeof createPool>[0]> = {}): Promise<Pool> {
  const pool = createPool({ filename: tempDb(t), strategy: singleWriter(), ...extra });
  t.after(() => pool.destroy());
  await pool.exec('CREATE TABLE g (id INTEGER PRIMARY KEY, v TEXT)');
  return pool;
}

/** Queues `calls` behind a held writer, then releases it, so they go to the writer as one batch. */
async function asOneBatch(pool: Pool, calls: () => Promise<unknown>[], expectQueued: number): Promise<PromiseSettledResult<unknown>[]> {
  const lease = await pool.acquire({ write: true });
  const pending = calls();
  // Calls reach the writer's queue over a few turns (first-seen SQL that may only read is probed on a reader first): wait until all have.
  await within(
    10_000,
    (async () => {
      while (pool.stats().queuedWrites < expectQueued) await new Promise((resolve) => setTimeout(resolve, 5));
    })(),
    'queueing behind the writer',
  );
  const before = pool.stats().writeBatches.batches;
  void lease.release();
  const results = await Promise.allSettled(pending);
  assert.equal(pool.stats().writeBatches.batches - before, 1, 'the queued writes went to the writer as one batch');
  return results;
}

test('queued one-shot writes are group-committed in one batch', async (t) => {
  const pool = await open(t);
  const results = await asOneBatch(
    pool,
    () => Array.from({ length: 50 }, (_, i) => pool.run('INSERT INTO g (v) VALUES (?)', [`v${i}`])),
    50,
  );
  assert.ok(results.every((r) => r.status === 'fulfilled'));
  assert.deepEqual(await pool.get('SELECT count(*) AS n FROM g'), { n: 50 });
});

test('one bad write inside a batch rejects alone; the others commit', async (t) => {
  const pool = await open(t);
  await pool.run("INSERT INTO g (id, v) VALUES (5, 'existing')");
  const results = await asOneBatch(
    pool,
    () =>
      Array.from(
        { length: 10 },
        (_, i) => pool.run('INSERT INTO g (id, v) VALUES (?, ?)', [i + 1, `batch${i}`]), // id 5 collides
      ),
    10,
  );
  assert.deepEqual(
    results.map((r) => r.status),
    results.map((_, i) => (i === 4 ? 'rejected' : 'fulfilled')),
  );
  assert.equal(((results[4] as PromiseRejectedResult).reason as { code: string }).code, 'SQLITE_CONSTRAINT_PRIMARYKEY');
  assert.deepEqual(await pool.get('SELECT count(*) AS n FROM g'), { n: 10 });
  assert.deepEqual(await pool.get('SELECT v FROM g WHERE id = 5'), { v: 'existing' });
});

test('writes that all fail and leave nothing commit nothing: the WAL does not grow, and a deferred transaction that read can still write', async (t) => {
  const filename = tempDb(t);
  const pool = createPool({ filename, strategy: singleWriter() });
  t.after(() => pool.destroy());
  await pool.exec('CREATE TABLE g (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO g VALUES (5, NULL)');
  const walBytes = (): number => statSync(`${filename}-wal`).size;
  for (const [what, failing] of [
    ['a lone write', () => [pool.run('INSERT INTO g (id) VALUES (7), (5)')]],
    ['a batch of them', () => Array.from({ length: 5 }, (_, i) => pool.run('INSERT INTO g (id) VALUES (?), (5)', [10 + i]))],
  ] as const) {
    const tx = await pool.begin({ mode: 'deferred' });
    assert.deepEqual(await tx.get('SELECT count(*) AS n FROM g'), { n: 1 });
    const walBefore = walBytes();
    const results = await Promise.allSettled(failing());
    assert.ok(
      results.every((r) => r.status === 'rejected'),
      what,
    );
    assert.equal(walBytes(), walBefore, `${what}: nothing was written to the WAL`);
    await tx.run("INSERT INTO g (v) VALUES ('after')"); // its snapshot is still the latest: no SQLITE_BUSY_SNAPSHOT
    await tx.rollback();
  }
  // A failure under ON CONFLICT FAIL keeps the rows before it, which commit as in autocommit: that transaction's
  // snapshot is then out of date, as in SQLite.
  const tx = await pool.begin({ mode: 'deferred' });
  assert.deepEqual(await tx.get('SELECT count(*) AS n FROM g'), { n: 1 });
  await assert.rejects(pool.run('INSERT OR FAIL INTO g (id) VALUES (8), (5)'), { code: 'SQLITE_CONSTRAINT_PRIMARYKEY' });
  await assert.rejects(tx.run("INSERT INTO g (v) VALUES ('after')"), { code: 'SQLITE_BUSY_SNAPSHOT' });
  await tx.rollback();
  assert.deepEqual(await pool.all('SELECT id FROM g ORDER BY id'), [{ id: 5 }, { id: 8 }]);
});

test('a writer crash mid-batch acknowledges nothing that was not committed', async (t) => {
  const pool = await open(t, { workerResourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 8 } });
  // ~400 MB of strings returned by one statement of the batch: the writer runs out of memory mid-batch.
  const crash = `INSERT INTO g (v) SELECT 'x' FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 4000) SELECT x FROM c)
    RETURNING hex(randomblob(50000)) AS pad`;
  const results = await asOneBatch(
    pool,
    () => [
      ...Array.from({ length: 10 }, (_, i) => pool.run('INSERT INTO g (v) VALUES (?)', [`before${i}`])),
      pool.all(crash),
      ...Array.from({ length: 10 }, (_, i) => pool.run('INSERT INTO g (v) VALUES (?)', [`after${i}`])),
    ],
    21,
  );
  for (const result of results) {
    assert.equal(result.status, 'rejected');
    assert.ok(result.reason instanceof WorkerCrashedError);
  }
  assert.deepEqual(await pool.get('SELECT count(*) AS n FROM g'), { n: 0 }, 'nothing of the crashed batch was committed');
  await pool.run("INSERT INTO g (v) VALUES ('later')");
  assert.deepEqual(await pool.get('SELECT count(*) AS n FROM g'), { n: 1 });
  assert.equal(pool.stats().crashes, 1);
});

test('options: maxBatch and maxWaitMs are validated and applied', async (t) => {
  assert.throws(() => singleWriter({ maxBatch: 0 }), { message: 'single-writer.maxBatch must be an integer from 1 to 10000, got 0' });
  assert.throws(() => singleWriter({ maxWaitMs: -1 }), { message: 'single-writer.maxWaitMs must be an integer from 0 to 10000, got -1' });
  assert.throws(() => singleWriter({ maxWaitMs: 1e12 }), {
    message: 'single-writer.maxWaitMs must be an integer from 0 to 10000, got 1000000000000',
  });
  const pool = createPool({ filename: tempDb(t), strategy: singleWriter({ maxBatch: 4, maxWaitMs: 5 }) });
  t.after(() => pool.destroy());
  await pool.exec('CREATE TABLE g (v INTEGER)');
  const before = pool.stats().writeBatches;
  await Promise.all(Array.from({ length: 40 }, (_, i) => pool.run('INSERT INTO g VALUES (?)', [i])));
  const after = pool.stats().writeBatches;
  const batches = after.batches - before.batches;
  assert.equal(after.requests - before.requests, 40);
  assert.ok(batches >= 10, `maxBatch 4 means at least 10 batches for 40 writes, got ${batches}`);
});
