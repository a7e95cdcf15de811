/** iterate(): rows stream in chunks; breaking out releases the connection. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { testPool, within } from './helpers/pool.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const ROWS = 200_000;
const BIG = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${ROWS})
  SELECT x, randomblob(1000) AS payload FROM c`;

function used(): number {
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

test('iterate streams a large result without holding it whole', async (t) => {
  const pool = testPool(t, { readers: 1 });
  await pool.get('SELECT 1');
  gc();
  const baseline = used();
  let peak = 0;
  let count = 0;
  let bytes = 0;
  for await (const row of pool.iterate<{ x: number; payload: Buffer }>(BIG)) {
    count++;
    bytes += row.payload.length;
    if (count % 10_000 === 0) {
      gc();
      peak = Math.max(peak, used() - baseline);
    }
  }
  t.diagnostic(`${count} rows, ${(bytes / 1e6).toFixed(0)} MB streamed, peak growth ${(peak / 1e6).toFixed(1)} MB`);
  assert.equal(count, ROWS);
  assert.equal(bytes, ROWS * 1000);
  assert.ok(peak < bytes / 10, `memory grew by ${(peak / 1e6).toFixed(1)} MB for ${(bytes / 1e6).toFixed(0)} MB of rows`);
});

test('breaking out of iterate releases the connection', async (t) => {
  const pool = testPool(t, { readers: 1, iterateChunkRows: 16 });
  let seen = 0;
  for await (const row of pool.iterate<{ x: number }>(BIG)) {
    seen = row.x;
    if (seen === 40) break;
  }
  assert.equal(seen, 40);
  const after = await within(5000, pool.get('SELECT 7 AS n'), 'a read after breaking out');
  assert.deepEqual(after, { n: 7 });
  // The serve loop lets go of the connection a few microtasks after the last result: wait for the gauge.
  await within(
    1000,
    (async () => {
      while (pool.stats().busy !== 0) await new Promise((resolve) => setImmediate(resolve));
    })(),
    'the reader going idle',
  );
});

test('iterate of bad SQL rejects and releases the connection', async (t) => {
  const pool = testPool(t, { readers: 1 });
  await assert.rejects(
    async () => {
      for await (const _ of pool.iterate('SELECT * FROM nowhere')) assert.fail('no rows expected');
    },
    { code: 'SQLITE_ERROR' },
  );
  assert.deepEqual(await within(5000, pool.get('SELECT 1 AS n'), 'a read after a failed iterate'), { n: 1 });
});

test('iterate inside a transaction streams from the transaction connection', async (t) => {
  const pool = testPool(t);
  await pool.exec('CREATE TABLE s (v INTEGER)');
  const seen = await pool.transaction(async (tx) => {
    for (let i = 0; i < 600; i++) await tx.run('INSERT INTO s VALUES (?)', [i]);
    let sum = 0;
    for await (const row of tx.iterate<{ v: number }>('SELECT v FROM s')) sum += row.v;
    return sum;
  });
  assert.equal(seen, (599 * 600) / 2);
});

test('iterate yields the rows stepped before an error, then throws it, as better-sqlite3 does', async (t) => {
  const pool = testPool(t, { readers: 1, iterateChunkRows: 4 });
  // abs() of the smallest integer overflows: the statement fails at that row, after the rows before it.
  const failingAt = (row: number) =>
    `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20)
     SELECT CASE WHEN x = ${row} THEN abs(-9223372036854775807 - 1) ELSE x END AS x FROM c`;
  for (const row of [1, 3, 5, 11]) {
    const seen: number[] = [];
    await assert.rejects(
      async () => {
        for await (const { x } of pool.iterate<{ x: number }>(failingAt(row))) seen.push(x);
      },
      { code: 'SQLITE_ERROR', message: /integer overflow/ },
      `failing at row ${row}`,
    );
    assert.deepEqual(
      seen,
      Array.from({ length: row - 1 }, (_, i) => i + 1),
      `the rows before row ${row}`,
    );
  }
  // Inside a transaction too, and the connection serves the next call.
  const inTx = await pool.transaction(async (tx) => {
    const seen: number[] = [];
    await assert.rejects(async () => {
      for await (const { x } of tx.iterate<{ x: number }>(failingAt(6))) seen.push(x);
    }, /integer overflow/);
    return seen.length;
  });
  assert.equal(inTx, 5);
  assert.deepEqual(await within(5000, pool.get('SELECT 1 AS n'), 'a read after'), { n: 1 });
});
