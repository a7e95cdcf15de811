// Run by another platform's Node (linux-arm64 under qemu-user): a pool whose
// statement timeout interrupts a runaway read, then serves writes and reads,
// and closes; the process must then exit by itself, code 0. Prints JSON.
//   node interrupt-check.mjs FILE
import { createPool } from '@litepool/core';

const pool = createPool({ filename: process.argv[2], statementTimeoutMs: 300, closeTimeoutMs: 5000 });
const warnings = [];
pool.on('warning', (warning) => warnings.push(warning.code));
const started = performance.now();
const runaway = await pool.get('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c').then(
  () => 'answered',
  (error) => error.code,
);
const runawayMs = Math.round(performance.now() - started);
await pool.run('CREATE TABLE t (v)');
await pool.run('INSERT INTO t VALUES (1)');
const read = await pool.get('SELECT count(*) AS n FROM t');
const closing = performance.now();
await pool.close();
const closeMs = Math.round(performance.now() - closing);
console.log(JSON.stringify({ arch: process.arch, runaway, runawayMs, read, closeMs, warnings }));
