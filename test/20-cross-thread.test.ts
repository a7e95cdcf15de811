/**
 * Cross-thread clients: worker threads the app runs itself share one pool
 * (its readers and its single writer) through ports from pool.connectPort().
 */
import { connectClient, PoolClosedError, SqliteError, TransactionError } from '@litepool/core';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { testPool, within } from './helpers/pool.js';
import { STRATEGY_CASES } from './helpers/strategies.js';

const helpers = join(dirname(fileURLToPath(import.meta.url)), 'helpers');
const portWorker = join(helpers, 'port-worker.mjs');

describe('cross-thread clients', () => {
  for (const { label, config } of STRATEGY_CASES) {
    test(`${label}: 4 worker threads x 16 handlers x 10 increments through their clients end exact, without errors`, async (t) => {
      const pool = testPool(t, { strategy: config });
      await pool.exec('CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL); INSERT INTO counter VALUES (1, 0)');
      const outcomes = await Promise.all(
        Array.from({ length: 4 }, () => {
          const port = pool.connectPort();
          const worker = new Worker(portWorker, { workerData: { port, handlers: 16, increments: 10 }, transferList: [port] });
          return within(
            60_000,
            new Promise<{ errors: string[] }>((resolve, reject) => {
              worker.once('message', resolve);
              worker.once('error', reject);
            }),
            'a client worker',
          );
        }),
      );
      assert.deepEqual(
        outcomes.flatMap((o) => o.errors),
        [],
      );
      assert.deepEqual(await pool.get('SELECT n FROM counter'), { n: 640 });
    });
  }

  test('the client offers run/get/all/exec with typed results and typed errors', async (t) => {
    const pool = testPool(t);
    const client = connectClient(pool.connectPort());
    t.after(() => client.close());
    await client.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE, data BLOB)');
    const result = await client.run('INSERT INTO t (name, data) VALUES (?, ?)', ['a', Buffer.from([1, 2, 3])]);
    assert.deepEqual(result, { changes: 1, lastInsertRowid: 1 });
    const row = await client.get<{ name: string; data: Buffer }>('SELECT name, data FROM t WHERE id = ?', [1]);
    assert.equal(row?.name, 'a');
    assert.ok(Buffer.isBuffer(row?.data), 'BLOBs come back as Buffers');
    assert.deepEqual([...row.data], [1, 2, 3]);
    assert.deepEqual(await client.all('SELECT name FROM t WHERE name = :name', { name: 'a' }), [{ name: 'a' }]);
    const duplicate = await client.run('INSERT INTO t (name) VALUES (?)', ['a']).catch((error: unknown) => error);
    assert.ok(duplicate instanceof SqliteError);
    assert.equal(duplicate.code, 'SQLITE_CONSTRAINT_UNIQUE');
    await assert.rejects(client.get(''), { code: 'ERR_INVALID_ARGUMENT' });
  });

  test('transactions: commit, rollback on throw, nested savepoints, read mode refuses writes, tx closes after settling', async (t) => {
    const pool = testPool(t);
    const client = connectClient(pool.connectPort());
    t.after(() => client.close());
    await client.exec('CREATE TABLE t (v INTEGER)');
    await client.transaction(async (tx) => {
      await tx.run('INSERT INTO t VALUES (1)');
      await assert.rejects(
        tx.transaction(async (inner) => {
          await inner.run('INSERT INTO t VALUES (2)');
          throw new Error('inner fails');
        }),
        /inner fails/,
      );
      await tx.transaction((inner) => inner.run('INSERT INTO t VALUES (3)'));
    });
    await assert.rejects(
      client.transaction(async (tx) => {
        await tx.run('INSERT INTO t VALUES (4)');
        throw new Error('outer fails');
      }),
      /outer fails/,
    );
    assert.deepEqual(await pool.all('SELECT v FROM t ORDER BY v'), [{ v: 1 }, { v: 3 }]);
    await assert.rejects(
      client.transaction((tx) => tx.run('INSERT INTO t VALUES (5)'), { mode: 'read' }),
      { code: 'ERR_READ_ONLY' },
    );
    let leaked: { run(sql: string): Promise<unknown> } | undefined;
    await client.transaction((tx) => {
      leaked = tx;
    });
    await assert.rejects(leaked!.run('INSERT INTO t VALUES (6)'), (error: unknown) => error instanceof TransactionError);
  });

  test('a client that closes mid-transaction rolls it back and frees the writer', async (t) => {
    const pool = testPool(t, { acquireTimeoutMs: 5_000 });
    await pool.exec('CREATE TABLE t (v INTEGER)');
    const client = connectClient(pool.connectPort());
    let inside!: () => void;
    const entered = new Promise<void>((resolve) => (inside = resolve));
    const abandoned = client.transaction(async (tx) => {
      await tx.run('INSERT INTO t VALUES (1)');
      inside();
      await new Promise((resolve) => setTimeout(resolve, 50));
      await tx.run('INSERT INTO t VALUES (3)'); // the client is closed by now
    });
    await entered;
    client.close();
    await assert.rejects(abandoned, (error: unknown) => error instanceof PoolClosedError);
    assert.equal(client.closed, true);
    await within(5_000, pool.run('INSERT INTO t VALUES (2)'), 'a write after the client left');
    assert.deepEqual(await pool.all('SELECT v FROM t'), [{ v: 2 }]);
  });

  test('a worker thread that exits mid-transaction: rolled back, the writer is free', async (t) => {
    const pool = testPool(t, { acquireTimeoutMs: 5_000 });
    await pool.exec('CREATE TABLE t (v INTEGER)');
    const port = pool.connectPort();
    const worker = new Worker(join(helpers, 'port-abandon.mjs'), { workerData: { port }, transferList: [port] });
    await within(10_000, new Promise((resolve) => worker.once('message', resolve)), 'the worker entering its transaction');
    await worker.terminate();
    await within(5_000, pool.run('INSERT INTO t VALUES (2)'), 'a write after the worker exited');
    assert.deepEqual(await pool.all('SELECT v FROM t'), [{ v: 2 }]);
  });

  test('closing the pool lets client work drain, then closes the clients', async (t) => {
    const pool = testPool(t);
    await pool.exec('CREATE TABLE t (v INTEGER)');
    const client = connectClient(pool.connectPort());
    const inFlight = client.transaction(async (tx) => {
      await tx.run('INSERT INTO t VALUES (1)');
      await new Promise((resolve) => setTimeout(resolve, 50));
      await tx.run('INSERT INTO t VALUES (2)');
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    const closing = pool.close();
    await inFlight;
    await closing;
    await within(
      2_000,
      (async () => {
        while (!client.closed) await new Promise((resolve) => setTimeout(resolve, 5));
      })(),
      'the client noticing the pool closed',
    );
    await assert.rejects(client.get('SELECT 1'), (error: unknown) => error instanceof PoolClosedError);
    assert.throws(() => pool.connectPort(), { code: 'ERR_POOL_CLOSED' });
    assert.throws(() => connectClient({} as never), { code: 'ERR_INVALID_ARGUMENT' });
  });
});
