/**
 * The drop-in against the real node-sqlite3, script for script: each scenario
 * of fixtures/sqlite3-scenarios.mjs (one per item of issue 20) runs in a
 * child process once with `sqlite3` and once with `@litepool/core/sqlite3`,
 * and the two traces must be equal. An error message of the drop-in may add
 * litepool's reason after SQLite's words (`database is locked: the backup
 * destination … is held by another connection`); everything else is compared
 * exactly, so a divergence shows as a diff.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const script = join(import.meta.dirname, 'fixtures', 'sqlite3-scenarios.mjs');

const SCENARIOS = [
  'stmt-get-rebind',
  'pragma-after-schema-change',
  'backup-locked-destination',
  'deferred-begin-reads-beside-a-writer',
  'deferred-begin-writer-and-reader',
  'begin-immediate-queues',
  'busy-timeout',
  'load-extension',
  'fake-timers',
  'memory-and-uris',
  'open-flags',
  'wal-checkpoint',
  'exec-script-with-pragmas',
  'cached',
  'interrupt',
  'errors',
  'verbose',
  'binding',
  'trace-listeners',
  'backup-steps-and-read-only',
  'change-events',
  'limits',
  'empty-statements-and-scripts',
  'backup-temp-schema',
  'savepoints',
  'run-counters',
  'exec-moves-run-counters',
  'script-stops-inside-transaction',
  'pragmas-inside-transaction',
  'isolation-level-pragmas',
  'read-transactions-beyond-readers',
  'calls-while-close-waits',
  'wait-finalize-close-order',
  'serialized-runs-and-parallel-calls',
  'calls-after-finalize',
  'run-then-get-steps',
  'argument-errors',
  'closing-twice-and-after-close',
  'async-context',
  'named-parameters',
  'each-errors',
  'object-shapes',
  'statement-error-listeners',
  'prepare-after-schema-change',
  'stale-deferred-transaction-stays-open',
];

/** The trace one module leaves for `scenario`, in a fresh directory; the process must exit by itself. */
async function traceOf(which: 'real' | 'litepool', scenario: string): Promise<unknown> {
  const dir = mkdtempSync(join(tmpdir(), `litepool-differential-${which}-`));
  try {
    const { stdout } = await run(process.execPath, [script, which, scenario, dir], { timeout: 60_000, encoding: 'utf8' });
    return JSON.parse(stdout) as unknown;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The drop-in's trace with each error message cut back to the real one where it only adds `: reason` to it. */
function alignMessages(real: unknown, dropIn: unknown): unknown {
  if (Array.isArray(real) && Array.isArray(dropIn)) return dropIn.map((value, i) => alignMessages(real[i], value));
  if (isRecord(real) && isRecord(dropIn)) {
    const aligned: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(dropIn)) {
      const expected = real[key];
      aligned[key] =
        key === 'message' && typeof value === 'string' && typeof expected === 'string' && value.startsWith(`${expected}: `)
          ? expected
          : alignMessages(expected, value);
    }
    return aligned;
  }
  return dropIn;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

for (const scenario of SCENARIOS) {
  test(`node-sqlite3 and the drop-in leave the same trace: ${scenario}`, async () => {
    const [real, dropIn] = await Promise.all([traceOf('real', scenario), traceOf('litepool', scenario)]);
    assert.ok(Array.isArray(real) && real.length > 0, 'the scenario recorded something');
    assert.deepEqual(alignMessages(real, dropIn), real);
  });
}

/** The `sqlite` wrapper script's trace for one of its three setups (see fixtures/sqlite-wrapper-scenario.mjs). */
async function wrapperTrace(which: 'real' | 'sqlite-on-litepool' | 'litepool'): Promise<unknown> {
  const dir = mkdtempSync(join(tmpdir(), `litepool-wrapper-${which}-`));
  try {
    const wrapper = join(import.meta.dirname, 'fixtures', 'sqlite-wrapper-scenario.mjs');
    const { stdout } = await run(process.execPath, [wrapper, which, dir], { timeout: 60_000, encoding: 'utf8' });
    return JSON.parse(stdout) as unknown;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the `sqlite` wrapper: the real package on litepool’s sqlite3, and @litepool/core/sqlite, leave the trace the real package leaves on the real sqlite3', async () => {
  const [real, onLitepool, litepool] = await Promise.all([
    wrapperTrace('real'),
    wrapperTrace('sqlite-on-litepool'),
    wrapperTrace('litepool'),
  ]);
  assert.ok(Array.isArray(real) && real.length > 10, 'the scenario recorded something');
  assert.deepEqual(alignMessages(real, onLitepool), real, 'the sqlite package with driver: litepool’s Database');
  assert.deepEqual(alignMessages(real, litepool), real, '@litepool/core/sqlite');
});
