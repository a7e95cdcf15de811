/**
 * Leaks and shutdown: a lease held too long is reported with the stack of the
 * call that took it; close() has a bound after which it destroys; a worker
 * thread that cannot start fails its callers and never leaves close() waiting.
 */
import { createPool, PoolClosedError, WorkerCrashedError, type LitepoolWarning } from '@litepool/core';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { testPool, within } from './helpers/pool.js';
import { tempDb, tempDir } from './helpers/temp.js';

test('leakDetectionMs: a lease held past it is reported once, with the stack of the acquire', async (t) => {
  const pool = testPool(t, { leakDetectionMs: 100 });
  const warnings: LitepoolWarning[] = [];
  pool.on('warning', (warning) => warnings.push(warning));
  const lease = await pool.acquire({ write: true }); // this line is in the reported stack
  await within(
    5_000,
    (async () => {
      while (warnings.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    })(),
    'the leak warning',
  );
  await lease.release();
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0]!.code, 'LITEPOOL_LEASE_HELD');
  assert.equal(warnings[0]!.name, 'LitepoolWarning');
  assert.match(warnings[0]!.message, /A writer lease \(or transaction\) has been held for more than 100 ms/);
  assert.match(warnings[0]!.message, /33-shutdown\.test\.ts/);
  // A lease released in time is never reported.
  const quick = await pool.acquire();
  await quick.release();
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(warnings.length, 1);
});

test('without a warning listener, warnings go to process.emitWarning', async (t) => {
  const pool = testPool(t, { leakDetectionMs: 50 });
  const seen = new Promise<Error>((resolve) => process.once('warning', resolve));
  const lease = await pool.acquire({ write: true });
  const warning = await within(5_000, seen, 'a process warning');
  await lease.release();
  assert.equal(warning.name, 'LitepoolWarning');
  assert.equal((warning as LitepoolWarning).code, 'LITEPOOL_LEASE_HELD');
});

test('close() with a lease never released settles after its timeout: the lease is revoked, queued work rejected', async (t) => {
  const pool = testPool(t);
  await pool.exec('CREATE TABLE t (v INTEGER)');
  const forgotten = await pool.acquire({ write: true });
  const queued = pool.run('INSERT INTO t VALUES (1)');
  queued.catch(() => {}); // asserted below, after close()
  const started = performance.now();
  await within(5_000, pool.close({ timeoutMs: 300 }), 'close() with a forgotten lease');
  t.diagnostic(`close({ timeoutMs: 300 }) settled in ${Math.round(performance.now() - started)} ms`);
  await assert.rejects(queued, PoolClosedError);
  await assert.rejects(forgotten.run('INSERT INTO t VALUES (2)'), PoolClosedError);
  await assert.rejects(pool.get('SELECT 1'), (error: unknown) => {
    assert.ok(error instanceof PoolClosedError);
    assert.match(error.message, /close\(\) waited 300 ms \(closeTimeoutMs\)/);
    return true;
  });
  assert.equal(pool.stats().state, 'closed');
  // The pool option sets the default bound.
  const other = createPool({ filename: tempDb(t), closeTimeoutMs: 200 });
  const held = await other.acquire({ write: true });
  await within(5_000, other.close(), 'close() with closeTimeoutMs: 200');
  assert.equal(held.released, true);
  await assert.rejects(other.close({ timeoutMs: -1 }), { code: 'ERR_INVALID_OPTIONS' });
});

test('a worker thread that cannot start fails its callers, and close() still settles', async (t) => {
  // A relative path makes the Worker constructor throw synchronously (ERR_WORKER_PATH); a missing file fails as it loads.
  for (const workerFile of ['relative/worker.js', join(tempDir(t), 'missing-worker.js')]) {
    const pool = createPool({ filename: tempDb(t), workerFile, acquireTimeoutMs: 60_000 });
    const calls = [pool.get('SELECT 1'), pool.run('CREATE TABLE t (v)'), pool.transaction(async () => {}), pool.acquire()];
    const results = await within(10_000, Promise.allSettled(calls), `calls with workerFile ${workerFile}`);
    for (const result of results) {
      const error = (result as PromiseRejectedResult).reason as WorkerCrashedError;
      assert.ok(error instanceof WorkerCrashedError, String(error));
      assert.match(error.message, /worker thread could not start: .*see docs\/bundling\.md and the workerFile option/);
    }
    await within(5_000, pool.close(), 'close() after failed starts');
  }
});

