/** Transactions across awaits: commit, rollback, savepoints, misuse, read snapshots. */
import { ArgumentError, TransactionError, type Transaction } from '@litepool/core';
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { testPool, tick } from './helpers/pool.js';

async function setup(t: TestContext) {
  const pool = testPool(t);
  await pool.exec('CREATE TABLE a (id INTEGER PRIMARY KEY, v INTEGER)');
  return pool;
}

test('commits when the callback resolves and returns its value', async (t) => {
  const pool = await setup(t);
  const value = await pool.transaction(async (tx) => {
    await tx.run('INSERT INTO a (v) VALUES (1)');
    await tick();
    await tx.run('INSERT INTO a (v) VALUES (2)');
    return 'done';
  });
  assert.equal(value, 'done');
  assert.deepEqual(await pool.get('SELECT count(*) AS n FROM a'), { n: 2 });
});

test('a throw rolls back and rethrows the same error', async (t) => {
  const pool = await setup(t);
  const boom = new Error('boom');
  await assert.rejects(
    pool.transaction(async (tx) => {
      await tx.run('INSERT INTO a (v) VALUES (1)');
      throw boom;
    }),
    (error) => error === boom,
  );
  assert.deepEqual(await pool.get('SELECT count(*) AS n FROM a'), { n: 0 });
});

test('a failing statement inside, left uncaught, rolls the whole transaction back', async (t) => {
  const pool = await setup(t);
  await assert.rejects(
    pool.transaction(async (tx) => {
      await tx.run('INSERT INTO a (id, v) VALUES (1, 1)');
      await tx.run('INSERT INTO a (id, v) VALUES (1, 2)');
    }),
    { code: 'SQLITE_CONSTRAINT_PRIMARYKEY' },
  );
  assert.deepEqual(await pool.get('SELECT count(*) AS n FROM a'), { n: 0 });
});

test('nothing else runs on the writer while a transaction is open', async (t) => {
  const pool = await setup(t);
  const order: string[] = [];
  let inside!: () => void;
  const entered = new Promise<void>((resolve) => (inside = resolve));
  const transaction = pool.transaction(async (tx) => {
    await tx.run('INSERT INTO a (v) VALUES (1)');
    inside();
    await new Promise((resolve) => setTimeout(resolve, 50));
    order.push('tx end');
    // Still sees only its own row: the one-shot insert below has not run.
    assert.deepEqual(await tx.get('SELECT count(*) AS n FROM a'), { n: 1 });
  });
  await entered;
  const oneShot = pool.run('INSERT INTO a (v) VALUES (2)').then(() => order.push('one-shot'));
  await Promise.all([transaction, oneShot]);
  assert.deepEqual(order, ['tx end', 'one-shot']);
});

test('nested transactions are savepoints: an inner throw rolls back only the inner part', async (t) => {
  const pool = await setup(t);
  await pool.transaction(async (tx) => {
    await tx.run('INSERT INTO a (v) VALUES (1)');
    await assert.rejects(
      tx.transaction(async (inner) => {
        await inner.run('INSERT INTO a (v) VALUES (2)');
        throw new Error('inner');
      }),
      /inner/,
    );
    const kept = await tx.transaction(async (inner) => {
      await inner.run('INSERT INTO a (v) VALUES (3)');
      return inner.transaction(async (deeper) => {
        await deeper.run('INSERT INTO a (v) VALUES (4)');
        return 'deep';
      });
    });
    assert.equal(kept, 'deep');
  });
  assert.deepEqual(await pool.all('SELECT v FROM a ORDER BY v'), [{ v: 1 }, { v: 3 }, { v: 4 }]);
});

test('parent calls made during a nested transaction wait for it', async (t) => {
  const pool = await setup(t);
  await pool.transaction(async (tx) => {
    const inner = tx.transaction(async (child) => {
      await tick();
      await child.run('INSERT INTO a (v) VALUES (1)');
      throw new Error('undo child');
    });
    const outer = tx.run('INSERT INTO a (v) VALUES (2)'); // must not land inside the savepoint
    await assert.rejects(inner, /undo child/);
    await outer;
  });
  assert.deepEqual(await pool.all('SELECT v FROM a'), [{ v: 2 }]);
});

