#!/usr/bin/env node
// Cold start, as a user meets it: `import('@litepool/core')`, then, on a new
// file each time, createPool + the first read, close(); and the node-sqlite3
// drop-in's open + first get, beside the real sqlite3's. In ms, printed as
// JSON: the first pool (or Database) of the process, which starts its
// threads, and the median of the 9 after it, which take the threads the one
// before parked (each section waits for parked threads to end first, so its
// first round starts cold). Also, as an app starts: a new pool's first
// write, its schema, then at once a read: that read alone. Then the CPU time
// the process uses over --idle-ms (default 10000; 0: not measured) with a
// pool open and idle after a write and reads. And, in a process of its own
// (--start-blocks), the longest the first pool's start blocks the event loop:
// the synchronous part of createPool, of the first call, and the longest turn
// until the answer (between turns of a setImmediate ticker).
//   node packages/bench/scripts/cold-start.mjs [--idle-ms N]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const ROUNDS = 10;
const idleFlag = process.argv.indexOf('--idle-ms');
const IDLE_MS = idleFlag < 0 ? 10_000 : Number(process.argv[idleFlag + 1]);
if (!Number.isInteger(IDLE_MS) || IDLE_MS < 0) throw new Error(`--idle-ms must be a whole number of ms, got ${process.argv[idleFlag + 1]}`);
const median = (values) => Math.round([...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]);
/** The first round, and the median of the rest. */
const firstAndLater = (values) => ({ first: Math.round(values[0]), later: median(values.slice(1)) });
/** Longer than a parked thread waits to be reused (PARKED_IDLE_MS, 2 s). */
const threadsGone = () => new Promise((resolve) => setTimeout(resolve, 2_500));

if (process.argv.includes('--start-blocks')) {
  console.log(JSON.stringify(await startBlocks()));
  process.exit(0);
}

/**
 * The first pool of this process: how long createPool and the first call
 * block the event loop, and its longest turn until the answer (wall time
 * between turns of a setImmediate ticker: it counts too the time this thread
 * waits for a core while the new thread starts), in ms.
 */
async function startBlocks() {
  const { createPool } = await import('@litepool/core');
  const dir = mkdtempSync(join(tmpdir(), 'litepool-blocks-'));
  try {
    let last = performance.now();
    let longestTurn = 0;
    let ticking = true;
    const tick = () => {
      const at = performance.now();
      longestTurn = Math.max(longestTurn, at - last);
      last = at;
      if (ticking) setImmediate(tick);
    };
    const t0 = performance.now();
    const pool = createPool({ filename: join(dir, 'first.db') });
    const t1 = performance.now();
    const answer = pool.get('SELECT 1');
    const t2 = performance.now();
    last = t2;
    setImmediate(tick);
    await answer;
    ticking = false;
    await pool.close();
    const round = (ms) => Math.round(ms * 10) / 10;
    return { createPoolMs: round(t1 - t0), firstCallMs: round(t2 - t1), longestTurnMs: round(longestTurn) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const started = performance.now();
const { createPool } = await import('@litepool/core');
const importMs = performance.now() - started;
const dir = mkdtempSync(join(tmpdir(), 'litepool-cold-'));
try {
  const firstRead = [];
  const close = [];
  for (let i = 0; i < ROUNDS; i++) {
    const begin = performance.now();
    const pool = createPool({ filename: join(dir, `pool-${i}.db`) });
    await pool.get('SELECT 1');
    const answered = performance.now();
    await pool.close();
    firstRead.push(answered - begin);
    close.push(performance.now() - answered);
  }
  /** Open + first get through a node-sqlite3 module, on a new file. */
  async function openAndGet(sqlite3, name) {
    const times = [];
    for (let i = 0; i < ROUNDS; i++) {
      const begin = performance.now();
      const db = await new Promise((resolve, reject) => {
        const opened = new sqlite3.Database(join(dir, `${name}-${i}.db`), (err) => (err ? reject(err) : resolve(opened)));
      });
      await new Promise((resolve, reject) => db.get('SELECT 1', (err) => (err ? reject(err) : resolve())));
      times.push(performance.now() - begin);
      await new Promise((resolve) => db.close(resolve));
    }
    return firstAndLater(times);
  }
  /** As an app starts: a new pool's first write (its schema), then at once a read: that read alone. */
  async function readAfterSchema() {
    const times = [];
    for (let i = 0; i < ROUNDS; i++) {
      const pool = createPool({ filename: join(dir, `schema-${i}.db`) });
      await pool.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
      const begin = performance.now();
      await pool.get('SELECT x FROM t');
      times.push(performance.now() - begin);
      await pool.close();
    }
    return firstAndLater(times);
  }
  const pool = firstAndLater(firstRead);
  await threadsGone();
  const schemaRead = await readAfterSchema();
  await threadsGone();
  const dropIn = await openAndGet(require('@litepool/core/sqlite3'), 'drop-in');
  const real = await openAndGet(require('sqlite3'), 'real');
  /** CPU ms the process uses over IDLE_MS while a pool that has worked sits idle. */
  async function idleCpu() {
    const pool = createPool({ filename: join(dir, 'idle.db') });
    await pool.run('CREATE TABLE t (x)');
    await pool.run('INSERT INTO t VALUES (1)');
    for (let i = 0; i < 1000; i++) await pool.get('SELECT x FROM t');
    // Past the writer's idle maintenance and a parked thread's wait.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const before = process.cpuUsage();
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    const used = process.cpuUsage(before);
    await pool.close();
    return Math.round(((used.user + used.system) / 1000) * 10) / 10;
  }
  const idleCpuMs = IDLE_MS === 0 ? null : await idleCpu();
  const blocks = JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--start-blocks'], { encoding: 'utf8' }));
  console.log(
    JSON.stringify({
      importMs: Math.round(importMs),
      createPoolFirstReadMs: pool.first,
      laterPoolFirstReadMs: pool.later,
      closeMs: median(close),
      dropInOpenFirstGetMs: dropIn.first,
      laterDropInOpenFirstGetMs: dropIn.later,
      realSqlite3OpenFirstGetMs: real.first,
      laterRealSqlite3OpenFirstGetMs: real.later,
      readAfterSchemaMs: schemaRead.first,
      laterReadAfterSchemaMs: schemaRead.later,
      idleMs: IDLE_MS,
      idleCpuMs,
      startBlocks: blocks,
      startBlockMs: Math.max(blocks.createPoolMs, blocks.firstCallMs, blocks.longestTurnMs),
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
