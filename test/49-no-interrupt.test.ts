/**
 * Without the interrupt extension (a platform litepool has no build for, a
 * sandbox that forbids extensions, `interruptExtension: false`), a statement
 * that never ends cannot be stopped. It must still not keep the process
 * alive: after close(), on process.exit(), and on SIGTERM/SIGINT with Node's
 * default handling, the process ends (issue 22). Each case runs in a child
 * process, bounded by a 60 s kill.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDb } from './helpers/temp.js';

const helper = join(dirname(fileURLToPath(import.meta.url)), 'helpers', 'no-interrupt-exit.mjs');

interface Ended {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly output: string;
}

/** Runs the helper in `mode`; sends `signal` once it says it is ready. Kills it after 60 s (a hang). */
function run(filename: string, mode: string, signal?: NodeJS.Signals): Promise<Ended> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [helper, filename, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer): void => {
      output += chunk.toString();
      if (signal !== undefined && output.includes('ready for a signal')) child.kill(signal);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const hang = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code, killedBy) => {
      clearTimeout(hang);
      resolve({ code, signal: killedBy, output });
    });
  });
}

// The runaway read's caller is answered at its timeout (a read changes nothing); the runaway write's only at
// close, and then as ERR_COMMIT_UNKNOWN: its thread runs on, and the write would commit if it ever ended.
const answers = { 'close-read': 'ERR_STATEMENT_TIMEOUT', 'close-write': 'ERR_COMMIT_UNKNOWN', 'file-lock-close': 'ERR_STATEMENT_TIMEOUT' };

for (const [mode, answer] of Object.entries(answers)) {
  test(`${mode}: the runaway's caller gets ${answer}, close() settles, and the process exits by itself with its exit code`, async (t) => {
    const ended = await run(tempDb(t), mode);
    assert.equal(ended.code, 3, ended.output);
    assert.match(ended.output, /read: \{"one":1\}/);
    assert.match(ended.output, new RegExp(`runaway: ${answer}`));
    const closedIn = Number(/closed in (\d+) ms/.exec(ended.output)?.[1]);
    t.diagnostic(`close() settled in ${closedIn} ms (closeTimeoutMs 1000)`);
    assert.ok(closedIn < 15_000, ended.output); // bounded (closeTimeoutMs + about 2.3 s), never a hang
    assert.doesNotMatch(ended.output, /ExperimentalWarning/);
  });
}

test('process.exit(4) with the pool open and a statement running: the process exits with code 4', async (t) => {
  const ended = await run(tempDb(t), 'exit-open');
  assert.equal(ended.code, 4, ended.output);
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} with Node's default handling ends the process while a statement runs`, async (t) => {
    const ended = await run(tempDb(t), 'signal-open', signal);
    assert.equal(ended.signal, signal, ended.output);
  });
}
