/**
 * Worker threads below the event loop (the `workerNice` option): on Linux a
 * pool's worker threads run at a nice value raised from the one they start
 * with, so the calling thread runs first when both want a core; the calling
 * thread itself is never changed, and a parked thread is taken again only by
 * a pool that wants the same priority (a nice value cannot be lowered back
 * without privilege). Read from /proc in a child process of its own, so no
 * other test's threads are counted.
 */
import { createPool, OptionsError } from '@litepool/core';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from './helpers/temp.js';

interface ThreadNice {
  readonly tid: number;
  readonly nice: number;
}
interface PoolThreads {
  /** Worker threads the pool started. */
  readonly started: number;
  /** Worker threads that appeared while it ran (the ones it started). */
  readonly fresh: readonly ThreadNice[];
  /** Every worker thread of the process then (parked ones too). */
  readonly all: readonly ThreadNice[];
}
interface Report {
  readonly mainNice: number;
  readonly a: PoolThreads;
  readonly b: PoolThreads;
  readonly c: PoolThreads;
}

/** Runs helpers/worker-priority.mjs: pools with `first`, then `second`, then `first` options, each with one reader. */
function priorities(dir: string, setup: { first: object; second: object; mainNice?: number }): Report {
  const output = execFileSync(process.execPath, [join(import.meta.dirname, 'helpers', 'worker-priority.mjs'), dir, JSON.stringify(setup)], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return JSON.parse(output) as Report;
}

const onLinux = process.platform === 'linux';

test(
  'worker threads run 10 below the calling thread by default; workerNice: 0 keeps them level; the calling thread is untouched',
  { skip: !onLinux && 'reads /proc (Linux only)' },
  (t) => {
    const report = priorities(tempDir(t), { first: {}, second: { workerNice: 0 } });
    assert.equal(report.mainNice, 0);
    // The writer and the reader of each pool, each at the pool's priority.
    assert.deepEqual(niceValues(report.a), [10]);
    // A pool that wants its threads level does not take the lowered ones the first pool parked.
    assert.ok(report.b.started >= 1);
    assert.deepEqual(niceValues(report.b), [0]);
    // A pool with the first one's priority takes its parked threads instead of starting new ones.
    assert.equal(report.c.started, 0);
    const firstIds = new Set(report.a.fresh.map((thread) => thread.tid));
    for (const thread of report.c.all.filter((candidate) => firstIds.has(candidate.tid))) assert.equal(thread.nice, 10);
  },
);

test('the nice value is added to the one the threads start with, up to 19', { skip: !onLinux && 'reads /proc (Linux only)' }, (t) => {
  const report = priorities(tempDir(t), { first: { workerNice: 19 }, second: { workerNice: 3 }, mainNice: 5 });
  assert.equal(report.mainNice, 5);
  assert.deepEqual(niceValues(report.a), [19]);
  assert.deepEqual(niceValues(report.b), [8]);
});

/** The nice values of the threads that appeared while a pool ran (its writer, and its reader unless that took a reserve), each once. */
function niceValues(threads: PoolThreads): number[] {
  assert.ok(threads.fresh.length >= 1, 'no new thread');
  return [...new Set(threads.fresh.map((thread) => thread.nice))];
}

test('workerNice must be a whole number from 0 to 19', async (t) => {
  const filename = join(tempDir(t), 'options.db');
  for (const workerNice of [-1, 20, 1.5, '10', Number.NaN, null]) {
    assert.throws(
      () => createPool({ filename, workerNice } as never),
      (error: unknown) => error instanceof OptionsError && /options\.workerNice/.test(error.message),
      String(workerNice),
    );
  }
  const pool = createPool({ filename });
  assert.equal(pool.options.workerNice, 10);
  await pool.close();
});
