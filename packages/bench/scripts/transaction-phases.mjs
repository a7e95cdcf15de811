#!/usr/bin/env node
// Where an async read-modify-write transaction's time goes, one at a time:
// the bench's rmw-counter (`pool.transaction` reading a counter, a turn of
// the event loop, writing it back) with the calling thread's clock read at
// each step. Prints the mean µs per transaction of each phase after 2,000
// warm-up transactions: `lease` (pool.transaction to its callback),
// `read` (BEGIN with the first statement, one round trip), `turn` (the
// setImmediate between), `write` (one round trip) and `commit` (the callback's
// end to pool.transaction's, COMMIT's round trip). Build first (`pnpm build`).
//   node packages/bench/scripts/transaction-phases.mjs [--strategy wal] [--ms 3000]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createPool } from '@litepool/core';

const { values } = parseArgs({
  options: { strategy: { type: 'string', default: 'wal' }, ms: { type: 'string', default: '3000' } },
});
const ms = Number(values.ms);
if (!Number.isInteger(ms) || ms < 1) throw new Error(`--ms must be a positive whole number, got ${values.ms}`);

const COUNTERS = 100;
const WARM_UP = 2_000;
const dir = mkdtempSync(join(tmpdir(), 'litepool-transaction-phases-'));
const pool = createPool({ filename: join(dir, 'counters.db'), strategy: values.strategy });
await pool.exec('CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)');
await pool.transaction(async (tx) => {
  for (let id = 1; id <= COUNTERS; id++) await tx.run('INSERT INTO counter VALUES (?, 0)', [id]);
});

const turn = () => new Promise((resolve) => setImmediate(resolve));
const names = ['lease', 'read', 'turn', 'write', 'commit'];
const sums = names.map(() => 0);
let counted = 0;

/** One increment; adds each phase's duration to `sums` when `count`. */
async function increment(id, count) {
  const marks = [performance.now()];
  await pool.transaction(async (tx) => {
    marks.push(performance.now());
    const row = await tx.get('SELECT n FROM counter WHERE id = ?', [id]);
    marks.push(performance.now());
    await turn();
    marks.push(performance.now());
    await tx.run('UPDATE counter SET n = ? WHERE id = ?', [row.n + 1, id]);
    marks.push(performance.now());
  });
  marks.push(performance.now());
  if (!count) return;
  for (let i = 0; i < names.length; i++) sums[i] += marks[i + 1] - marks[i];
  counted++;
}

for (let i = 0; i < WARM_UP; i++) await increment(1 + (i % COUNTERS), false);
const end = performance.now() + ms;
for (let i = 0; performance.now() < end; i++) await increment(1 + (i % COUNTERS), true);
const total = await pool.get('SELECT sum(n) AS n FROM counter');
await pool.close();
rmSync(dir, { recursive: true, force: true });
if (total.n !== WARM_UP + counted) throw new Error(`lost updates: ${total.n} counted, ${WARM_UP + counted} made`);

const micros = (sum) => Math.round((sum / counted) * 10_000) / 10;
const phases = Object.fromEntries(names.map((name, i) => [name, micros(sums[i])]));
console.log(
  JSON.stringify({ strategy: values.strategy, transactions: counted, perTransactionUs: micros(sums.reduce((a, b) => a + b)), ...phases }),
);
