/**
 * Cold start (issue 21): a new pool starts its reader's thread while its
 * writer is still opening (the thread loads its code at once and opens the
 * database only once the writer has created it), so the first read waits for
 * one thread start, not two in a row.
 */
import { createPool } from '@litepool/core';
import assert from 'node:assert/strict';
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
  const pool = createPool({ filename, setup });
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
