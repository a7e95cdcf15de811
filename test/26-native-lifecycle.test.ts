/**
 * Regression for better-sqlite3 12 on Node 24, which aborts the process
 * (SIGABRT in a native destructor) when connections are opened and closed in a
 * loop: the pattern litepool itself follows when it reopens connections. The
 * churn runs in a child process, which must exit 0 by itself.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from './helpers/temp.js';

const script = join(dirname(fileURLToPath(import.meta.url)), 'helpers', 'native-churn.mjs');

test(`connections opened and closed in a loop (main thread, worker threads, reopened pools) leave the process exiting 0 on Node ${process.version}`, (t) => {
  const result = spawnSync(process.execPath, [script, tempDir(t)], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(result.signal, null, `the process died of ${String(result.signal)}: ${result.stderr.slice(-1500)}`);
  assert.equal(result.status, 0, result.stderr.slice(-1500));
  assert.equal(result.stdout.trim(), 'ok');
});