test('holding the writer, then asking for a reader on a fresh pool, does not wait for the writer', async (t) => {
  const pool = testPool(t, { readers: 2, acquireTimeoutMs: 5_000 });
  const writer = await pool.acquire({ write: true });
  await writer.exec('CREATE TABLE t (v INTEGER)');
  const reader = await within(5_000, pool.acquire(), 'a reader while the writer is held');
  assert.deepEqual(await reader.get('SELECT count(*) AS n FROM sqlite_master'), { n: 1 });
  await reader.release();
  await writer.release();
});

/** Setup-module source that writes its thread's exit code into `dir` when the thread ends by itself (a terminated thread runs no JavaScript). */
function exitMarker(dir: string): string {
  return [
    "import { writeFileSync } from 'node:fs';",
    "import { threadId } from 'node:worker_threads';",
    `process.on('exit', (code) => writeFileSync(${JSON.stringify(dir)} + '/exited-thread-' + threadId, String(code)));`,
  ].join('\n');
}

/** The exit codes the threads of `exitMarker` wrote, once `threads` did (fails after 5 s). */
function exitCodes(dir: string, threads: number): Promise<string[]> {
  return within(
    5_000,
    (async () => {
      for (;;) {
        const written = readdirSync(dir).filter((name) => name.startsWith('exited-thread-'));
        // A file is listed as soon as it is made, before its code is written into it.
        const codes = written.map((name) => readFileSync(join(dir, name), 'utf8'));
        if (codes.length >= threads && codes.every((code) => code !== '')) return codes;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })(),
    'a thread to end by itself',
  );
}

test('a pool destroyed while its threads start: each thread is told to end and ends by itself, never terminated (better-sqlite3 13 aborts the process when a terminate lands in its native code)', async (t) => {
  const dir = tempDir(t);
  const setup = join(dir, 'waiting-setup.mjs');
  writeFileSync(setup, `${exitMarker(dir)}\nawait new Promise(() => {});\nexport function setup() {}\n`);
  const pool = createPool({ filename: join(dir, 'app.db'), readers: 1, setup });
  const call = pool.get('SELECT 1');
  await new Promise((resolve) => setTimeout(resolve, 300)); // the writer's thread is now waiting in its setup module
  await within(5_000, pool.destroy(), 'destroy() while a thread starts');
  await assert.rejects(call, PoolClosedError);
  // Both the writer's thread and the reader's (which starts beside it) were starting.
  assert.deepEqual(await exitCodes(dir, 2), ['0', '0']);
});

test('a pool destroyed while a statement runs: the statement is interrupted and the thread ends by itself, never terminated', async (t) => {
  const dir = tempDir(t);
  const setup = join(dir, 'exit-marker.mjs');
  writeFileSync(setup, `${exitMarker(dir)}\nexport function setup() {}\n`);
  const pool = createPool({ filename: join(dir, 'app.db'), readers: 0, setup, statementTimeoutMs: 0 });
  await pool.run('CREATE TABLE t (x)');
  const endless = pool.get('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c').then(
    () => 'answered',
    (error: { code?: string }) => error.code,
  );
  await new Promise((resolve) => setTimeout(resolve, 200));
  await within(10_000, pool.destroy(), 'destroy() while a statement runs');
  assert.equal(await endless, 'ERR_POOL_CLOSED');
  assert.deepEqual(await exitCodes(dir, 1), ['0']);
});

describe('a setup module that never finishes (issue 19)', () => {
  const modules = {
    'an endless loop': 'for (;;);\n',
    'a top-level await that never settles': 'await new Promise(() => {});\nexport function setup() {}\n',
  };
  for (const [what, source] of Object.entries(modules)) {
    for (const how of ['close', 'destroy'] as const) {
      test(`${what}: ${how}() settles, the waiting call gets ERR_POOL_CLOSED, the process exits 0`, (t) => {
        const setup = join(tempDir(t), 'hanging-setup.mjs');
        writeFileSync(setup, source);
        const helper = fileURLToPath(new URL('./helpers/hanging-setup.mjs', import.meta.url));
        const run = spawnSync(process.execPath, [helper, join(tempDir(t), 'app.db'), setup, how], { encoding: 'utf8', timeout: 60_000 });
        assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
        const { settledMs, call } = JSON.parse(run.stdout) as { settledMs: number; call: string };
        t.diagnostic(`${how}() settled in ${settledMs} ms (closeTimeoutMs 1000)`);
        assert.equal(call, 'ERR_POOL_CLOSED');
      });
    }
  }
});
