/**
 * groupTransactions (single-writer, file-lock): queued pool.transaction calls
 * share one outer transaction and one COMMIT, each in its own SAVEPOINT.
 */
import { createStrategy, type Transaction } from '@litepool/core';
import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { testPool, tick } from './helpers/pool.js';

for (const name of ['single-writer', 'file-lock'] as const) {
  describe(`${name} with groupTransactions`, () => {
    const strategy = { name, groupTransactions: true } as const;

    test('64 handlers x 10 read-modify-write transactions: exact, in far fewer COMMITs', async (t) => {
      const pool = testPool(t, { strategy });
      await pool.exec('CREATE TABLE c (n INTEGER); INSERT INTO c VALUES (0)');
      await Promise.all(
        Array.from({ length: 64 }, async () => {
          for (let i = 0; i < 10; i++) {
            await pool.transaction(async (tx) => {
              const { n } = (await tx.get<{ n: number }>('SELECT n FROM c'))!;
              await tick();
              await tx.run('UPDATE c SET n = ?', [n + 1]);
            });
          }
        }),
      );
      assert.deepEqual(await pool.get('SELECT n FROM c'), { n: 640 });
      const { groups, transactions } = pool.stats().transactionGroups;
      t.diagnostic(`${transactions} transactions in ${groups} groups`);
      assert.equal(transactions, 640);
      assert.ok(groups < 640 / 4, `grouped: ${groups} groups`);
    });

    test('a member that throws rolls back alone; its nested savepoints work; the others commit', async (t) => {
      const pool = testPool(t, { strategy });
      await pool.exec('CREATE TABLE t (v INTEGER)');
      const results = await Promise.allSettled([
        pool.transaction((tx) => tx.run('INSERT INTO t VALUES (1)')),
        pool.transaction(async (tx) => {
          await tx.run('INSERT INTO t VALUES (2)');
          throw new Error('member 2 fails');
        }),
        pool.transaction(async (tx) => {
          await tx.run('INSERT INTO t VALUES (3)');
          await tx.transaction((inner) => inner.run('INSERT INTO t VALUES (4)')).catch(() => {});
          await assert.rejects(
            tx.transaction(async (inner) => {
              await inner.run('INSERT INTO t VALUES (5)');
              throw new Error('inner');
            }),
          );
          return 'three';
        }),
      ]);
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'rejected', 'fulfilled'],
      );
      assert.equal((results[2] as PromiseFulfilledResult<string>).value, 'three');
      assert.deepEqual(await pool.all('SELECT v FROM t ORDER BY v'), [{ v: 1 }, { v: 3 }, { v: 4 }]);
    });

    for (const stop of ['an AbortSignal', 'a statement timeout'] as const) {
      test(`a member whose endless write is stopped by ${stop} rejects alone; the members before and after it commit`, async (t) => {
        const pool = testPool(t, { strategy });
        await pool.exec('CREATE TABLE t (v INTEGER)');
        const endless = 'INSERT INTO t WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c';
        const options = stop === 'an AbortSignal' ? { signal: AbortSignal.timeout(150) } : { timeoutMs: 150 };
        // Hold the writer so the members queue up and run as one group; member 4 is stopped mid-write, which
        // ends the whole SQLite transaction: the others must run again, not be rejected with its error.
        const gate = await pool.acquire({ write: true });
        const members = Array.from({ length: 9 }, (_, i) =>
          pool.transaction(async (tx) => {
            await tx.run('INSERT INTO t VALUES (?)', [-i]);
            if (i === 4) await tx.run(endless, [], options);
            return i;
          }),
        );
        void gate.release();
        const settled = await Promise.allSettled(members);
        const code = stop === 'an AbortSignal' ? 'ABORT_ERR' : 'ERR_STATEMENT_TIMEOUT';
        assert.deepEqual(
          settled.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as { code: string }).code)),
          [0, 1, 2, 3, code, 5, 6, 7, 8],
        );
        const rows = await pool.all<{ v: number }>('SELECT v FROM t ORDER BY v DESC');
        assert.deepEqual(
          rows.map((row) => row.v),
          [0, -1, -2, -3, -5, -6, -7, -8],
        );
      });
    }

    test('a COMMIT that fails on a deferred foreign key one member left: each runs again in a transaction of its own, and only that one fails', async (t) => {
      const pool = testPool(t, { strategy, pragmas: { foreign_keys: 1 } });
      await pool.exec(
        'CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (p INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)',
      );
      // Hold the writer so the three queue up and run as one group.
      const gate = await pool.acquire({ write: true });
      const runs = [0, 0, 0];
      const ran = (i: number): void => void (runs[i] = (runs[i] ?? 0) + 1);
      const members = [
        pool.transaction((tx) => (ran(0), tx.run('INSERT INTO parent VALUES (1)'))),
        pool.transaction((tx) => (ran(1), tx.run('INSERT INTO child VALUES (99)'))), // no parent 99: fails at COMMIT
        pool.transaction((tx) => (ran(2), tx.run('INSERT INTO parent VALUES (2)'))),
      ];
      const groupsBefore = pool.stats().transactionGroups.groups;
      void gate.release();
      const settled = await Promise.allSettled(members);
      assert.deepEqual(
        settled.map((r) => r.status),
        ['fulfilled', 'rejected', 'fulfilled'],
      );
      assert.equal((settled[1] as PromiseRejectedResult).reason.code, 'SQLITE_CONSTRAINT_FOREIGNKEY');
      assert.deepEqual(runs, [2, 2, 2], 'each ran in the group, then again alone');
      assert.equal(pool.stats().transactionGroups.groups - groupsBefore, 1, 'they ran as one group first');
      assert.deepEqual(await pool.all('SELECT id FROM parent ORDER BY id'), [{ id: 1 }, { id: 2 }]);
      assert.deepEqual(await pool.all('SELECT p FROM child'), []);
    });

    test('a group whose every member failed is rolled back, not committed: another connection sees no new snapshot', async (t) => {
      const pool = testPool(t, { strategy });
      await pool.exec('CREATE TABLE t (v INTEGER PRIMARY KEY); INSERT INTO t VALUES (0)');
      const other = new Database(pool.options.filename);
      t.after(() => other.close());
      const snapshot = (): unknown => other.pragma('data_version', { simple: true });
      const group = async (members: ((tx: Transaction) => Promise<unknown>)[]): Promise<string[]> => {
        // Hold the writer so the members queue up and run as one group.
        const gate = await pool.acquire({ write: true });
        const before = pool.stats().transactionGroups.groups;
        const settled = members.map((fn) => pool.transaction(fn));
        void gate.release();
        const outcomes = await Promise.allSettled(settled);
        assert.equal(pool.stats().transactionGroups.groups - before, 1, 'one group');
        return outcomes.map((r) => r.status);
      };
      const seen = snapshot();
      const failing = [
        async (tx: Transaction) => {
          await tx.run('INSERT INTO t VALUES (1)');
          throw new Error('undone after a write');
        },
        (tx: Transaction) => tx.run('INSERT INTO t VALUES (0)'), // a duplicate key
        async (tx: Transaction) => {
          await tx.run('UPDATE t SET v = 5');
          throw new Error('undone after an update');
        },
      ];
      assert.deepEqual(await group(failing), ['rejected', 'rejected', 'rejected']);
      assert.equal(snapshot(), seen, 'nothing was committed');
      // The same with one member that commits: the other connection sees it (the check above could fail).
      assert.deepEqual(await group([...failing, (tx) => tx.run('INSERT INTO t VALUES (2)')]), [
        'rejected',
        'rejected',
        'rejected',
        'fulfilled',
      ]);
      assert.notEqual(snapshot(), seen);
      assert.deepEqual(await pool.all('SELECT v FROM t ORDER BY v'), [{ v: 0 }, { v: 2 }]);
    });

    test('read and deferred transactions are not grouped; close drains the queue; destroy rejects it', async (t) => {
      const pool = testPool(t, { strategy });
      await pool.exec('CREATE TABLE t (v INTEGER)');
      await pool.transaction((tx) => tx.get('SELECT 1'), { mode: 'read' });
      await pool.transaction((tx) => tx.run('INSERT INTO t VALUES (0)'), { mode: 'deferred' });
      assert.deepEqual(pool.stats().transactionGroups, { groups: 0, transactions: 0 });
      const queued = Array.from({ length: 5 }, (_, i) => pool.transaction((tx) => tx.run('INSERT INTO t VALUES (?)', [i + 1])));
      await pool.close();
      await Promise.all(queued);
      const check = testPool(t, { filename: pool.options.filename, strategy });
      assert.deepEqual(await check.get('SELECT count(*) AS n FROM t'), { n: 6 });
      const gate = await check.acquire({ write: true });
      const doomed = check.transaction((tx) => tx.run('INSERT INTO t VALUES (7)'));
      const destroyed = check.destroy();
      void gate.release();
      await assert.rejects(doomed, { code: 'ERR_POOL_CLOSED' });
      await destroyed;
    });
  });
}

test('groupTransactions must be a boolean', () => {
  assert.throws(() => createStrategy({ name: 'file-lock', groupTransactions: 'yes' }), {
    code: 'ERR_INVALID_OPTIONS',
    message: /file-lock\.groupTransactions must be true or false/,
  });
  assert.throws(() => createStrategy({ name: 'single-writer', groupTransactions: 1 }), { code: 'ERR_INVALID_OPTIONS' });
  assert.throws(() => createStrategy({ name: 'wal', groupTransactions: true }), {
    code: 'ERR_INVALID_OPTIONS',
    message: /Unknown option wal\.groupTransactions/,
  });
});
