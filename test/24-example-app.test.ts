/**
 * The example HTTP app's load script, in its short mode: litepool has no
 * errors and no lost updates, and the two naive ways show their hazards.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const load = join(dirname(fileURLToPath(import.meta.url)), '..', 'examples', 'http-app', 'load.mjs');

interface LoadResult {
  mode: string;
  requests: number;
  acknowledged: number;
  errors: number;
  lostUpdates: number;
  requestsPerSecond: number;
}

test('example app under load (--quick): litepool 0 errors and 0 lost updates; naive ways fail or lose deposits', async (t) => {
  const { stdout } = await promisify(execFile)(process.execPath, [load, '--quick', '--json'], { cwd: dirname(load) });
  const { results } = JSON.parse(stdout) as { results: LoadResult[] };
  const byMode = Object.fromEntries(results.map((r) => [r.mode, r]));
  t.diagnostic(results.map((r) => `${r.mode}: ${r.errors} errors, ${r.lostUpdates} lost, ${r.requestsPerSecond} req/s`).join('; '));
  assert.equal(byMode.litepool?.errors, 0);
  assert.equal(byMode.litepool?.lostUpdates, 0);
  assert.equal(byMode.litepool?.acknowledged, byMode.litepool?.requests);
  assert.ok(byMode.naive!.errors > 0, 'BEGIN on a shared connection fails under concurrency');
  assert.ok(byMode['naive-autocommit']!.lostUpdates > 0, 'read, await, write on a shared connection loses deposits');
});