test('using tx after the callback settled rejects with ERR_TRANSACTION_CLOSED', async (t) => {
  const pool = await setup(t);
  let leaked!: Transaction;
  await pool.transaction(async (tx) => {
    leaked = tx;
  });
  for (const call of [
    () => leaked.run('INSERT INTO a (v) VALUES (1)'),
    () => leaked.get('SELECT 1'),
    () => leaked.all('SELECT 1'),
    () => leaked.exec('SELECT 1'),
  ]) {
    await assert.rejects(call(), (error: unknown) => {
      assert.ok(error instanceof TransactionError);
      assert.equal(error.code, 'ERR_TRANSACTION_CLOSED');
      return true;
    });
  }
  await assert.rejects(
    leaked.transaction(async () => {}),
    { code: 'ERR_TRANSACTION_CLOSED' },
  );
  await assert.rejects(leaked.iterate('SELECT 1').next(), { code: 'ERR_TRANSACTION_CLOSED' });
  assert.deepEqual(await pool.get('SELECT count(*) AS n FROM a'), { n: 0 });
});

test('mode "read" sees one snapshot and cannot write', async (t) => {
  const pool = await setup(t);
  await pool.run('INSERT INTO a (v) VALUES (1)');
  await pool.transaction(
    async (tx) => {
      assert.deepEqual(await tx.get('SELECT count(*) AS n FROM a'), { n: 1 });
      await pool.run('INSERT INTO a (v) VALUES (2)'); // committed by the writer meanwhile
      assert.deepEqual(await tx.get('SELECT count(*) AS n FROM a'), { n: 1 });
      await assert.rejects(tx.run('INSERT INTO a (v) VALUES (3)'), { code: 'ERR_READ_ONLY' });
    },
    { mode: 'read' },
  );
  assert.deepEqual(await pool.get('SELECT count(*) AS n FROM a'), { n: 2 });
});

test('mode "read" refuses writes even without readers', async (t) => {
  const pool = testPool(t, { readers: 0 });
  await pool.exec('CREATE TABLE a (v INTEGER)');
  await pool.transaction(
    async (tx) => {
      await assert.rejects(tx.run('INSERT INTO a VALUES (1)'), { code: 'ERR_READ_ONLY' });
      await assert.rejects(tx.exec('INSERT INTO a VALUES (1)'), { code: 'SQLITE_READONLY' });
    },
    { mode: 'read' },
  );
  assert.deepEqual(await pool.get('SELECT count(*) AS n FROM a'), { n: 0 });
});

test('mode "deferred" works and commits', async (t) => {
  const pool = await setup(t);
  await pool.transaction(async (tx) => void (await tx.run('INSERT INTO a (v) VALUES (5)')), { mode: 'deferred' });
  assert.deepEqual(await pool.get('SELECT v FROM a'), { v: 5 });
});

test('mode "deferred" reads, then writes: it moves to the writer and commits; a failed write there leaves it open; a stale snapshot ends it', async (t) => {
  const pool = await setup(t);
  await pool.run('CREATE UNIQUE INDEX a_v ON a (v)');
  await pool.run('INSERT INTO a (v) VALUES (1)');
  // Reads on a reader, then writes: the move's BEGIN IMMEDIATE rides with the first write.
  await pool.transaction(
    async (tx) => {
      const { n } = (await tx.get<{ n: number }>('SELECT count(*) AS n FROM a'))!;
      // The write that carries the move fails: SQLite keeps the transaction (now on the writer), and so does the pool.
      await assert.rejects(tx.run('INSERT INTO a (v) VALUES (1)'), { code: 'SQLITE_CONSTRAINT_UNIQUE' });
      await tx.run('INSERT INTO a (v) VALUES (?)', [n + 10]);
      await tx.run('INSERT INTO a (v) VALUES (12)');
    },
    { mode: 'deferred' },
  );
  assert.deepEqual(await pool.all('SELECT v FROM a ORDER BY v'), [{ v: 1 }, { v: 11 }, { v: 12 }]);
  // Another commit lands between its read and its first write: that write fails with SQLITE_BUSY_SNAPSHOT and writes nothing.
  const tx = await pool.begin({ mode: 'deferred' });
  assert.deepEqual(await tx.get('SELECT count(*) AS n FROM a'), { n: 3 });
  await pool.run('INSERT INTO a (v) VALUES (20)');
  await assert.rejects(tx.run('INSERT INTO a (v) VALUES (21)'), { code: 'SQLITE_BUSY_SNAPSHOT' });
  assert.equal(tx.active, false);
  await tx.rollback();
  assert.deepEqual(await pool.all('SELECT v FROM a WHERE v >= 20'), [{ v: 20 }]);
  // The writer is free again: a later transaction takes it at once.
  await pool.transaction((next) => next.run('INSERT INTO a (v) VALUES (30)'));
  assert.deepEqual(await pool.get('SELECT count(*) AS n FROM a'), { n: 5 });
});

