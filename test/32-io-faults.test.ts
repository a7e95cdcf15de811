/**
 * Faults mid-write: an I/O error reaches the callers as SqliteError with
 * SQLite's code (never a crashed worker), a connection in an unknown state is
 * reopened, the pool recovers as soon as the fault clears, and a hot journal
 * left by a killed peer never surfaces as an error.
 */
import { createPool, SqliteError, type Pool, type StrategyConfig } from '@litepool/core';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, statfsSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { faultyDrive, tinyDisk } from './helpers/fault-mounts.js';
import { within } from './helpers/pool.js';
import { tempDb } from './helpers/temp.js';

const peer = join(dirname(fileURLToPath(import.meta.url)), 'helpers', 'hot-journal-peer.mjs');

/** Settles `count` inserts of ids from `first`; returns the outcome codes and the ids acknowledged. */
async function inserts(pool: Pool, first: number, count: number): Promise<{ codes: Record<string, number>; acknowledged: number[] }> {
  const results = await within(
    30_000,
    Promise.allSettled(
      Array.from({ length: count }, (_, i) => pool.run('INSERT INTO t (id, pad) VALUES (?, randomblob(3000))', [first + i])),
    ),
    'inserts',
  );
  const codes: Record<string, number> = {};
  const acknowledged: number[] = [];
  results.forEach((result, i) => {
    const code = result.status === 'fulfilled' ? 'ok' : (result.reason as SqliteError).code;
    codes[code] = (codes[code] ?? 0) + 1;
    if (result.status === 'fulfilled') acknowledged.push(first + i);
    else assert.ok(result.reason instanceof SqliteError, `a typed SqliteError, got ${String(result.reason)}`);
  });
  return { codes, acknowledged };
}

/** Every acknowledged id is in the database, and the database is intact. */
async function assertIntact(pool: Pool, acknowledged: readonly number[]): Promise<void> {
  assert.deepEqual(await pool.get('PRAGMA integrity_check'), { integrity_check: 'ok' });
  const ids = new Set((await pool.all<{ id: number }>('SELECT id FROM t')).map((row) => row.id));
  assert.deepEqual(
    acknowledged.filter((id) => !ids.has(id)),
    [],
    'acknowledged writes missing',
  );
}

describe('EIO from the filesystem (a FUSE passthrough that fails on command)', () => {
  for (const strategy of [{ name: 'file-lock' }, { name: 'mutex' }, { name: 'file-lock', groupTransactions: true }] as StrategyConfig[]) {
    test(`${JSON.stringify(strategy)}: EIO on write and on fsync fails the callers with SQLITE_IOERR_*, crashes nothing, and clears with the fault`, async (t) => {
      const drive = await faultyDrive(t);
      if (drive === undefined) return;
      const pool = createPool({ filename: join(drive.dir, 'app.db'), strategy });
      try {
        await pool.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, pad BLOB)');
        const acknowledged = (await inserts(pool, 0, 10)).acknowledged;
        for (const [fault, code] of [
          ['write', 'SQLITE_IOERR_WRITE'],
          ['fsync', 'SQLITE_IOERR_FSYNC'],
        ] as const) {
          drive.fail(fault);
          const during = await inserts(pool, fault === 'write' ? 100 : 200, 20);
          assert.deepEqual(Object.keys(during.codes), [code], `${fault}: ${JSON.stringify(during.codes)}`);
          await assert.rejects(
            within(
              10_000,
              pool.transaction(async (tx) => void (await tx.run('INSERT INTO t (id) VALUES (?)', [300]))),
              'a transaction',
            ),
            { code },
          );
          drive.fail();
          const after = await inserts(pool, fault === 'write' ? 1000 : 2000, 5);
          assert.deepEqual(after.codes, { ok: 5 }, `after the ${fault} fault cleared`);
          acknowledged.push(...after.acknowledged);
        }
        assert.equal(pool.stats().crashes, 0, 'no worker thread died');
        await assertIntact(pool, acknowledged);
      } finally {
        await pool.close();
      }
    });
  }
});

describe('disk full (a tmpfs of 2 MiB, filled by a ballast file)', () => {
  for (const strategy of ['wal', 'single-writer', 'mutex']) {
    test(`${strategy}: writes fail with SQLITE_FULL while the disk is full; once space is freed, every write passes`, async (t) => {
      const disk = tinyDisk(t, 2048);
      if (disk === undefined) return;
      const pool = createPool({ filename: join(disk, 'app.db'), strategy });
      try {
        await pool.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, pad BLOB)');
        const acknowledged = (await inserts(pool, 0, 20)).acknowledged;
        // Fill the disk, leaving about 16 KiB free.
        const ballast = join(disk, 'ballast');
        const { bavail, bsize } = statfsSync(disk);
        writeFileSync(ballast, Buffer.alloc(Math.max(0, bavail * bsize - 16 * 1024)));
        let full = 0;
        for (let round = 0; round < 50 && full === 0; round++) {
          const attempt = await inserts(pool, 10_000 + round * 100, 20);
          acknowledged.push(...attempt.acknowledged);
          for (const [code, n] of Object.entries(attempt.codes)) {
            if (code === 'ok') continue;
            assert.match(code, /^SQLITE_(FULL|IOERR)/, `a disk-full failure, got ${code}`);
            full += n;
          }
        }
        assert.ok(full > 0, 'the disk filled up');
        unlinkSync(ballast);
        for (let round = 0; round < 3; round++) {
          const after = await inserts(pool, 50_000 + round * 10, 5);
          assert.deepEqual(after.codes, { ok: 5 }, `round ${round} after freeing space`);
          acknowledged.push(...after.acknowledged);
        }
        assert.equal(pool.stats().crashes, 0);
        await assertIntact(pool, acknowledged);
      } finally {
        await pool.close();
      }
    });
  }
});

test('mutex: a hot journal left by a killed peer never surfaces to a caller; the new write goes to the writer', async (t) => {
  const filename = tempDb(t);
  const pool = createPool({ filename, strategy: 'mutex', readers: 2 });
  try {
    await pool.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER, pad BLOB)');
    await pool.run('INSERT INTO t (v) VALUES (1)');
    assert.deepEqual(await pool.get('SELECT count(*) AS n FROM t'), { n: 1 }); // readers open and warm
    const child = spawn(process.execPath, [peer, filename], { stdio: ['ignore', 'pipe', 'inherit'] });
    await within(
      30_000,
      new Promise<void>((resolve) => child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve())),
      'the peer mid-transaction',
    );
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    assert.ok(existsSync(`${filename}-journal`), 'the peer left a hot journal');
    // A new statement's first sight is on a reader, which cannot roll the hot journal back.
    await within(10_000, pool.run('INSERT INTO t (v) VALUES (2)'), 'a new write after the kill');
    assert.deepEqual(await within(10_000, pool.all('SELECT v FROM t ORDER BY v'), 'a read'), [{ v: 1 }, { v: 2 }]);
    assert.deepEqual(await pool.get('PRAGMA integrity_check'), { integrity_check: 'ok' });
  } finally {
    await pool.close();
  }
});
