/**
 * Failure cases across two hosts on a network drive (two FUSE mounts of one
 * directory): a holder killed with SIGKILL, a holder whose event loop blocks
 * past the stale time, a stale-takeover race, and long-lived connections.
 */
import { createPool, type Pool } from '@litepool/core';
import { fileLock } from '@litepool/core';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { networkDrive } from './helpers/network-drive.js';
import { within } from './helpers/pool.js';
import { runScript } from './helpers/processes.js';
import { createCounterDatabase, setupCounter } from './helpers/workloads.js';

const helpers = join(dirname(fileURLToPath(import.meta.url)), 'helpers');

/** Starts a helper child and resolves once it prints `signal`; returns the child and its stdout so far. */
async function startChild(t: TestContext, script: string, args: string[], signal: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(helpers, script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await within(
    30_000,
    new Promise<void>((resolve) => child.stdout.on('data', () => out.includes(signal) && resolve())),
    `${script} ${signal}`,
  );
  return { child, output: () => out };
}

async function counterPool(t: TestContext, filename: string): Promise<Pool> {
  const pool = createPool({ filename, strategy: fileLock({ staleMs: 2000, retryMs: 5 }) });
  t.after(() => pool.close());
  return pool;
}

for (const kind of ['sshfs', 'bindfs'] as const) {
  describe(`network drive failures: ${kind}`, () => {
    test('a holder killed with SIGKILL: the other host proceeds after the stale time, database intact', async (t) => {
      const drive = networkDrive(t, kind);
      if (drive === undefined) return;
      await createCounterDatabase(join(drive.hostA, 'app.db'), 'file-lock');
      const { child } = await startChild(t, 'hold-lock.ts', [join(drive.hostA, 'app.db'), '2000'], 'held');
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      const pool = await counterPool(t, join(drive.hostB, 'app.db'));
      const started = performance.now();
      await within(60_000, pool.run('UPDATE counter SET n = n + 1 WHERE id = 1'), 'the write after the holder died');
      t.diagnostic(`${kind}: took over after ${(performance.now() - started).toFixed(0)} ms`);
      assert.deepEqual(await pool.all('SELECT id, n FROM counter ORDER BY id'), [{ id: 1, n: 1 }]);
      assert.deepEqual(await pool.get('PRAGMA integrity_check'), { integrity_check: 'ok' });
    });

    test('a holder blocked past the stale time notices, fails its work, writes nothing after, and lives on', async (t) => {
      const drive = networkDrive(t, kind);
      if (drive === undefined) return;
      await createCounterDatabase(join(drive.hostA, 'app.db'), 'file-lock');
      const blocker = await startChild(t, 'block-holder.ts', [join(drive.hostA, 'app.db'), '4000'], 'holding');
      // The other host takes the stale lock while the blocker's event loop is stuck, and writes.
      const pool = await counterPool(t, join(drive.hostB, 'app.db'));
      await within(60_000, pool.run('UPDATE counter SET n = n + 1 WHERE id = 1'), 'the takeover write');
      await pool.close();
      await within(60_000, new Promise((resolve) => blocker.child.once('exit', resolve)), 'the blocker finishing');
      const report = JSON.parse(blocker.output().trim().split('\n').at(-1)!) as { code: string; after: number };
      t.diagnostic(`${kind}: blocker saw ${report.code}, then read ${report.after}`);
      assert.equal(report.code, 'ERR_LOCK_COMPROMISED');
      const check = await counterPool(t, join(drive.hostB, 'app.db'));
      assert.deepEqual(await check.get('SELECT n FROM counter WHERE id = 1'), { n: 1 }, 'nothing of the blocked transaction was committed');
      assert.equal(report.after, 1);
      assert.deepEqual(await check.get('PRAGMA integrity_check'), { integrity_check: 'ok' });
    });

    test('8 processes (4 per host) x 200 rounds racing for stale locks: never two holders', async (t) => {
      const drive = networkDrive(t, kind);
      if (drive === undefined) return;
      const outputs = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          runScript(join(helpers, 'race-lock.ts'), [i % 2 === 0 ? drive.hostA : drive.hostB, '200', drive.share], 600_000),
        ),
      );
      const results = outputs.map(
        (out) => JSON.parse(out.trim().split('\n').at(-1)!) as { held: number; overlaps: number; staleTakeovers: number },
      );
      t.diagnostic(
        `${kind}: ${results.reduce((s, r) => s + r.held, 0)} holds, ${results.reduce((s, r) => s + r.staleTakeovers, 0)} stale takeovers`,
      );
      assert.equal(
        results.reduce((s, r) => s + r.held, 0),
        1600,
      );
      assert.equal(
        results.reduce((s, r) => s + r.overlaps, 0),
        0,
      );
    });

    test('long-lived connections never act on pages cached before the other host wrote', async (t) => {
      const drive = networkDrive(t, kind);
      if (drive === undefined) return;
      const a = await counterPool(t, join(drive.hostA, 'app.db'));
      await setupCounter(a);
      const b = await counterPool(t, join(drive.hostB, 'app.db'));
      // Every switch between hosts is a lock handoff (and a reopen): a few rounds keep this short on sshfs.
      const ROUNDS = 3;
      const WRITES = 3;
      for (let round = 1; round <= ROUNDS; round++) {
        // Host A reads (its connections cache pages), host B writes, host A must see it at once.
        assert.equal((await a.get<{ n: number }>('SELECT n FROM counter WHERE id = 1'))!.n, (round - 1) * 2 * WRITES);
        for (let i = 0; i < WRITES; i++) await b.run('UPDATE counter SET n = n + 1 WHERE id = 1');
        assert.equal(
          (await a.get<{ n: number }>('SELECT n FROM counter WHERE id = 1'))!.n,
          (round - 1) * 2 * WRITES + WRITES,
          'host A read a stale page',
        );
        // And host A's read-modify-write builds on host B's writes.
        for (let i = 0; i < WRITES; i++) {
          await a.transaction(async (tx) => {
            const { n } = (await tx.get<{ n: number }>('SELECT n FROM counter WHERE id = 1'))!;
            await tx.run('UPDATE counter SET n = ? WHERE id = 1', [n + 1]);
          });
        }
      }
      assert.equal((await b.get<{ n: number }>('SELECT n FROM counter WHERE id = 1'))!.n, ROUNDS * 2 * WRITES);
    });
  });
}
