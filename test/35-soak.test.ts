/**
 * A 60 s soak: 32 handlers mix every kind of call (reads, writes,
 * transactions, leases, streams, calls that fail on purpose, aborts and
 * timeouts) on one pool, in a plain Node process (helpers/soak.mjs: the RSS
 * is then the app's, not the test runner's TypeScript loader's). The counter
 * is exact, every call settled as it should, the database is intact, and the
 * process's RSS levels off.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { within } from './helpers/pool.js';
import { tempDir } from './helpers/temp.js';

const SOAK_MS = 60_000;
/** What one more reader thread may add to the RSS (measured here: ~27 MiB each). */
const PER_READER = 32 * 2 ** 20;

interface SoakReport {
  readonly operations: number;
  readonly increments: number;
  readonly counter: unknown;
  readonly integrity: unknown;
  readonly queued: number;
  readonly crashes: number;
  readonly unexpected: readonly string[];
  readonly samples: readonly { readonly at: number; readonly rss: number; readonly readers: number }[];
}

test(`soak: 32 handlers, every kind of call, ${SOAK_MS / 1000} s: exact, intact, and RSS levels off`, async (t) => {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'helpers', 'soak.mjs'), tempDir(t), String(SOAK_MS)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const status = await within(
    SOAK_MS + 60_000,
    new Promise<number | null>((resolve) => child.on('close', resolve)),
    'the soak (every handler settled and the process exited)',
  ).finally(() => child.kill('SIGKILL'));
  assert.equal(status, 0, stderr);
  const report = JSON.parse(stdout) as SoakReport;
  assert.deepEqual(report.unexpected, []);
  assert.deepEqual(report.counter, { n: report.increments });
  assert.deepEqual(report.integrity, { integrity_check: 'ok' });
  assert.equal(report.queued, 0);
  assert.equal(report.crashes, 0);
  // Levels off: the last third's peak is within 10% (plus 16 MiB) of the middle third's, plus what the
  // reader threads opened in between cost. The pool opens a reader whenever every reader is held (by a
  // lease or a stream, here a tenth of the calls, each held across round trips to a busy thread) and work
  // waits, so the count follows the most held at once so far: 10 to 17 in two minutes, ~27 MiB each.
  const third = (from: number, to: number) => report.samples.filter((s) => s.at >= from && s.at < to);
  const peak = (samples: readonly { rss: number; readers: number }[]) => ({
    rss: Math.max(...samples.map((s) => s.rss)),
    readers: Math.max(...samples.map((s) => s.readers)),
  });
  const middle = peak(third(SOAK_MS / 3, (2 * SOAK_MS) / 3));
  const last = peak(third((2 * SOAK_MS) / 3, SOAK_MS + 1_000));
  const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  t.diagnostic(
    `${report.operations} operations, ${report.increments} increments; RSS first ${mb(report.samples[0]!.rss)} (${report.samples[0]!.readers} readers), middle-third peak ${mb(middle.rss)} (${middle.readers}), last-third peak ${mb(last.rss)} (${last.readers})`,
  );
  const threads = Math.max(0, last.readers - middle.readers) * PER_READER;
  assert.ok(
    last.rss <= middle.rss * 1.1 + 16 * 2 ** 20 + threads,
    `RSS still growing: middle third ${mb(middle.rss)} with ${middle.readers} readers, last third ${mb(last.rss)} with ${last.readers}`,
  );
});
