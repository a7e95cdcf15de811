/**
 * A short read never waits behind a long one while another connection could
 * run it: reads queued behind a statement that runs on are taken back and
 * run elsewhere (another reader, or the writer when there is no other reader).
 * The long statement here never ends by itself, so "served while it runs" is
 * a fact, not a race.
 */
import { AbortError } from '@litepool/core';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testPool, within } from './helpers/pool.js';

const ENDLESS_ROWS = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c';

for (const readers of [2, 1]) {
  test(`readers: ${readers}: short reads are served while one reader runs a statement that does not end`, async (t) => {
    const pool = testPool(t, { readers, statementTimeoutMs: 0 });
    await pool.exec('CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (42)');
    await Promise.all(Array.from({ length: readers }, () => pool.get('SELECT v FROM t'))); // every reader open
    const controller = new AbortController();
    let longSettled = false;
    const long = pool.all(ENDLESS_ROWS, [], { signal: controller.signal });
    const watched = long.then(
      () => (longSettled = true),
      () => (longSettled = true),
    );
    // A burst right behind it: some may be pipelined onto the busy reader before it counts as stuck.
    const burst = await within(
      15_000,
      Promise.all(Array.from({ length: 64 }, (_, i) => pool.get('SELECT ? AS i, v FROM t', [i]))),
      'a burst of reads beside the long one',
    );
    assert.deepEqual(
      burst,
      Array.from({ length: 64 }, (_, i) => ({ i, v: 42 })),
    );
    // Then one at a time, as a request handler would.
    for (let i = 0; i < 20; i++) assert.deepEqual(await within(5_000, pool.get('SELECT v FROM t'), `short read ${i}`), { v: 42 });
    assert.equal(longSettled, false, 'the long statement was still running while every short read was answered');
    t.diagnostic(`requests moved away from the busy reader: ${pool.stats().moved}`);
    controller.abort();
    await assert.rejects(within(5_000, long, 'the aborted long read'), AbortError);
    await watched;
  });
}

test('short reads sent in one batch before a statement that does not end are answered: it is stopped and runs again alone', async (t) => {
  // No inline reads: every read goes to the one reader, all in one batch (a worker answers its batch at once).
  const pool = testPool(t, { readers: 1, statementTimeoutMs: 0, inlineReads: false });
  await pool.exec('CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (42)');
  await pool.get('SELECT v FROM t');
  const before = pool.stats().readBatches.batches;
  const shorts = Array.from({ length: 16 }, (_, i) => pool.get('SELECT ? AS i, v FROM t', [i]));
  const controller = new AbortController();
  const long = pool.all(ENDLESS_ROWS, [], { signal: controller.signal });
  let longSettled = false;
  const watched = long.then(
    () => (longSettled = true),
    () => (longSettled = true),
  );
  assert.deepEqual(
    await within(15_000, Promise.all(shorts), 'the short reads sent before the long one'),
    Array.from({ length: 16 }, (_, i) => ({ i, v: 42 })),
  );
  const { batches, requests } = pool.stats().readBatches;
  t.diagnostic(`read batches since: ${batches - before}; moved: ${pool.stats().moved}`);
  assert.ok(requests >= 17, 'the long read went to the reader');
  // Run again, alone: reads sent now are not stuck behind it either (they move to the writer).
  assert.deepEqual(await within(5_000, pool.get('SELECT v FROM t'), 'a read sent after'), { v: 42 });
  assert.equal(longSettled, false, 'the long read was not failed by being run again');
  controller.abort();
  await assert.rejects(within(5_000, long, 'the aborted long read'), AbortError);
  await watched;
});
