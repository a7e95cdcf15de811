/**
 * Crash durability: writer processes SIGKILLed mid-commit, at random
 * moments, for every strategy. Every write a process saw acknowledged is in
 * the database afterwards, and the database is intact.
 */
import { createPool } from '@litepool/core';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { STRATEGY_CASES } from './helpers/strategies.js';
import { within } from './helpers/pool.js';
import { tempDb } from './helpers/temp.js';

const writer = join(dirname(fileURLToPath(import.meta.url)), 'helpers', 'ack-writer.mjs');
const ROUNDS = 3;
const PROCESSES = 3;

interface Writer {
  readonly child: ChildProcess;
  /** The ids it acknowledged, collected as they come. */
  readonly acknowledged: number[];
  /** Settles at its first acknowledged write. */
  readonly writing: Promise<void>;
}

/** Starts a writer process; resolves once it has started writing. */
function startWriter(filename: string, strategy: object, start: number): Promise<Writer> {
  const child = spawn(process.execPath, [writer, filename, JSON.stringify(strategy), String(start)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const acknowledged: number[] = [];
  let buffer = '';
  let wrote = (): void => {};
  const writing = new Promise<void>((resolve) => (wrote = resolve));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) {
        if (line === 'ready') resolve({ child, acknowledged, writing });
        else {
          acknowledged.push(Number(line));
          wrote();
        }
      }
    });
  });
}

describe('SIGKILL of writer processes mid-commit: every acknowledged write survives', () => {
  for (const { label, config: base } of STRATEGY_CASES) {
    // A killed holder's file lock is taken over after staleMs: the shortest allowed keeps the rounds short.
    const config = base.name === 'file-lock' ? { ...base, staleMs: 2_000, updateMs: 1_000 } : base;
    test(label, async (t) => {
      const filename = tempDb(t);
      const setup = createPool({ filename, strategy: config });
      await setup.exec('CREATE TABLE acked (id INTEGER PRIMARY KEY, pad BLOB)');
      await setup.close();
      let acknowledged = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const writers = await within(
          30_000,
          Promise.all(Array.from({ length: PROCESSES }, (_, p) => startWriter(filename, config, (round * PROCESSES + p + 1) * 10_000_000))),
          'writers starting',
        );
        // Kill each at its own random moment while it writes: after its first acknowledged write (a file lock left by
        // the round before is taken over only after staleMs), so that every round checks writes, however loaded the machine.
        await Promise.all(
          writers.map(async ({ child, writing }) => {
            await within(30_000, writing, 'a first acknowledged write');
            await new Promise((resolve) => setTimeout(resolve, Math.random() * 300));
            child.kill('SIGKILL');
            await new Promise((resolve) => child.once('exit', resolve));
          }),
        );
        const check = createPool({ filename, strategy: config });
        try {
          assert.deepEqual(await within(30_000, check.get('PRAGMA integrity_check'), 'integrity_check'), { integrity_check: 'ok' });
          const present = new Set((await check.all<{ id: number }>('SELECT id FROM acked')).map((row) => row.id));
          const missing = writers.flatMap(({ acknowledged: ids }) => ids.filter((id) => !present.has(id)));
          assert.deepEqual(missing, [], `round ${round}: acknowledged writes missing`);
          acknowledged += writers.reduce((sum, { acknowledged: ids }) => sum + ids.length, 0);
        } finally {
          await check.close();
        }
      }
      assert.ok(acknowledged > 0, 'the writers wrote before they were killed');
      t.diagnostic(`${ROUNDS} rounds x ${PROCESSES} processes: ${acknowledged} acknowledged writes, 0 missing, integrity ok`);
    });
  }
});
