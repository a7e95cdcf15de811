/**
 * A connection tells its requests apart by a sequence number whose slot in a
 * ring the worker shares: more requests than the ring holds wait their turn
 * (in order, abortable meanwhile), and the numbers start again at 1 before
 * they outgrow the Int32 they cross threads as.
 */
import { AbortError } from '@litepool/core';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addSeq, InFlightRing, MAX_SEQ, nextSeq } from '../packages/core/src/local/seq-ring.js';
import { testPool, within } from './helpers/pool.js';

const LONG_READ = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 20000000) SELECT count(*) AS n FROM c';

test('a transaction that sends 5,000 statements without awaiting them: every one runs, in order (80 times the ring)', async (t) => {
  // maxBatch 1 under wal: the smallest ring (64 slots).
  const pool = testPool(t, { strategy: 'wal', maxBatch: 1 });
  await pool.exec('CREATE TABLE t (v INTEGER)');
  const results = await within(
    60_000,
    pool.transaction((tx) => Promise.all(Array.from({ length: 5_000 }, (_, i) => tx.run('INSERT INTO t (v) VALUES (?)', [i])))),
    'the transaction',
  );
  assert.deepEqual(
    results.map((result) => result.lastInsertRowid),
    Array.from({ length: 5_000 }, (_, i) => i + 1),
  );
  const rows = await pool.values<[number]>('SELECT v FROM t ORDER BY rowid');
  assert.deepEqual(
    rows.map(([v]) => v),
    Array.from({ length: 5_000 }, (_, i) => i),
  );
});

test('a statement waiting for room in the ring is answered at once when its caller aborts, and never runs', async (t) => {
  const pool = testPool(t, { strategy: 'wal', maxBatch: 1 });
  await pool.exec('CREATE TABLE t (v INTEGER)');
  let longDone = false;
  const outcome = pool.transaction(async (tx) => {
    const long = tx.get(LONG_READ).finally(() => (longDone = true));
    const controller = new AbortController();
    const writes = Array.from({ length: 200 }, (_, i) =>
      tx.run('INSERT INTO t (v) VALUES (?)', [i], i === 150 ? { signal: controller.signal } : undefined),
    );
    controller.abort();
    await assert.rejects(within(10_000, writes[150]!, 'the aborted write'), AbortError);
    // Answered while the long statement still ran: it waited for nothing.
    const answeredBeforeLong = !longDone;
    await long;
    const settled = await Promise.allSettled(writes);
    return { answeredBeforeLong, rejected: settled.filter((s) => s.status === 'rejected').length };
  });
  const { answeredBeforeLong, rejected } = await within(60_000, outcome, 'the transaction');
  assert.equal(answeredBeforeLong, true);
  assert.equal(rejected, 1);
  const { n } = (await pool.get<{ n: number }>('SELECT count(*) AS n FROM t WHERE v = 150'))!;
  assert.equal(n, 0);
  assert.equal((await pool.get<{ n: number }>('SELECT count(*) AS n FROM t'))!.n, 199);
});

test('closing a pool fails statements still waiting for room in the ring instead of leaving them pending', async (t) => {
  const pool = testPool(t, { strategy: 'wal', maxBatch: 1, closeTimeoutMs: 1_000 });
  pool.on('warning', () => {}); // the transaction is rolled back by destroy(): expected here
  await pool.exec('CREATE TABLE t (v INTEGER)');
  let writes: Promise<PromiseSettledResult<unknown>[]> | undefined;
  let sent!: () => void;
  const started = new Promise<void>((resolve) => (sent = resolve));
  const tx = pool
    .transaction(async (inner) => {
      const long = inner.get(LONG_READ);
      writes = Promise.allSettled(Array.from({ length: 500 }, (_, i) => inner.run('INSERT INTO t (v) VALUES (?)', [i])));
      sent();
      await long;
    })
    .catch((error: unknown) => error);
  await started;
  await within(30_000, pool.destroy(), 'destroy()');
  const outcomes = await within(10_000, writes!, 'every write');
  assert.ok(
    outcomes.every((outcome) => outcome.status === 'rejected'),
    'none ran: the long read was stopped, and the rest never started',
  );
  assert.ok((await tx) instanceof Error);
});

test('sequence numbers wrap from 2^30 to 1; the ring keeps their order across the wrap', () => {
  assert.equal(nextSeq(MAX_SEQ), 1);
  assert.equal(addSeq(MAX_SEQ - 1, 3), 2);
  assert.ok(MAX_SEQ <= 2 ** 31 - 1, 'crosses threads as an Int32');
  const ring = new InFlightRing<string>(8);
  const seqs = [MAX_SEQ - 2, MAX_SEQ - 1, MAX_SEQ, 1, 2];
  for (const seq of seqs) ring.add(seq, `r${seq}`);
  assert.deepEqual(
    ring.entries().map(([seq]) => seq),
    seqs,
  );
  assert.equal(ring.fits(3), true);
  assert.equal(ring.fits(4), false);
  assert.equal(ring.get(1), 'r1');
  assert.equal(ring.get(1 + 8), undefined);
  // Taken back out of order: the oldest moves past the gaps; the span, not the count, bounds what fits.
  assert.equal(ring.delete(MAX_SEQ - 1), true);
  assert.equal(ring.delete(MAX_SEQ - 1), false);
  assert.equal(ring.fits(4), false);
  ring.delete(MAX_SEQ - 2);
  assert.equal(ring.fits(5), true);
  assert.deepEqual(
    ring.entries().map(([seq]) => seq),
    [MAX_SEQ, 1, 2],
  );
  assert.throws(() => ring.add(1 + 8, 'the slot of 1, still present'));
});
