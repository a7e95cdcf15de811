/**
 * Cold start (issue 21): a new pool's first read runs on its writer while the
 * calling thread's read watch starts, so it waits for one thread start, not
 * two at once; a read the writer is lent stops after a moment if it runs long
 * and goes to a reader, so nothing of the writer's waits behind it. Reads a
 * reader must run start the reader's thread while the writer is still opening
 * (the thread loads its code at once and opens the database only once the
 * writer has created it).
 */
import { createPool } from '@litepool/core';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { within } from './helpers/pool.js';
import { tempDir } from './helpers/temp.js';

// Loaded by each thread as it starts. The writer's waits (up to 20 s) for the reader's
// to have loaded, and records whether it did: it can only if the reader's thread
// started before the writer's connection opened.
const SETUP = `
import { workerData } from 'node:worker_threads';
import { existsSync, writeFileSync } from 'node:fs';
const marker = (role) => workerData.filename + '.' + role + '.loaded';
writeFileSync(marker(workerData.role), '');
if (workerData.role === 'writer') {
  const deadline = Date.now() + 20_000;
  while (!existsSync(marker('reader')) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  writeFileSync(workerData.filename + '.writer.saw', existsSync(marker('reader')) ? 'reader started' : 'no reader');
}
export function setup() {}
`;

test("the first read of a new pool: the reader's thread starts while the writer opens, and opens the database after the writer created it", async (t) => {
  const dir = tempDir(t);
  const setup = join(dir, 'setup.mjs');
  writeFileSync(setup, SETUP);
  const filename = join(dir, 'new.db');
  // Inline reads off: a first read is not lent to the writer (see below), a reader runs it.
  const pool = createPool({ filename, setup, inlineReads: false });
  t.after(() => pool.destroy());
  // A new file: a reader that opened before the writer created it would fail (readers open read-only).
  assert.deepEqual(await within(60_000, pool.get('SELECT 1 AS one'), 'the first read'), { one: 1 });
  assert.equal(readFileSync(`${filename}.writer.saw`, 'utf8'), 'reader started');
  assert.equal(pool.stats().readers, 1);
});

test("a reader thread started early is stopped when the writer cannot open: the callers get the writer's error, close() settles", async (t) => {
  const dir = tempDir(t);
  const setup = join(dir, 'setup.mjs');
  writeFileSync(
    setup,
    "import { workerData } from 'node:worker_threads';\nif (workerData.role === 'writer') throw new Error('no writer here');\nexport function setup() {}\n",
  );
  const pool = createPool({ filename: join(dir, 'new.db'), setup });
  const results = await within(30_000, Promise.allSettled([pool.get('SELECT 1'), pool.get('SELECT 2')]), 'the reads');
  for (const result of results) {
    assert.equal(result.status, 'rejected');
    assert.match(String(result.reason), /no writer here/);
  }
  await within(10_000, pool.close(), 'close()');
  assert.equal(pool.stats().readers, 0);
});

