/** wal: idle checkpoints keep the WAL bounded, and its size is reported in stats(). */
import { createPool } from '@litepool/core';
import { wal } from '@litepool/core';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { within } from './helpers/pool.js';
import { tempDb, tempDir } from './helpers/temp.js';

test('the WAL is truncated at idle once past maxWalBytes, and walBytes reports it', async (t) => {
  const filename = tempDb(t);
  const maxWalBytes = 256 * 1024;
  const pool = createPool({ filename, strategy: wal({ maxWalBytes, autoCheckpointPages: 0 }) });
  t.after(() => pool.close());
  await pool.exec('CREATE TABLE blob (data BLOB)');
  await pool.transaction(async (tx) => {
    for (let i = 0; i < 200; i++) await tx.run('INSERT INTO blob VALUES (randomblob(10000))');
  });
  // With SQLite's auto-checkpoint off, the WAL now holds about 2 MB.
  assert.ok(statSync(`${filename}-wal`).size > maxWalBytes);
  await within(
    10_000,
    (async () => {
      while ((pool.stats().strategyStats.walTruncations as number) < 1) await new Promise((resolve) => setTimeout(resolve, 10));
    })(),
    'the idle checkpoint',
  );
  const { walBytes, checkpoints } = pool.stats().strategyStats;
  assert.ok((checkpoints as number) >= 1);
  assert.ok((walBytes as number) <= maxWalBytes, `walBytes ${String(walBytes)} after truncation`);
  assert.equal(statSync(`${filename}-wal`).size, walBytes);
  assert.deepEqual(await pool.get('SELECT count(*) AS n FROM blob'), { n: 200 });
});

test('wal options are validated', () => {
  assert.throws(() => wal({ maxWalBytes: -1 }), { message: 'wal.maxWalBytes must be an integer >= 0, got -1' });
  assert.throws(() => wal({ synchronous: 'SOMETIMES' as never }), {
    message: 'wal.synchronous must be one of "OFF", "NORMAL", "FULL", "EXTRA", got "SOMETIMES"',
  });
});

test('PRAGMA wal_checkpoint runs outside any group commit and returns its row (busy, log, checkpointed)', async (t) => {
  const pool = createPool({ filename: tempDb(t) });
  t.after(() => pool.close());
  await pool.run('CREATE TABLE t (v)');
  // Writes queued beside it would be group-committed with it in one transaction, where SQLite refuses a checkpoint (SQLITE_LOCKED).
  const [checkpoint] = await Promise.all([
    pool.get<{ busy: number; log: number; checkpointed: number }>('PRAGMA wal_checkpoint'),
    ...Array.from({ length: 8 }, (_, i) => pool.run('INSERT INTO t VALUES (?)', [i])),
  ]);
  assert.deepEqual(Object.keys(checkpoint ?? {}), ['busy', 'log', 'checkpointed']);
  assert.equal(checkpoint?.busy, 0);
  await pool.run('INSERT INTO t VALUES (9)');
  assert.deepEqual(await pool.all('PRAGMA wal_checkpoint(TRUNCATE)'), [{ busy: 0, log: 0, checkpointed: 0 }]);
  assert.deepEqual(await pool.get('SELECT count(*) AS n FROM t'), { n: 9 });
});

test("a new file switches to WAL (from an in-memory journal) and an existing one opens in it, with the pool's synchronous level", async (t) => {
  const dir = tempDir(t);
  for (const synchronous of ['NORMAL', 'FULL', 'OFF'] as const) {
    for (const round of ['new file', 'existing file']) {
      const pool = createPool({ filename: join(dir, `${synchronous}.db`), strategy: wal({ synchronous }) });
      const lease = await pool.acquire({ write: true });
      try {
        assert.deepEqual(await lease.get('PRAGMA journal_mode'), { journal_mode: 'wal' }, `${synchronous}, ${round}`);
        // The empty file's switch went through journal_mode = MEMORY; nothing of it stays.
        assert.deepEqual(await lease.get('PRAGMA synchronous'), { synchronous: LEVELS[synchronous] }, `${synchronous}, ${round}`);
        await lease.run('CREATE TABLE IF NOT EXISTS t (v)');
        await lease.run('INSERT INTO t VALUES (?)', [round]);
      } finally {
        await lease.release();
      }
      await pool.close();
    }
    const pool = createPool({ filename: join(dir, `${synchronous}.db`) });
    assert.deepEqual(await pool.all('SELECT v FROM t'), [{ v: 'new file' }, { v: 'existing file' }]);
    await pool.close();
  }
});

const LEVELS = { OFF: 0, NORMAL: 1, FULL: 2 } as const;