test('commit({ keepOpenOnFailure }): a COMMIT refused on a deferred constraint leaves the transaction open, as SQLite does, to repair and commit or roll back; by default it rolls back', async (t) => {
  const pool = testPool(t);
  await pool.exec('CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (pid REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED)');
  for (const mode of ['immediate', 'deferred'] as const) {
    const tx = await pool.begin({ mode });
    await tx.run('INSERT INTO c VALUES (7)');
    await assert.rejects(tx.commit({ keepOpenOnFailure: true }), { code: 'SQLITE_CONSTRAINT_FOREIGNKEY' });
    assert.equal(tx.active, true, mode);
    assert.equal(tx.ended, false, mode);
    assert.deepEqual(await tx.all('SELECT pid FROM c'), [{ pid: 7 }], 'its writes are still there');
    await tx.run('INSERT INTO p VALUES (7)');
    await tx.commit({ keepOpenOnFailure: true });
    assert.equal(tx.ended, true);
    await assert.rejects(tx.run('SELECT 1'), { code: 'ERR_TRANSACTION_CLOSED' });
    assert.deepEqual(await pool.all('SELECT pid FROM c JOIN p ON p.id = c.pid'), [{ pid: 7 }], mode);
    await pool.exec('DELETE FROM c; DELETE FROM p');
    // Kept open, then rolled back: nothing of it stays, and the writer is free again.
    const kept = await pool.begin({ mode });
    await kept.run('INSERT INTO c VALUES (8)');
    await assert.rejects(kept.commit({ keepOpenOnFailure: true }), { code: 'SQLITE_CONSTRAINT_FOREIGNKEY' });
    await kept.rollback();
    assert.equal(kept.ended, true);
    // The default: the failed COMMIT rolled it back.
    const plain = await pool.begin({ mode });
    await plain.run('INSERT INTO c VALUES (9)');
    await assert.rejects(plain.commit(), { code: 'SQLITE_CONSTRAINT_FOREIGNKEY' });
    assert.equal(plain.ended, true);
    await assert.rejects(plain.run('SELECT 1'), { code: 'ERR_TRANSACTION_CLOSED' });
    assert.deepEqual(await pool.all('SELECT pid FROM c'), [], mode);
    await pool.run('INSERT INTO p VALUES (1)'); // nothing holds the writer
    await pool.run('DELETE FROM p');
  }
  // A transaction that never wrote commits as before.
  const reads = await pool.begin({ mode: 'deferred' });
  assert.deepEqual(await reads.get('SELECT count(*) AS n FROM c'), { n: 0 });
  await reads.commit({ keepOpenOnFailure: true });
  assert.equal(reads.ended, true);
});