/** Runs helpers/first-read.mjs in a process of its own (its read watch not started) and returns what it printed. */
function firstRead(
  dir: string,
  mode: 'plain' | 'long' | 'no-extension' | 'after-write' | 'burst' | 'long-stream' | 'wal-stream' | 'endless-stream',
): Record<string, unknown> {
  const script = join(import.meta.dirname, 'helpers', 'first-read.mjs');
  const result = spawnSync(process.execPath, [script, dir, mode], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(result.status, 0, `status ${result.status}: ${result.stderr}`);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

test("a new pool's first read runs on its writer while the calling thread's read watch starts: no reader's thread starts for it", (t) => {
  assert.deepEqual(firstRead(tempDir(t), 'plain'), { row: { one: 1 }, readers: 0, readBatches: 0, writeBatches: 1, moved: 0 });
});

test('a first read lent to the writer that runs long goes to a reader: the writes sent after it do not wait for it', (t) => {
  // The endless read is stopped on the writer after a moment and runs again on a reader (moved), where it is aborted.
  const { readers, readBatches, ...outcome } = firstRead(tempDir(t), 'long');
  assert.deepEqual(outcome, { n: 1, endless: 'ABORT_ERR', writeBatches: 3, moved: 1 });
  assert.ok(Number(readers) >= 1 && Number(readBatches) >= 1, `readers ${String(readers)}, read batches ${String(readBatches)}`);
});

test('without the interrupt extension no read is lent to the writer (it could not be stopped there): a reader answers the first', (t) => {
  assert.deepEqual(firstRead(tempDir(t), 'no-extension'), { row: { one: 1 }, readers: 1, readBatches: 1, writeBatches: 0, moved: 0 });
});

test("a read and a small stream right after a new pool's first write run on the writer: no reader's thread starts for them", (t) => {
  // The caller resumes before the writer's lane has counted its batch done: the read is routed again a turn later.
  assert.deepEqual(firstRead(tempDir(t), 'after-write'), {
    n: 3,
    streamed: [1, 2, 3],
    readers: 0,
    readBatches: 0,
    writeBatches: 3,
    moved: 0,
  });
});

test("a burst of reads right after a new pool's first write is lent to the writer; a larger one starts a reader", (t) => {
  // Up to 16 lent reads wait for the writer at once; the rest of a larger burst is for a reader's batches.
  const { readers, ...outcome } = firstRead(tempDir(t), 'burst');
  assert.deepEqual(outcome, { small: true, readersAfterSmall: 0, large: true });
  assert.ok(Number(readers) >= 1, `readers ${String(readers)}`);
});

test('a first stream longer than a chunk streams on a reader, whole and in order (the rows the writer stepped are not used)', (t) => {
  const { readers, readBatches: _, ...outcome } = firstRead(tempDir(t), 'long-stream');
  assert.deepEqual(outcome, { streamed: 1000, inOrder: true, writeBatches: 2, moved: 0 });
  assert.ok(Number(readers) >= 1, `readers ${String(readers)}`);
});

test('a first stream of a database in WAL mode streams on a reader that opens without waiting for the writer: the writer does not start', async (t) => {
  const dir = tempDir(t);
  const maker = createPool({ filename: join(dir, 'new.db') });
  await maker.exec(
    'CREATE TABLE t (x); WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 1000) INSERT INTO t SELECT x FROM c',
  );
  assert.equal(((await maker.get('PRAGMA journal_mode')) as { journal_mode: string }).journal_mode, 'wal');
  await maker.close();
  // Before, the stream was lent to the writer (a thread start), then streamed on a reader (a second start, after it).
  const { readers, ...outcome } = firstRead(dir, 'wal-stream');
  assert.deepEqual(outcome, { streamed: 1000, inOrder: true, writerOpen: false, readBatches: 0, writeBatches: 0, moved: 0 });
  assert.equal(readers, 1);
});

test('readers of a file in WAL mode still wait for the writer of a strategy that takes it out of WAL (it must switch first)', async (t) => {
  const dir = tempDir(t);
  const filename = join(dir, 'wal.db');
  const maker = createPool({ filename });
  await maker.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1), (2)');
  await maker.close();
  // Each connection records the journal mode it finds as it opens.
  const setup = join(dir, 'setup.mjs');
  writeFileSync(
    setup,
    "import { workerData } from 'node:worker_threads';\nimport { appendFileSync } from 'node:fs';\n" +
      "export function setup(db) { appendFileSync(workerData.filename + '.modes', workerData.role + ':' + db.pragma('journal_mode', { simple: true }) + '\\n'); }\n",
  );
  const pool = createPool({ filename, setup, strategy: { name: 'mutex', readWrite: true } });
  t.after(() => pool.destroy());
  const rows: unknown[] = [];
  for await (const row of pool.iterate('SELECT x FROM t')) rows.push(row);
  assert.deepEqual(rows, [{ x: 1 }, { x: 2 }]);
  const modes = readFileSync(`${filename}.modes`, 'utf8').trim().split('\n');
  assert.deepEqual(modes, ['writer:delete', 'reader:delete']);
});

test('a first stream that runs long on the writer streams on a reader: the writes sent after it do not wait for it', (t) => {
  const { readers, readBatches: _, ...outcome } = firstRead(tempDir(t), 'endless-stream');
  assert.deepEqual(outcome, { n: 1, endless: 'ABORT_ERR', writeBatches: 3, moved: 1 });
  assert.ok(Number(readers) >= 1, `readers ${String(readers)}`);
});
