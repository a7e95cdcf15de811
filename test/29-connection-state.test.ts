/**
 * A connection is back in autocommit with the pool's own settings after
 * every one-shot statement, lease and transaction: nothing one caller did to
 * it reaches the next, and nothing acknowledged is rolled back by anyone else.
 */
import { ConnectionStateError, createPool, TransactionError, type LitepoolWarning } from '@litepool/core';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testPool, within } from './helpers/pool.js';
import { tempDb } from './helpers/temp.js';

function transactionControl(error: unknown): boolean {
  assert.ok(error instanceof TransactionError, String(error));
  assert.equal(error.code, 'ERR_TRANSACTION_CONTROL');
  return true;
}

test('one-shot transaction control is refused, and what was acknowledged stays after close()', async (t) => {
  const filename = tempDb(t);
  const pool = createPool({ filename });
  await pool.exec('CREATE TABLE t (v INTEGER)');
  for (const sql of ['BEGIN', 'BEGIN IMMEDIATE', 'COMMIT', 'ROLLBACK', 'SAVEPOINT s', 'RELEASE s', 'END']) {
    await assert.rejects(pool.exec(sql), transactionControl, sql);
    await assert.rejects(pool.run(sql), transactionControl, sql);
  }
  await assert.rejects(pool.exec('INSERT INTO t VALUES (0); BEGIN; INSERT INTO t VALUES (0)'), transactionControl);
  await assert.rejects(pool.get('BEGIN'), (error: unknown) => {
    transactionControl(error);
    assert.match(
      (error as Error).message,
      /use pool\.transaction\(fn\), pool\.begin\(\), or a lease from pool\.acquire\(\{ write: true \}\)/,
    );
    return true;
  });
  await pool.run('INSERT INTO t VALUES (1)');
  await pool.transaction(async (tx) => void (await tx.run('INSERT INTO t VALUES (2)')));
  await pool.close();
  const reopened = createPool({ filename });
  t.after(() => reopened.close());
  assert.deepEqual(await reopened.all('SELECT v FROM t ORDER BY v'), [{ v: 1 }, { v: 2 }]);
});

test('one-shot statements that change one connection are refused; with the pool-wide option they apply everywhere', async (t) => {
  const pool = testPool(t, { readers: 2 });
  for (const sql of ['PRAGMA foreign_keys = OFF', 'PRAGMA query_only=1', "ATTACH 'x.db' AS x", 'DETACH x', 'CREATE TEMP TABLE tt (v)']) {
    for (const call of [() => pool.run(sql), () => pool.exec(sql), () => pool.get(sql)]) {
      await assert.rejects(call(), (error: unknown) => {
        assert.ok(error instanceof ConnectionStateError, `${sql}: ${String(error)}`);
        assert.equal(error.code, 'ERR_CONNECTION_STATE');
        assert.match(error.message, /createPool\(\{ pragmas \}\)/);
        return true;
      });
    }
  }
  // Database-level PRAGMAs and reads of PRAGMAs are fine as one-shots.
  await pool.run('PRAGMA user_version = 7');
  assert.deepEqual(await pool.get('PRAGMA user_version'), { user_version: 7 });
  const configured = testPool(t, { readers: 2, pragmas: { foreign_keys: false } });
  const leases = await Promise.all([configured.acquire({ write: true }), configured.acquire(), configured.acquire()]);
  try {
    for (const lease of leases) assert.deepEqual(await lease.get('PRAGMA foreign_keys'), { foreign_keys: 0 });
  } finally {
    for (const lease of leases) void lease.release();
  }
});

test('a lease released inside a transaction is rolled back before anyone else gets the connection, and its holder learns it', async (t) => {
  const pool = testPool(t);
  const warnings: LitepoolWarning[] = [];
  pool.on('warning', (warning) => warnings.push(warning));
  await pool.exec('CREATE TABLE t (v INTEGER)');
  const lease = await pool.acquire({ write: true });
  await lease.exec('BEGIN IMMEDIATE');
  await lease.run('INSERT INTO t VALUES (1)');
  const released = await within(5_000, lease.release(), 'release inside a transaction');
  assert.deepEqual(released, { rolledBack: true });
  assert.equal(warnings[0]?.code, 'LITEPOOL_LEASE_ROLLED_BACK');
  // The next holder gets a connection in autocommit: its transaction begins, and its write commits.
  await pool.transaction(async (tx) => void (await tx.run('INSERT INTO t VALUES (2)')));
  await pool.run('INSERT INTO t VALUES (3)');
  assert.deepEqual(await pool.all('SELECT v FROM t ORDER BY v'), [{ v: 2 }, { v: 3 }]);
  // A clean release says so.
  const clean = await pool.acquire({ write: true });
  assert.deepEqual(await clean.release(), { rolledBack: false });
});

