/**
 * The contract suite: the whole core API behaves the same whichever strategy
 * coordinates access, and whichever backend holds the data.
 */
import { SqliteError, type Pool } from '@litepool/core';
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { tick } from './pool.js';
import { runCounter, setupCounter } from './workloads.js';

/** How the suite gets its pools. */
export interface ContractTarget {
  /** The strategy name the pools report. */
  readonly strategy: string;
  /** A fresh pool with an empty database (closed after the test). */
  readonly pool: (t: TestContext) => Promise<Pool>;
  /** A second pool on the same database as `pool`. */
  readonly reopen: (pool: Pool) => Pool;
}

/** Registers the contract suite for one target. */
export function contractSuite(label: string, target: ContractTarget): void {
  const { strategy, reopen } = target;
  describe(`contract: ${label}`, () => {
    async function open(t: TestContext): Promise<Pool> {
      const pool = await target.pool(t);
      await pool.exec('CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, data BLOB)');
      return pool;
    }

    test('reports its strategy and capabilities', async (t) => {
      const pool = await open(t);
      assert.equal(pool.strategy.name, strategy);
      assert.equal(pool.stats().strategy, strategy);
      assert.equal(typeof pool.strategy.capabilities.crossProcess, 'boolean');
    });

    test('run, get, all, iterate and BLOBs', async (t) => {
      const pool = await open(t);
      assert.deepEqual(await pool.run('INSERT INTO item (name, data) VALUES (?, ?)', ['a', Buffer.from('xyz')]), {
        changes: 1,
        lastInsertRowid: 1,
      });
      await pool.run('INSERT INTO item (name) VALUES (:name)', { name: 'b' });
      const a = await pool.get<{ name: string; data: Buffer }>('SELECT name, data FROM item WHERE id = 1');
      assert.equal(a?.name, 'a');
      assert.deepEqual(a?.data, Buffer.from('xyz'));
      assert.deepEqual(await pool.all('SELECT name FROM item ORDER BY id'), [{ name: 'a' }, { name: 'b' }]);
      const names: string[] = [];
      for await (const row of pool.iterate<{ name: string }>('SELECT name FROM item ORDER BY id')) names.push(row.name);
      assert.deepEqual(names, ['a', 'b']);
    });

    test('transactions commit, roll back, and nest as savepoints', async (t) => {
      const pool = await open(t);
      await pool.transaction(async (tx) => {
        await tx.run("INSERT INTO item (name) VALUES ('kept')");
        await tick();
        await tx.transaction(async (inner) => {
          await inner.run("INSERT INTO item (name) VALUES ('inner kept')");
        });
        await assert.rejects(
          tx.transaction(async (inner) => {
            await inner.run("INSERT INTO item (name) VALUES ('inner dropped')");
            throw new Error('drop');
          }),
        );
      });
      await assert.rejects(
        pool.transaction(async (tx) => {
          await tx.run("INSERT INTO item (name) VALUES ('dropped')");
          throw new Error('drop');
        }),
      );
      assert.deepEqual(await pool.all('SELECT name FROM item ORDER BY id'), [{ name: 'kept' }, { name: 'inner kept' }]);
    });

    test('a deferred transaction reads, then writes (in it and in a savepoint), and commits', async (t) => {
      const pool = await open(t);
      await pool.run("INSERT INTO item (name) VALUES ('a')");
      const counted = await pool.transaction(
        async (tx) => {
          const before = await tx.get<{ n: number }>('SELECT count(*) AS n FROM item');
          await tx.run("INSERT INTO item (name) VALUES ('b')");
          await tx.transaction(async (inner) => {
            await inner.get('SELECT count(*) AS n FROM item');
            await inner.run("INSERT INTO item (name) VALUES ('c')");
          });
          return before?.n;
        },
        { mode: 'deferred' },
      );
      assert.equal(counted, 1);
      assert.deepEqual(await pool.all('SELECT name FROM item ORDER BY id'), [{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
    });

    test('read transactions read and refuse writes', async (t) => {
      const pool = await open(t);
      await pool.run("INSERT INTO item (name) VALUES ('r')");
      await pool.transaction(
        async (tx) => {
          assert.deepEqual(await tx.get('SELECT count(*) AS n FROM item'), { n: 1 });
          await assert.rejects(tx.run("INSERT INTO item (name) VALUES ('w')"), { code: 'ERR_READ_ONLY' });
        },
        { mode: 'read' },
      );
    });

    test('64 handlers x 10 increments across awaits end exact', async (t) => {
      const pool = await open(t);
      await setupCounter(pool);
      const result = await runCounter(pool, 64, 10, true);
      assert.deepEqual(result.errors, []);
      assert.equal(result.outOfBounds, 0);
      assert.deepEqual(await pool.get('SELECT n FROM counter'), { n: 640 });
    });

    test('concurrent one-shot writes and reads all land', async (t) => {
      const pool = await open(t);
      const writes = Array.from({ length: 300 }, (_, i) => pool.run('INSERT INTO item (name) VALUES (?)', [`n${i}`]));
      const reads = Array.from({ length: 300 }, () => pool.get('SELECT count(*) AS n FROM item'));
      const results = await Promise.all([...writes, ...reads]);
      assert.equal(results.length, 600);
      assert.deepEqual(await pool.get('SELECT count(*) AS n FROM item'), { n: 300 });
      const ids = (await pool.all<{ id: number }>('SELECT id FROM item ORDER BY id')).map((row) => row.id);
      assert.deepEqual(
        ids,
        Array.from({ length: 300 }, (_, i) => i + 1),
      );
    });

    test('a failing write rejects alone; its neighbours land', async (t) => {
      const pool = await open(t);
      await pool.run("INSERT INTO item (id, name) VALUES (1, 'one')");
      const results = await Promise.allSettled([
        pool.run("INSERT INTO item (id, name) VALUES (2, 'two')"),
        pool.run("INSERT INTO item (id, name) VALUES (1, 'duplicate')"),
        pool.run("INSERT INTO item (id, name) VALUES (3, 'three')"),
      ]);
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'rejected', 'fulfilled'],
      );
      const error = (results[1] as PromiseRejectedResult).reason as SqliteError;
      assert.ok(error instanceof SqliteError);
      assert.equal(error.code, 'SQLITE_CONSTRAINT_PRIMARYKEY');
      assert.deepEqual(await pool.all('SELECT id FROM item ORDER BY id'), [{ id: 1 }, { id: 2 }, { id: 3 }]);
    });

    test('close drains queued work, then refuses', async (t) => {
      const pool = await open(t);
      const pending = Array.from({ length: 50 }, (_, i) => pool.run('INSERT INTO item (name) VALUES (?)', [String(i)]));
      await pool.close();
      await Promise.all(pending);
      await assert.rejects(pool.get('SELECT 1'), { code: 'ERR_POOL_CLOSED' });
      const check = reopen(pool);
      t.after(() => check.close());
      assert.deepEqual(await check.get('SELECT count(*) AS n FROM item'), { n: 50 });
    });
  });
}
