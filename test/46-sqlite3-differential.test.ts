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
import { join } from 'node:path';
import { test } from 'node:test';
import { alignMessages, traceOf } from './helpers/sqlite3-traces.js';
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
  'shared-cache-memory',
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
  'backup-restore',
  'savepoints',
  'run-counters',
  'exec-moves-run-counters',
  'script-stops-inside-transaction',
  'calls-queued-behind-a-failed-script',
  'prepared-control-statements',
  'exec-reads-in-a-deferred-transaction',
  'pragmas-inside-transaction',
  'temp-tables-outlive-pragmas-in-a-transaction',
  'isolation-level-pragmas',
  'read-transactions-beyond-readers',
  'calls-while-close-waits',
  'wait-finalize-close-order',
  'serialized-runs-and-parallel-calls',
  'calls-after-finalize',
  'run-then-get-steps',
  'get-after-an-empty-first-get',
  'get-steps-while-the-loop-changes-rows',
  'argument-errors',
  'closing-twice-and-after-close',
  'async-context',
  'named-parameters',
  'argument-forms',
  'dropped-statements-are-collected',
  'each-errors',
  'object-shapes',
  'statement-error-listeners',
  'prepare-after-schema-change',
  'stale-deferred-transaction-stays-open',
  'missing-table-while-another-writes',
  'conditional-schema-changes-while-another-writes',
  'open-errors',
  'conflict-resolution-in-autocommit',
  'deferred-constraint-keeps-the-transaction',
  'a-failed-write-commits-nothing',
  'attached-table-shadowed-by-a-new-one',
  'exec-runs-alone',
  'read-only-database-writes',
];

/** The trace one module leaves for `scenario`, in a fresh directory; the process must exit by itself. */
const scenarioTrace = (which: 'real' | 'litepool', scenario: string): Promise<unknown> => traceOf(script, [which, scenario]);

for (const scenario of SCENARIOS) {
  test(`node-sqlite3 and the drop-in leave the same trace: ${scenario}`, async () => {
    const [real, dropIn] = await Promise.all([scenarioTrace('real', scenario), scenarioTrace('litepool', scenario)]);
    assert.ok(Array.isArray(real) && real.length > 0, 'the scenario recorded something');
    assert.deepEqual(alignMessages(real, dropIn), real);
  });
}

/** The `sqlite` wrapper script's trace for one of its three setups (see fixtures/sqlite-wrapper-scenario.mjs). */
const wrapperTrace = (which: 'real' | 'sqlite-on-litepool' | 'litepool'): Promise<unknown> =>
  traceOf(join(import.meta.dirname, 'fixtures', 'sqlite-wrapper-scenario.mjs'), [which]);

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
