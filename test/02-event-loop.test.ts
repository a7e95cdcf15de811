/** The main thread never runs SQL: a long query leaves the event loop free. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testPool } from './helpers/pool.js';

// A recursive CTE that keeps one core busy for roughly 200 ms on this class of machine.
const SLOW = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?) SELECT sum(x) AS s FROM c';

test('a 1 ms interval keeps ticking while a reader runs a long query', async (t) => {
  const pool = testPool(t);
  await pool.get('SELECT 1'); // start the threads before measuring
  const rows = 2_000_000;
  let ticks = 0;
  let longestGap = 0;
  let last = performance.now();
  const interval = setInterval(() => {
    const now = performance.now();
    longestGap = Math.max(longestGap, now - last);
    last = now;
    ticks++;
  }, 1);
  const started = performance.now();
  const row = await pool.get<{ s: number }>(SLOW, [rows]);
  const elapsed = performance.now() - started;
  clearInterval(interval);
  t.diagnostic(`query ${elapsed.toFixed(0)} ms, ${ticks} ticks, longest gap ${longestGap.toFixed(1)} ms`);
  assert.equal(row?.s, (rows * (rows + 1)) / 2);
  assert.ok(elapsed > 50, `the query should take a while to prove anything (took ${elapsed.toFixed(0)} ms)`);
  // Wide margins: a blocked loop would tick about once; a free one ticks about once per ms.
  assert.ok(ticks >= elapsed / 10, `only ${ticks} ticks in ${elapsed.toFixed(0)} ms`);
  assert.ok(longestGap < elapsed / 2, `the loop stalled for ${longestGap.toFixed(0)} ms`);
});
