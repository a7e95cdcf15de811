/** file-lock: a killed holder, a compromised lock, and its options. */
import { createPool, LockCompromisedError } from '@litepool/core';
import { fileLock } from '@litepool/core';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { within } from './helpers/pool.js';
import { tempDb, tempDir } from './helpers/temp.js';
import { createCounterDatabase, setupCounter } from './helpers/workloads.js';

const here = dirname(fileURLToPath(import.meta.url));

test('a holder killed with SIGKILL: the next process proceeds after the stale time, database intact', async (t) => {
  const filename = tempDb(t);
  await createCounterDatabase(filename, 'file-lock');

  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'helpers', 'hold-lock.ts'), filename, '2000'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => child.kill('SIGKILL'));
  await within(
    30_000,
    new Promise<void>((resolve) => child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('held') && resolve())),
    'the child taking the lock',
  );
  assert.ok(existsSync(`${filename}.lock`), 'the lock directory exists while held');
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));

  const pool = createPool({ filename, strategy: fileLock({ staleMs: 2000 }) });
  t.after(() => pool.close());
  const started = performance.now();
  await within(
    30_000,
    pool.transaction(async (tx) => {
      const { n } = (await tx.get<{ n: number }>('SELECT n FROM counter WHERE id = 1'))!;
      await tx.run('UPDATE counter SET n = ? WHERE id = 1', [n + 1]);
    }),
    'the transaction after the holder died',
  );
  const waited = performance.now() - started;
  t.diagnostic(`took over the stale lock after ${waited.toFixed(0)} ms`);
  assert.ok(waited >= 1000, `the lock was taken over only once stale (waited ${waited.toFixed(0)} ms)`);
  assert.deepEqual(await pool.all('SELECT id, n FROM counter ORDER BY id'), [{ id: 1, n: 1 }], 'the killed holder wrote nothing');
  assert.deepEqual(await pool.get('PRAGMA integrity_check'), { integrity_check: 'ok' });
});

test('a compromised lock fails in-flight work with ERR_LOCK_COMPROMISED, writes nothing, and the process lives on', async (t) => {
  const filename = tempDb(t);
  const pool = createPool({ filename, strategy: fileLock({ staleMs: 2000, updateMs: 1000 }) });
  t.after(() => pool.destroy());
  await setupCounter(pool);
  await assert.rejects(
    pool.transaction(async (tx) => {
      await tx.run('UPDATE counter SET n = 100 WHERE id = 1');
      // Block the event loop past the stale time: another process could have taken the lock meanwhile.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2500);
      await tx.run('UPDATE counter SET n = 200 WHERE id = 1');
    }),
    (error: unknown) => {
      assert.ok(error instanceof LockCompromisedError, String(error));
      assert.equal(error.code, 'ERR_LOCK_COMPROMISED');
      return true;
    },
  );
  assert.equal(pool.stats().strategyStats.compromised, 1);
  // The pool takes the lock again and goes on; nothing of the compromised transaction was committed.
  assert.deepEqual(await pool.get('SELECT n FROM counter WHERE id = 1'), { n: 0 });
  await pool.run('UPDATE counter SET n = n + 1 WHERE id = 1');
  assert.deepEqual(await pool.get('SELECT n FROM counter WHERE id = 1'), { n: 1 });
});

test('many queued operations run under one lock hold', async (t) => {
  const pool = createPool({ filename: tempDb(t), strategy: fileLock() });
  t.after(() => pool.close());
  await setupCounter(pool);
  await pool.close(); // releases the lock: the transactions below must take it afresh
  const fresh = createPool({ filename: pool.options.filename, strategy: fileLock() });
  t.after(() => fresh.close());
  const before = fresh.stats().strategyStats.lockAcquisitions as number;
  const holdsBefore = fresh.stats().strategyStats.holds as number;
  await Promise.all(
    Array.from({ length: 32 }, () =>
      fresh.transaction(async (tx) => {
        const { n } = (await tx.get<{ n: number }>('SELECT n FROM counter'))!;
        await tx.run('UPDATE counter SET n = ?', [n + 1]);
      }),
    ),
  );
  const acquisitions = (fresh.stats().strategyStats.lockAcquisitions as number) - before;
  const holds = (fresh.stats().strategyStats.holds as number) - holdsBefore;
  t.diagnostic(`32 transactions: ${holds} holds asked for, ${acquisitions} lock acquisitions`);
  assert.ok(holds >= 32, 'every transaction asked the strategy for access');
  assert.ok(acquisitions >= 1 && acquisitions <= 4, `expected few lock acquisitions for 32 queued transactions, got ${acquisitions}`);
  assert.deepEqual(await fresh.get('SELECT n FROM counter'), { n: 32 });
});

test('the lock location is configurable and refused when its directory is missing', async (t) => {
  const dir = tempDir(t);
  const lockfilePath = join(dir, 'custom.lock');
  const pool = createPool({ filename: join(dir, 'app.db'), strategy: fileLock({ lockfilePath }) });
  t.after(() => pool.close());
  const lease = await pool.acquire({ write: true });
  assert.ok(existsSync(lockfilePath));
  void lease.release();
  const missing = createPool({ filename: join(dir, 'b.db'), strategy: fileLock({ lockfilePath: join(dir, 'no', 'x.lock') }) });
  t.after(() => missing.destroy());
  await assert.rejects(missing.get('SELECT 1'), { code: 'ERR_STRATEGY_UNSUPPORTED' });
});

test('file-lock options are validated', () => {
  assert.throws(() => fileLock({ staleMs: 1000 }), { message: 'file-lock.staleMs must be an integer from 2000 to 2147483647, got 1000' });
  assert.throws(() => fileLock({ staleMs: 4000, updateMs: 4000 }), {
    message: 'file-lock.updateMs must be below file-lock.staleMs (4000), got 4000',
  });
  assert.throws(() => fileLock({ lockfilePath: '' }), { message: 'file-lock.lockfilePath must be a non-empty string, got ""' });
  assert.throws(() => fileLock({ stale: 3000 } as never), { message: 'Unknown option file-lock.stale; did you mean file-lock.staleMs?' });
});
