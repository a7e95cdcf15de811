/**
 * A 60 s soak: 32 handlers mix every kind of call (reads, writes,
 * transactions, leases, streams, calls that fail on purpose, aborts and
 * timeouts) on one pool. The counter is exact, every call settled, the
 * database is intact, and the process's RSS levels off.
 */
import { AbortError, ArgumentError, SqliteError, StatementTimeoutError, type Pool } from '@litepool/core';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testPool, within } from './helpers/pool.js';

const SOAK_MS = 60_000;
const HANDLERS = 32;
const SLOW = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000000) SELECT count(*) AS n FROM c';

/** One random operation; returns how many increments it made. Failures it causes on purpose are checked here. */
async function operation(pool: Pool, random: () => number): Promise<number> {
  const pick = random();
  if (pick < 0.35) {
    await pool.get('SELECT v FROM kv WHERE id = ?', [1 + Math.floor(random() * 1000)]);
  } else if (pick < 0.45) {
    await pool.all('SELECT id, v FROM kv WHERE id BETWEEN ? AND ?', [1, 50]);
  } else if (pick < 0.6) {
    await pool.run('UPDATE kv SET v = ? WHERE id = ?', [`u${Math.floor(random() * 1e6)}`, 1 + Math.floor(random() * 1000)]);
  } else if (pick < 0.75) {
    await pool.transaction(async (tx) => {
      const row = await tx.get<{ n: number }>('SELECT n FROM counter WHERE id = 1');
      await new Promise((resolve) => setImmediate(resolve));
      await tx.run('UPDATE counter SET n = ? WHERE id = 1', [row!.n + 1]);
    });
    return 1;
  } else if (pick < 0.8) {
    let rows = 0;
    for await (const row of pool.iterate('SELECT id FROM kv')) {
      void row;
      if (++rows === 10) break;
    }
  } else if (pick < 0.85) {
    const lease = await pool.acquire();
    try {
      await lease.get('SELECT count(*) AS n FROM kv');
    } finally {
      await lease.release();
    }
  } else if (pick < 0.9) {
    await assert.rejects(pool.get('SELEC oops'), SqliteError);
  } else if (pick < 0.93) {
    await assert.rejects(pool.run('INSERT INTO kv VALUES (?, ?)', [1, () => 1] as never), ArgumentError);
  } else if (pick < 0.96) {
    const controller = new AbortController();
    const call = pool.get(SLOW, [], { signal: controller.signal });
    setTimeout(() => controller.abort(), 5);
    await call.then(
      () => {},
      (error: unknown) => assert.ok(error instanceof AbortError, String(error)),
    );
  } else {
    await pool.get(SLOW, [], { timeoutMs: 10 }).then(
      () => {},
      (error: unknown) => assert.ok(error instanceof StatementTimeoutError, String(error)),
    );
  }
  return 0;
}

test(`soak: ${HANDLERS} handlers, every kind of call, ${SOAK_MS / 1000} s: exact, intact, and RSS levels off`, async (t) => {
  const pool = testPool(t, { strategy: 'single-writer' });
  await pool.exec(`
    CREATE TABLE kv (id INTEGER PRIMARY KEY, v TEXT);
    CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER);
    INSERT INTO counter VALUES (1, 0);
    INSERT INTO kv (id, v) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000) SELECT x, hex(randomblob(40)) FROM c;`);
  const samples: { at: number; rss: number }[] = [];
  const started = performance.now();
  const sampler = setInterval(() => samples.push({ at: performance.now() - started, rss: process.memoryUsage.rss() }), 1_000);
  let increments = 0;
  let operations = 0;
  const end = started + SOAK_MS;
  await within(
    SOAK_MS + 60_000,
    Promise.all(
      Array.from({ length: HANDLERS }, async (_, handler) => {
        let state = handler * 7919 + 1;
        const random = (): number => {
          state = (state * 1103515245 + 12345) % 2 ** 31;
          return state / 2 ** 31;
        };
        while (performance.now() < end) {
          const made = await operation(pool, random); // not `increments += await …`: that reads increments before the await
          increments += made;
          operations++;
        }
      }),
    ),
    'the soak (every handler settled)',
  );
  clearInterval(sampler);
  assert.deepEqual(await pool.get('SELECT n FROM counter'), { n: increments });
  assert.deepEqual(await pool.get('PRAGMA integrity_check'), { integrity_check: 'ok' });
  const stats = pool.stats();
  assert.equal(stats.queued, 0);
  assert.equal(stats.crashes, 0);
  // Levels off: the last third's peak is within 10% (plus 16 MiB) of the middle third's.
  const peak = (from: number, to: number): number => Math.max(...samples.filter((s) => s.at >= from && s.at < to).map((s) => s.rss));
  const middle = peak(SOAK_MS / 3, (2 * SOAK_MS) / 3);
  const last = peak((2 * SOAK_MS) / 3, SOAK_MS + 1_000);
  const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  t.diagnostic(
    `${operations} operations, ${increments} increments; RSS first ${mb(samples[0]!.rss)}, middle-third peak ${mb(middle)}, last-third peak ${mb(last)}`,
  );
  assert.ok(last <= middle * 1.1 + 16 * 2 ** 20, `RSS still growing: middle third ${mb(middle)}, last third ${mb(last)}`);
});
