#!/usr/bin/env node
// Runs the core suites on Bun or Deno, with the runtime's own test runner
// (both run node:test suites and TypeScript): Bun and Deno from the npm
// registry's `bun` and `deno` packages, installed once into .ci/runtimes.
// Exits non-zero if any suite fails.
//   node test/scripts/run-runtime.mjs bun|deno
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { testFiles, testRoot } from './core-suites.mjs';

const VERSIONS = { bun: '1.4.5', deno: '2.9.6' };

/**
 * What a runtime cannot do, by the test that shows it (a failing test whose
 * name contains the text): each is in the README's Platforms section. Any
 * other failure fails the run.
 */
const KNOWN = {
  bun: [],
  deno: [
    // Deno does not run Node-API cleanup hooks when it terminates a worker: the stuck writer's SQLite connection
    // (and its write lock) outlives its thread, so later writes meet SQLITE_BUSY.
    'the writer: the call fails with ERR_STATEMENT_TIMEOUT, its write is not there, the thread is replaced',
  ],
};
const runtime = process.argv[2];
if (!(runtime in VERSIONS)) throw new Error(`usage: run-runtime.mjs bun|deno, got ${runtime}`);
const prefix = join(testRoot, '..', '.ci', 'runtimes');
const bin = join(prefix, 'node_modules', '.bin', runtime);
if (!existsSync(bin)) {
  mkdirSync(prefix, { recursive: true });
  execFileSync(
    'npm',
    ['install', '--no-save', '--no-audit', '--no-fund', '--loglevel=error', '--prefix', prefix, `${runtime}@${VERSIONS[runtime]}`],
    {
      stdio: 'inherit',
    },
  );
}
// Deno: test/deno.json lets './helpers/x.js' name x.ts (Node's TypeScript convention, also in child processes); tsc checks the types.
const args = runtime === 'bun' ? ['test', '--timeout', '120000'] : ['test', '-A', '--no-check'];
const version = execFileSync(bin, ['--version'], { encoding: 'utf8' }).split('\n')[0];
const failed = [];
let known = 0;
for (const file of testFiles(true)) {
  console.log(`== ${version}: ${file}`);
  const result = spawnSync(bin, [...args, file], {
    cwd: testRoot,
    env: { ...process.env, NO_COLOR: '1' },
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
    timeout: 900_000,
  });
  const output = `${result.stdout}${result.stderr}`;
  process.stdout.write(output);
  if (result.status === 0) continue;
  // Bun prints "(fail) name", Deno "name ... FAILED"; a Deno group fails "due to" a failed step.
  const failures = output.split('\n').filter((line) => /^\(fail\) |\.\.\. FAILED/.test(line) && !line.includes('FAILED (due to'));
  const unknown = failures.filter((line) => !KNOWN[runtime].some((text) => line.includes(text)));
  if (failures.length === 0 || unknown.length > 0) failed.push(file);
  else known += failures.length;
  if (unknown.length === 0 && failures.length > 0)
    console.log(`${runtime}: known, documented failure(s) only (${failures.length}); see the README's Platforms section`);
}
if (failed.length > 0) {
  console.error(`${runtime}: ${failed.length} suite(s) failed: ${failed.join(', ')}`);
  process.exit(1);
}
console.log(`${runtime}: every core suite passed${known > 0 ? `, but for ${known} known, documented failure(s)` : ''}`);