test('settings a lease changed do not reach the next holder', async (t) => {
  const pool = testPool(t, { readers: 0 });
  await pool.exec('CREATE TABLE t (v INTEGER)');
  const lease = await pool.acquire({ write: true });
  await lease.run('PRAGMA foreign_keys = OFF');
  await lease.exec('CREATE TEMP TABLE scratch (v); PRAGMA query_only = 1');
  assert.deepEqual(await lease.get('PRAGMA foreign_keys'), { foreign_keys: 0 });
  await lease.release();
  const next = await pool.acquire({ write: true });
  try {
    assert.deepEqual(await next.get('PRAGMA foreign_keys'), { foreign_keys: 1 });
    assert.deepEqual(await next.get('PRAGMA query_only'), { query_only: 0 });
    assert.deepEqual(await next.get("SELECT count(*) AS n FROM temp.sqlite_master WHERE name = 'scratch'"), { n: 0 });
  } finally {
    await next.release();
  }
  await pool.run('INSERT INTO t VALUES (1)');
});

test('transaction control inside a transaction callback is refused; the transaction stays whole', async (t) => {
  const pool = testPool(t);
  await pool.exec('CREATE TABLE t (v INTEGER)');
  // The reported case: COMMIT from inside, a second write, then a throw. Neither write may survive.
  await assert.rejects(
    pool.transaction(async (tx) => {
      await tx.run('INSERT INTO t VALUES (1)');
      await assert.rejects(tx.exec('COMMIT'), transactionControl);
      await assert.rejects(tx.run('ROLLBACK'), transactionControl);
      await assert.rejects(tx.exec('INSERT INTO t VALUES (9); COMMIT'), transactionControl);
      await assert.rejects(tx.exec('RELEASE litepool_sp_1'), transactionControl);
      await tx.run('INSERT INTO t VALUES (2)');
      throw new Error('give up');
    }),
    /give up/,
  );
  assert.deepEqual(await pool.all('SELECT v FROM t'), []);
  // The caller's own savepoints are fine: they never end the outer transaction.
  await pool.transaction(async (tx) => {
    await tx.exec('SAVEPOINT mine; INSERT INTO t VALUES (3); ROLLBACK TO mine; INSERT INTO t VALUES (4); RELEASE mine');
  });
  assert.deepEqual(await pool.all('SELECT v FROM t'), [{ v: 4 }]);
});

test('a read transaction cannot write, whatever the reader count', async (t) => {
  for (const readers of [0, 2]) {
    const pool = testPool(t, { readers });
    await pool.exec('CREATE TABLE t (v INTEGER)');
    await pool.transaction(
      async (tx) => {
        await assert.rejects(tx.exec('PRAGMA query_only=0; INSERT INTO t VALUES (1)'), { code: 'ERR_READ_ONLY' });
        await assert.rejects(tx.run('PRAGMA query_only = 0'), { code: 'ERR_READ_ONLY' });
        await assert.rejects(tx.run('INSERT INTO t VALUES (2)'), { code: 'ERR_READ_ONLY' });
        await assert.rejects(tx.exec('INSERT INTO t VALUES (3)'), (error: unknown) =>
          ['ERR_READ_ONLY', 'SQLITE_READONLY'].includes((error as TransactionError).code),
        );
      },
      { mode: 'read' },
    );
    assert.deepEqual(await pool.all('SELECT v FROM t'), [], `readers: ${readers}`);
  }
});

test('statements SQLite calls read-only but that change the connection never go to a reader', async (t) => {
  const pool = testPool(t, { readers: 2 });
  // BEGIN, ATTACH and PRAGMA query_only used to be routed to a reader, where they did nothing useful.
  await assert.rejects(pool.run('BEGIN'), transactionControl);
  await assert.rejects(pool.run("ATTACH 'other.db' AS other"), ConnectionStateError);
  await assert.rejects(pool.run('PRAGMA query_only=1'), ConnectionStateError);
  assert.equal(pool.stats().readBatches.requests, 0);
});

test('VACUUM as a one-shot write works under group commit (it runs outside the group)', async (t) => {
  const pool = testPool(t, { strategy: 'single-writer' });
  await pool.exec('CREATE TABLE t (v INTEGER)');
  await Promise.all([pool.run('INSERT INTO t VALUES (1)'), pool.exec('VACUUM'), pool.run('INSERT INTO t VALUES (2)')]);
  assert.deepEqual(await pool.get('SELECT count(*) AS n FROM t'), { n: 2 });
});
