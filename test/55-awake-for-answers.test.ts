/**
 * The calling thread's event loop stays awake (a chain of setImmediate turns)
 * only for a moment after a request goes to a worker thread, and a worker in
 * a transaction looks for the next statement only for a moment after each
 * answer: never while the pool is idle, never for the whole run of a long
 * statement or of an app's wait (issue 21: an idle pool costs no CPU).
 */
import { createPool, type Pool } from '@litepool/core';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { tempDir } from './helpers/temp.js';

const LONG_READ = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000000) SELECT sum(x) AS s FROM c';

/** Immediates pending in this process now (litepool's turns, if it keeps the loop awake). */
const immediates = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Immediate').length;

function threadPool(t: TestContext): Pool {
  // Reads on threads only: the calling thread's inline connection would answer them without a round trip.
  const pool = createPool({ filename: join(tempDir(t), 'awake.db'), inlineReads: false });
  t.after(() => pool.destroy());
  return pool;
}

test('after answers came back the loop sleeps: no turn is left pending', async (t) => {
  const pool = threadPool(t);
  await pool.exec('CREATE TABLE t (x)');
  for (let i = 0; i < 200; i++) await pool.run('INSERT INTO t VALUES (?)', [i]);
  for (let i = 0; i < 200; i++) await pool.get('SELECT x FROM t WHERE rowid = ?', [i + 1]);
  await sleep(5);
  assert.equal(immediates(), 0);
});

test('a long statement is waited for asleep: the turns stop while it still runs', async (t) => {
  const pool = threadPool(t);
  await pool.get('SELECT 1');
  const long = pool.get(LONG_READ);
  let settled = false;
  void long.finally(() => (settled = true));
  await sleep(20);
  assert.equal(settled, false, 'the statement runs longer than 20 ms here');
  assert.equal(immediates(), 0);
  assert.ok(await long);
});

test('a transaction left open while the app waits costs no CPU: its thread looks for the next statement only briefly', async (t) => {
  const pool = threadPool(t);
  await pool.exec('CREATE TABLE t (x)');
  const tx = await pool.begin();
  await tx.run('INSERT INTO t VALUES (1)');
  const before = process.cpuUsage();
  await sleep(300);
  const used = process.cpuUsage(before);
  // A thread that kept looking would use about as much CPU as the wait lasted (300 ms); this process uses a few ms.
  assert.ok((used.user + used.system) / 1000 < 150, `${(used.user + used.system) / 1000} ms of CPU while waiting`);
  await tx.commit();
  assert.deepEqual(await pool.get('SELECT count(*) AS n FROM t'), { n: 1 });
});
