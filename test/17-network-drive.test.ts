/**
 * Two hosts, one database on a network drive: two processes, each through its
 * own FUSE mount of one directory (sshfs over loopback SSH, and bindfs), each
 * with a pool of 32 async handlers doing read-modify-write increments.
 */
import { createPool, type StrategyConfig } from '@litepool/core';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { networkDrive } from './helpers/network-drive.js';
import { runProcesses } from './helpers/processes.js';
import { createCounterDatabase, type WorkloadResult } from './helpers/workloads.js';

const HANDLERS = 32;
const INCREMENTS = 10;

async function twoHosts(hostA: string, hostB: string, strategy: StrategyConfig) {
  await createCounterDatabase(join(hostA, 'app.db'), strategy);
  const job = { strategy, workload: 'counter' as const, handlers: HANDLERS, operations: INCREMENTS };
  const results = await Promise.allSettled([
    runProcesses<WorkloadResult>(1, { ...job, filename: join(hostA, 'app.db') }),
    runProcesses<WorkloadResult>(1, { ...job, filename: join(hostB, 'app.db') }),
  ]);
  return results;
}

for (const kind of ['sshfs', 'bindfs'] as const) {
  describe(`network drive: ${kind}`, () => {
    test('the default strategy there is file-lock, and wal is refused', async (t) => {
      const drive = networkDrive(t, kind);
      if (drive === undefined) return;
      const pool = createPool({ filename: join(drive.hostA, 'default.db') });
      t.after(() => pool.close());
      assert.equal(pool.strategy.name, 'file-lock');
      const refused = createPool({ filename: join(drive.hostA, 'wal.db'), strategy: 'wal' });
      t.after(() => refused.destroy());
      await assert.rejects(refused.get('SELECT 1'), { code: 'ERR_STRATEGY_UNSUPPORTED' });
    });

    test(`file-lock: 2 hosts x ${HANDLERS} handlers x ${INCREMENTS} increments end exact, intact, without errors`, async (t) => {
      const drive = networkDrive(t, kind);
      if (drive === undefined) return;
      const started = performance.now();
      const settled = await twoHosts(drive.hostA, drive.hostB, { name: 'file-lock' });
      const results = settled.flatMap((r) => {
        assert.equal(r.status, 'fulfilled', r.status === 'rejected' ? String(r.reason) : '');
        return r.value;
      });
      const check = createPool({ filename: join(drive.hostB, 'app.db'), strategy: { name: 'file-lock' } });
      t.after(() => check.close());
      const { n } = (await check.get<{ n: number }>('SELECT n FROM counter WHERE id = 1'))!;
      t.diagnostic(
        `${kind}, file-lock: ${n} of ${2 * HANDLERS * INCREMENTS}, ${results.flatMap((r) => r.errors).length} errors, ${(performance.now() - started).toFixed(0)} ms`,
      );
      assert.deepEqual(
        results.flatMap((r) => r.errors),
        [],
      );
      assert.equal(n, 2 * HANDLERS * INCREMENTS);
      assert.deepEqual(await check.get('PRAGMA integrity_check'), { integrity_check: 'ok' });
    });

    test('plain SQLite locking (no cross-host lock) really loses updates or fails there', async (t) => {
      const drive = networkDrive(t, kind);
      if (drive === undefined) return;
      // mutex: SQLite's own locks and BEGIN IMMEDIATE, which a FUSE mount keeps per host.
      const settled = await twoHosts(drive.hostA, drive.hostB, { name: 'mutex' });
      const failedProcesses = settled.filter((r) => r.status === 'rejected').length;
      const results = settled.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
      const errors = results.flatMap((r) => r.errors).length;
      let final: number | string;
      try {
        const check = createPool({ filename: join(drive.hostA, 'app.db'), strategy: { name: 'file-lock' } });
        try {
          final = (await check.get<{ n: number }>('SELECT n FROM counter WHERE id = 1'))!.n;
        } finally {
          await check.destroy();
        }
      } catch (error) {
        final = `unreadable (${(error as { code?: string }).code ?? String(error)})`;
      }
      t.diagnostic(
        `${kind}, plain locking: final ${final} of ${2 * HANDLERS * INCREMENTS}, ${errors} errors, ${failedProcesses} crashed processes`,
      );
      assert.ok(
        failedProcesses > 0 || errors > 0 || final !== 2 * HANDLERS * INCREMENTS,
        'the hazard should show without the cross-host lock',
      );
    });
  });
}