test('mode "deferred": connection settings take no lock until it writes; defer_foreign_keys then applies to its writes', async (t) => {
  const pool = testPool(t);
  await pool.exec('CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (pid REFERENCES p(id))'); // foreign keys are on by default
  await pool.transaction(
    async (tx) => {
      await tx.run('PRAGMA read_uncommitted = ON'); // Sequelize's isolation level: no effect without a shared cache
      await tx.run('PRAGMA defer_foreign_keys = ON'); // Prisma's migrations: held for the writer
      await pool.run('INSERT INTO p VALUES (1)'); // the writer is free: the transaction has not taken it
      await tx.run('INSERT INTO c VALUES (7)'); // checked at COMMIT only
      await tx.run('INSERT INTO p VALUES (7)');
    },
    { mode: 'deferred' },
  );
  assert.deepEqual(await pool.all('SELECT pid FROM c'), [{ pid: 7 }]);
  // A setting that matters to reads (case_sensitive_like) moves the transaction to the writer, rather than fail on a shared reader.
  await pool.transaction(
    async (tx) => {
      await tx.run('PRAGMA case_sensitive_like = ON');
      assert.deepEqual(await tx.get("SELECT 'A' LIKE 'a' AS m"), { m: 0 });
    },
    { mode: 'deferred' },
  );
  assert.deepEqual(await pool.get("SELECT 'A' LIKE 'a' AS m"), { m: 1 }, 'the writer was reset when the transaction gave it back');
  // The deferral ended with its transaction: the next one checks each statement again.
  await assert.rejects(
    pool.transaction((tx) => tx.run('INSERT INTO c VALUES (8)'), { mode: 'deferred' }),
    { code: 'SQLITE_CONSTRAINT_FOREIGNKEY' },
  );
});

test('mode "deferred": an exec of queries alone reads on a reader, taking no lock, as SQLite runs it; a script that may write moves it', async (t) => {
  // A write held up by a transaction that took the writer fails after 2 s instead of hanging the test.
  const pool = testPool(t, { acquireTimeoutMs: 2_000 });
  await pool.exec('CREATE TABLE q (x)');
  await pool.transaction(
    async (tx) => {
      await tx.exec('SELECT count(*) FROM q; VALUES (1)');
      // On the build before, the exec took the writer: this insert waited for the transaction's end and failed.
      await pool.run('INSERT INTO q VALUES (1)');
      // The transaction reads the snapshot its exec began.
      assert.deepEqual(await tx.get('SELECT count(*) AS n FROM q'), { n: 0 });
      await assert.rejects(tx.exec('SELECT nope FROM q'), { code: 'SQLITE_ERROR' });
    },
    { mode: 'deferred' },
  );
  await pool.transaction(
    async (tx) => {
      await tx.exec('SELECT 1; INSERT INTO q VALUES (2)');
      assert.deepEqual(await tx.get('SELECT count(*) AS n FROM q'), { n: 2 });
    },
    { mode: 'deferred' },
  );
  assert.deepEqual(await pool.all('SELECT x FROM q ORDER BY x'), [{ x: 1 }, { x: 2 }]);
});

test('mode "deferred": savepoints before its first statement take no connection; they begin where it goes (the writer for a write, no reader opened)', async (t) => {
  const pool = testPool(t);
  await pool.exec('CREATE TABLE a (v)');
  // Knex's nesting: SAVEPOINT, then a write. The writer is free meanwhile, and the savepoints begin on it.
  await pool.transaction(
    async (tx) => {
      await tx.run('SAVEPOINT outer_sp');
      await tx.run('SAVEPOINT "inner sp"');
      await pool.run('INSERT INTO a VALUES (0)'); // not held up: the transaction has taken nothing yet
      await tx.run('INSERT INTO a VALUES (1)');
      await tx.run('ROLLBACK TO "inner sp"'); // the savepoints exist on the writer: the insert is undone
      await tx.run('INSERT INTO a VALUES (2)');
      await tx.run('RELEASE outer_sp');
    },
    { mode: 'deferred' },
  );
  assert.equal(pool.stats().readers, 0, 'no reader opened for the savepoints');
  assert.deepEqual(await pool.all('SELECT v FROM a ORDER BY v'), [{ v: 0 }, { v: 2 }]);
  // Savepoints held, then a read: they begin on the reader, so the savepoint statements after them find them there.
  await pool.transaction(
    async (tx) => {
      await tx.run('SAVEPOINT s1');
      assert.deepEqual(await tx.get('SELECT count(*) AS n FROM a'), { n: 2 });
      await tx.run('RELEASE s1');
      await assert.rejects(tx.run('RELEASE s1'), /no such savepoint: s1/);
      await tx.run('INSERT INTO a VALUES (3)');
    },
    { mode: 'deferred' },
  );
  assert.deepEqual(await pool.get('SELECT count(*) AS n FROM a'), { n: 3 });
  // A savepoint SQLite would refuse is not held: it fails itself, as it would in SQLite.
  await pool.transaction(
    async (tx) => {
      await assert.rejects(tx.run('SAVEPOINT select'), { code: 'SQLITE_ERROR' });
      await assert.rejects(tx.run('SAVEPOINT bound_sp', [1]), { code: 'ERR_QUERY' }); // values it has no place for
      await assert.rejects(tx.run('RELEASE never_opened'), /no such savepoint: never_opened/);
    },
    { mode: 'deferred' },
  );
});

