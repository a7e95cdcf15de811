/**
 * The calling thread's event loop stays awake (a chain of setImmediate turns)
 * only for a moment after a request goes to a worker thread, and a worker in
 * a transaction looks for the next statement only for a moment after each
 * answer (and after the answer that ended it, for the app's next one): never while the pool is idle, never for the whole run of a long
 * statement or of an app's wait (issue 21: an idle pool costs no CPU). And
 * one turn does not keep sending: past a budget, batches wait for the next.
 */
import { createPool, type Pool } from '@litepool/core';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { tempDir } from './helpers/temp.js';
import { SEND_TURN_MS, turnSpent } from '../packages/core/src/local/send-turns.js';

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

test("after a transaction ends its thread looks for the app's next one only briefly: a pause after COMMIT costs no CPU", async (t) => {
  const pool = threadPool(t);
  await pool.exec('CREATE TABLE t (x)');
  // Transactions one after another (the thread looks after each COMMIT), then the app pauses.
  for (let i = 0; i < 20; i++) await pool.transaction((tx) => tx.run('INSERT INTO t VALUES (?)', [i]));
  const before = process.cpuUsage();
  await sleep(300);
  const used = process.cpuUsage(before);
  assert.ok((used.user + used.system) / 1000 < 150, `${(used.user + used.system) / 1000} ms of CPU while waiting`);
  await pool.transaction((tx) => tx.run('INSERT INTO t VALUES (20)'));
  assert.deepEqual(await pool.get('SELECT count(*) AS n FROM t'), { n: 21 });
});

test('a turn that has sent for SEND_TURN_MS sends no more until the next turn', async () => {
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(turnSpent(), false, 'the first send of a turn');
  assert.equal(turnSpent(), false, 'right after it');
  const until = performance.now() + SEND_TURN_MS + 1;
  while (performance.now() < until);
  assert.equal(turnSpent(), true, 'past the budget, in the same turn');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(turnSpent(), false, 'the next turn');
});

test('statements issued after a turn has spent its budget go out on the next turn, in order, and are answered', async (t) => {
  const pool = threadPool(t);
  await pool.exec('CREATE TABLE o (i INTEGER)');
  await pool.transaction(async (tx) => {
    const first = tx.run('INSERT INTO o VALUES (0)');
    for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => queueMicrotask(resolve)); // the first has been sent
    const until = performance.now() + SEND_TURN_MS + 2;
    while (performance.now() < until); // this turn spends past the budget
    const rest = Array.from({ length: 200 }, (_, i) => tx.run('INSERT INTO o VALUES (?)', [i + 1]));
    await Promise.all([first, ...rest]);
  });
  const rows = await pool.all<{ i: number }>('SELECT i FROM o ORDER BY rowid');
  assert.deepEqual(
    rows.map((row) => row.i),
    Array.from({ length: 201 }, (_, i) => i),
  );
});

test('a COMMIT handed off in a turn that has spent its send budget still commits when the pool closes at once', async (t) => {
  const file = join(tempDir(t), 'handoff.db');
  const pool = createPool({ filename: file, readers: 1, inlineReads: false });
  t.after(() => pool.destroy());
  await pool.exec('CREATE TABLE t (v INTEGER)');
  const tx = await pool.begin({ mode: 'immediate' });
  await tx.run('INSERT INTO t VALUES (1)');
  // This turn sends (a read to the reader), then spends past its budget: the COMMIT, carried to go with the
  // writer's next message, is what close() must still send.
  const read = pool.get('SELECT 1 AS one');
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => queueMicrotask(resolve));
  const until = performance.now() + SEND_TURN_MS + 2;
  while (performance.now() < until);
  const committed = tx.commit();
  const closed = pool.close();
  await Promise.all([committed, closed, read]);
  const again = createPool({ filename: file });
  t.after(() => again.destroy());
  assert.deepEqual(await again.all('SELECT v FROM t'), [{ v: 1 }]);
});
