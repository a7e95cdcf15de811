/**
 * Threads shared by the pools of one process, one after another (issue 21,
 * cold start): a pool that closes parks its idle threads and the next pool
 * takes them instead of starting new ones; nothing of the first pool (its
 * file, prepared statements, settings, TEMP objects, role) reaches the next.
 */
import { createPool } from '@litepool/core';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { Worker } from 'node:worker_threads';
import { tempDir } from './helpers/temp.js';

/**
 * Counts the worker threads the process starts while `body` runs, reserves
 * left out (one starts 25 ms after a connection opens if its pool is still
 * open: whether it does depends on the machine's pace).
 */
async function threadsStartedBy(body: () => Promise<void>): Promise<number> {
  let started = 0;
  const count = (worker: Worker): void => {
    if (worker.threadName !== 'litepool reserve') started++;
  };
  process.on('worker', count);
  try {
    await body();
  } finally {
    process.off('worker', count);
  }
  return started;
}

test('pools opened one after another take the threads the last one parked instead of starting their own', async (t) => {
  const dir = tempDir(t);
  const pools = 8;
  const started = await threadsStartedBy(async () => {
    for (let i = 0; i < pools; i++) {
      const pool = createPool({ filename: join(dir, `db${i}.sqlite`), readers: 1 });
      await pool.run('CREATE TABLE t (n)');
      await pool.run('INSERT INTO t VALUES (?)', [i]);
      assert.deepEqual(await pool.get('SELECT n FROM t'), { n: i });
      await pool.close();
    }
  });
  t.diagnostic(`${pools} pools of 2 connections started ${started} threads`);
  // Each pool has a writer and a reader: without sharing, 16 threads.
  assert.ok(started <= 4, `${started} threads started`);
});

test('nothing of one pool reaches the next through a shared thread: file, prepared statements, settings, TEMP objects, read-only readers', async (t) => {
  const dir = tempDir(t);
  const first = createPool({ filename: join(dir, 'first.db'), readers: 1, pragmas: { cache_size: -1234 } });
  await first.run('CREATE TABLE only_in_first (x)');
  const firstStatement = first.prepare('SELECT 1 AS first');
  assert.deepEqual(await firstStatement.get(), { first: 1 });
  const session = first.session();
  await session.run('CREATE TEMP TABLE scratch (x)');
  await session.close();
  assert.deepEqual(await first.get('PRAGMA cache_size'), { cache_size: -1234 });
  await first.close();

  const second = createPool({ filename: join(dir, 'second.db'), readers: 1 });
  t.after(() => second.destroy());
  await second.run('CREATE TABLE only_in_second (y)');
  const secondStatement = second.prepare('SELECT 2 AS second');
  assert.deepEqual(await secondStatement.get(), { second: 2 });
  assert.deepEqual(await second.all("SELECT name FROM sqlite_schema WHERE type = 'table'"), [{ name: 'only_in_second' }]);
  assert.deepEqual(await second.all('SELECT name FROM temp.sqlite_schema'), []);
  assert.notDeepEqual(await second.get('PRAGMA cache_size'), { cache_size: -1234 });
  // Its reader is read-only whichever role the thread had before.
  await second.transaction(
    async (tx) => {
      await assert.rejects(tx.exec('INSERT INTO only_in_second VALUES (1)'), { code: 'SQLITE_READONLY' });
    },
    { mode: 'read' },
  );
  await second.run('INSERT INTO only_in_second VALUES (2)');
  assert.deepEqual(await second.all('SELECT y FROM only_in_second'), [{ y: 2 }]);
});

test('threads that load application code are not shared: a setup module runs on every connection of every pool', async (t) => {
  const dir = tempDir(t);
  const setup = join(dir, 'setup.mjs');
  writeFileSync(setup, "export function setup(db) { db.function('answer', () => 42); }\n");
  let plainStarted = 0;
  let setupStarted = 0;
  for (let i = 0; i < 2; i++) {
    plainStarted += await threadsStartedBy(async () => {
      const plain = createPool({ filename: join(dir, `plain${i}.db`), readers: 0 });
      await plain.run('CREATE TABLE t (x)');
      await plain.close();
    });
    setupStarted += await threadsStartedBy(async () => {
      const withSetup = createPool({ filename: join(dir, `setup${i}.db`), readers: 0, setup });
      assert.deepEqual(await withSetup.get('SELECT answer() AS a'), { a: 42 });
      await withSetup.close();
    });
  }
  // Each pool with a setup module starts its own thread, though a plain one was parked before it; the plain pools share.
  assert.equal(setupStarted, 2);
  assert.ok(plainStarted <= 1, `${plainStarted} threads started for the plain pools`);
});

/** Runs helpers/spare-thread.mjs in a process of its own; what it printed, once it has ended by itself (killed after 60 s). */
async function spareThread(
  dir: string,
  mode: 'used' | 'unused' | 'closed' | 'same-turn' | 'while-closing' | 'second-pool',
): Promise<Record<string, unknown>> {
  const script = join(import.meta.dirname, 'helpers', 'spare-thread.mjs');
  const { stdout } = await promisify(execFile)(process.execPath, [script, dir, mode], { timeout: 60_000, killSignal: 'SIGKILL' });
  return JSON.parse(stdout) as Record<string, unknown>;
}