test('more read transactions held at once than readers: each gets a connection, as SQLite never limits readers', async (t) => {
  const pool = testPool(t, { readers: 1, acquireTimeoutMs: 5_000 });
  await pool.exec('CREATE TABLE a (v); INSERT INTO a VALUES (1)');
  const held = [];
  for (let i = 0; i < 4; i++) {
    const tx = await pool.begin({ mode: i % 2 === 0 ? 'read' : 'deferred' });
    assert.deepEqual(await tx.get('SELECT count(*) AS n FROM a'), { n: 1 }); // the reader is lent: the next one opens another
    held.push(tx);
  }
  await pool.run('INSERT INTO a VALUES (2)');
  for (const tx of held) assert.deepEqual(await tx.get('SELECT count(*) AS n FROM a'), { n: 1 }, 'each keeps its snapshot');
  for (const tx of held) await tx.commit();
  assert.deepEqual(await pool.get('SELECT count(*) AS n FROM a'), { n: 2 });
});

test('readers opened for held read transactions close after extraReaderIdleMs unneeded; the pool keeps `readers`; Infinity keeps them', async (t) => {
  for (const extraReaderIdleMs of [300, Number.POSITIVE_INFINITY]) {
    const pool = testPool(t, { readers: 1, extraReaderIdleMs, inlineReads: false });
    await pool.exec('CREATE TABLE a (v); INSERT INTO a VALUES (1)');
    const held = await Promise.all([0, 1, 2].map(() => pool.begin({ mode: 'read' })));
    for (const tx of held) assert.deepEqual(await tx.get('SELECT v FROM a'), { v: 1 });
    assert.equal(pool.stats().readers, 3);
    for (const tx of held) await tx.commit();
    // Reads keep one reader busy meanwhile: the extras go (within 10 s on a loaded machine), the reader the pool keeps
    // stays. With Infinity nothing may go: 1.5 s is five idle windows of the finite case.
    const finite = Number.isFinite(extraReaderIdleMs);
    const until = Date.now() + (finite ? 10_000 : 1_500);
    while (Date.now() < until && !(finite && pool.stats().readers === 1)) {
      assert.deepEqual(await pool.get('SELECT v FROM a'), { v: 1 });
    }
    assert.equal(pool.stats().readers, Number.isFinite(extraReaderIdleMs) ? 1 : 3, `extraReaderIdleMs: ${extraReaderIdleMs}`);
    // And they open again for the next burst.
    const again = await Promise.all([0, 1].map(() => pool.begin({ mode: 'read' })));
    for (const tx of again) assert.deepEqual(await tx.get('SELECT v FROM a'), { v: 1 });
    for (const tx of again) await tx.commit();
    assert.ok(pool.stats().readers >= 2);
  }
});

test('a bad transaction callback is an ArgumentError, bad transaction options an OptionsError', async (t) => {
  const pool = await setup(t);
  await assert.rejects(pool.transaction('nope' as never), ArgumentError);
  await assert.rejects(
    pool.transaction(async () => {}, { mode: 'exclusive' as never }),
    {
      code: 'ERR_INVALID_OPTIONS',
      message: 'transaction.mode must be one of "immediate", "deferred", "read", got "exclusive"',
    },
  );
});

test('a lease holds its connection across awaits until release; release is idempotent', async (t) => {
  const pool = await setup(t);
  const lease = await pool.acquire({ write: true });
  assert.equal(lease.write, true);
  await lease.exec('BEGIN IMMEDIATE');
  await lease.run('INSERT INTO a (v) VALUES (1)');
  await tick();
  await lease.exec('COMMIT');
  void lease.release();
  void lease.release();
  await assert.rejects(lease.get('SELECT 1'), { code: 'ERR_TRANSACTION_CLOSED' });
  assert.deepEqual(await pool.get('SELECT count(*) AS n FROM a'), { n: 1 });
});
