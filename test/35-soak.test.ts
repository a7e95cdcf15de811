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

interface SoakReport {
  readonly operations: number;
  readonly increments: number;
  readonly counter: unknown;
  readonly integrity: unknown;
  readonly queued: number;
  readonly crashes: number;
  readonly unexpected: readonly string[];
  readonly samples: readonly { readonly at: number; readonly rss: number }[];
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
  // Levels off: the last third's peak is within 10% (plus 16 MiB) of the middle third's.
  const peak = (from: number, to: number): number => Math.max(...report.samples.filter((s) => s.at >= from && s.at < to).map((s) => s.rss));
  const middle = peak(SOAK_MS / 3, (2 * SOAK_MS) / 3);
  const last = peak((2 * SOAK_MS) / 3, SOAK_MS + 1_000);
  const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  t.diagnostic(
    `${report.operations} operations, ${report.increments} increments; RSS first ${mb(report.samples[0]!.rss)}, middle-third peak ${mb(middle)}, last-third peak ${mb(last)}`,
  );
  assert.ok(last <= middle * 1.1 + 16 * 2 ** 20, `RSS still growing: middle third ${mb(middle)}, last third ${mb(last)}`);
});
