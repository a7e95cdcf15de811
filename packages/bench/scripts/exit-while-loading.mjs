#!/usr/bin/env node
// process.exit() landing while a pool's worker thread loads better-sqlite3's
// addon, which aborts the process unless the exit waits for the load
// (docs/reliability.md). Runs a child process RUNS times: it creates a pool,
// with --use makes a first call at once, and calls process.exit(0) N ms
// later, N swept from --from over --span ms. Prints how many children did not
// exit 0 (an abort is exit code 134), as JSON.
//   node packages/bench/scripts/exit-while-loading.mjs [--use] [--from 35] [--span 7] [--runs 300]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const flag = (name, fallback) => {
  const at = process.argv.indexOf(name);
  const value = at < 0 ? fallback : Number(process.argv[at + 1]);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number, got ${process.argv[at + 1]}`);
  return value;
};
const use = process.argv.includes('--use');
const from = flag('--from', 35);
const span = Math.max(1, flag('--span', 7));
const runs = flag('--runs', 300);
const child = `
  import { createPool } from '@litepool/core';
  const pool = createPool({ filename: process.argv[1] });
  if (${use}) pool.get('SELECT 1').catch(() => {});
  setTimeout(() => process.exit(0), Number(process.argv[2]));
`;
const dir = mkdtempSync(join(tmpdir(), 'litepool-exit-'));
const failures = {};
try {
  for (let i = 0; i < runs; i++) {
    const ms = from + (i % span);
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', child, join(dir, `${i}.db`), String(ms)], {
      cwd: import.meta.dirname,
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (result.status !== 0) {
      const key = result.status === null ? String(result.signal) : `exit ${result.status}`;
      failures[key] = (failures[key] ?? 0) + 1;
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify({ use, exitAfterMs: [from, from + span - 1], runs, failures }));