test("a process's first pool has its writer's thread started as it is created, and its first calls take that thread", async (t) => {
  const dir = tempDir(t);
  // One thread, started by the turn after createPool; the writer took it (a thread of its own would make two).
  assert.deepEqual(await spareThread(dir, 'used'), { afterCreate: 1, afterCalls: 1, row: { x: 1 } });
  // Called in createPool's own turn, a pool's first connection starts its thread itself, and no other starts after.
  assert.deepEqual(await spareThread(dir, 'same-turn'), { afterCreate: 1, nextPool: 1 });
});

test('a pool opened while another is open takes the reserve thread the first started (loading nothing until used), and a reserve starts again', async (t) => {
  // On the build before, the second pool started a thread of its own (40-100 ms before its first answer).
  assert.deepEqual(await spareThread(tempDir(t), 'second-pool'), { reservesBefore: 1, nextPool: 0, nextReserves: 1 });
});

test('a pool opened while another closes takes the thread being parked instead of starting one', async (t) => {
  // The first pool's close is still checkpointing its WAL when the second pool's first call asks for a thread; on the
  // build before, nothing was parked yet, so the second pool started a thread of its own.
  assert.deepEqual(await spareThread(tempDir(t), 'while-closing'), { nextPool: 0 });
});

test('a pool never used, or closed before its first call, lets its process end by itself', async (t) => {
  const dir = tempDir(t);
  // A hang would be the 60 s kill: execFile then rejects.
  assert.deepEqual(await spareThread(dir, 'unused'), { afterCreate: 1 });
  assert.deepEqual(await spareThread(dir, 'closed'), { afterCreate: 1 });
});

/**
 * Runs helper `script` with `dir` in a child whose threads' addon loads take
 * `delayMs` (slow-addon-load.mjs, preloaded); asserts it exited 0 and that
 * every load it began was finished (the trace's `loading` lines each have
 * their `loaded`); returns its output.
 */
function withSlowLoads(dir: string, script: string, delayMs: number, args: string[] = []): string {
  const trace = join(dir, 'addon-trace.txt');
  const helpers = join(import.meta.dirname, 'helpers');
  const result = spawnSync(
    process.execPath,
    ['--import', pathToFileURL(join(helpers, 'slow-addon-load.mjs')).href, join(helpers, script), dir, ...args],
    {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, LITEPOOL_ADDON_TRACE: trace, LITEPOOL_ADDON_DELAY_MS: String(delayMs) },
    },
  );
  assert.equal(result.signal, null, `the process died of ${String(result.signal)}: ${result.stderr.slice(-1500)}`);
  assert.equal(result.status, 0, result.stderr.slice(-1500));
  const lines = readFileSync(trace, 'utf8').trim().split('\n');
  const count = (word: string): number => lines.filter((line) => line === word).length;
  assert.ok(count('loading') >= 1, `no thread was loading: ${lines.join(', ')}`);
  assert.equal(count('loaded'), count('loading'), lines.join(', '));
  return result.stdout;
}

test("process.exit() while a thread loads better-sqlite3's addon waits for the load (an exit landing in it aborts the process)", (t) => {
  // The exit comes while a thread loads; every thread that began to load finished before the process ended.
  withSlowLoads(tempDir(t), 'exit-while-loading.mjs', 500);
});

test('a thread told to end while it loads the addon is not terminated inside the load (a terminate there aborts the process)', (t) => {
  // The load outlasts the 2 s a stopping thread is given before it is terminated; the terminate waits for it.
  const output = withSlowLoads(tempDir(t), 'stop-while-loading.mjs', 3_000);
  assert.deepEqual(JSON.parse(output), { read: 'ERR_POOL_CLOSED' });
});

/** What helpers/files-after-destroy.mjs printed: the files each destroyed pool's directory gained after destroy() resolved. */
interface FilesAfterDestroy {
  reads: string[];
  gained: { delayMs: number; files: string[] }[];
}

test('a pool destroyed while its threads start: no file appears in its directory after destroy() has resolved', (t) => {
  // destroy() swept over the threads' start, real timing; on the build before, a thread still starting opened the file later.
  const script = join(import.meta.dirname, 'helpers', 'files-after-destroy.mjs');
  const run = spawnSync(process.execPath, [script, tempDir(t)], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, 0, run.stderr.slice(-1500));
  const { reads, gained } = JSON.parse(run.stdout) as FilesAfterDestroy;
  assert.ok(reads.length >= 10 && reads.every((read) => read === 'ERR_POOL_CLOSED' || read === 'answered'), reads.join(', '));
  assert.deepEqual(gained, []);
});

test('a pool destroyed while a thread opens its database: destroy() resolves once that open is done, and nothing appears after', (t) => {
  // Each thread's addon load (inside its first open) takes 400 ms: some of the destroys land in one and wait for it.
  const output = withSlowLoads(tempDir(t), 'files-after-destroy.mjs', 400, ['100,200,300,450,600,800']);
  assert.deepEqual((JSON.parse(output) as FilesAfterDestroy).gained, []);
});
