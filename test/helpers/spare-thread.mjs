// A process's first pool and the thread createPool has started for it (see
// startSpareSoon), in a process of its own: nothing is parked in it yet.
//   node spare-thread.mjs DIR used     createPool, a write and a read; prints the threads started after each
//   node spare-thread.mjs DIR unused   createPool and nothing else: the process must end by itself
//   node spare-thread.mjs DIR closed   createPool, then close() before any call: the process must end by itself
//   node spare-thread.mjs DIR same-turn  after a first pool, a pool (of another workerNice: nothing parked for it)
//                                        called in createPool's own turn: prints the threads its write started
//   node spare-thread.mjs DIR while-closing  a pool opened while the first closes (its thread still being parked):
//                                            prints the threads the second pool started
//   node spare-thread.mjs DIR second-pool  a pool opened while the first is open: prints the threads it started
// Reserves (a thread started once a connection opened, for the next one) are counted apart: `reserves`.
import { createPool } from '@litepool/core';
import { join } from 'node:path';

const [dir, mode] = process.argv.slice(2);
let started = 0;
let reserves = 0;
process.on('worker', (worker) => (worker.threadName === 'litepool reserve' ? reserves++ : started++));
// No inline reads: their read watch is a thread of its own, which would blur the count.
const pool = createPool({ filename: join(dir, `${mode}.db`), readers: 0, inlineReads: false });
// The thread starts at the turn after createPool; Node reports it (the process 'worker' event) a tick later.
await new Promise((resolve) => setImmediate(resolve));
const afterCreate = started;
if (mode === 'same-turn') {
  await pool.run('CREATE TABLE t (x)');
  await pool.close();
  const before = started;
  const next = createPool({ filename: join(dir, 'next.db'), readers: 0, inlineReads: false, workerNice: 5 });
  await next.run('CREATE TABLE t (x)');
  // Long enough for a thread asked for at createPool's next turn to have started, were it still asked for.
  await new Promise((resolve) => setTimeout(resolve, 200));
  await next.close();
  console.log(JSON.stringify({ afterCreate, nextPool: started - before }));
} else if (mode === 'while-closing') {
  // A WAL of 5 MB to checkpoint: the first pool's thread is still closing its database when the second asks.
  await pool.exec(
    'CREATE TABLE t (x); WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 5000) INSERT INTO t SELECT randomblob(1000) FROM c',
  );
  const before = started;
  const closing = pool.close();
  await new Promise((resolve) => setImmediate(resolve));
  const next = createPool({ filename: join(dir, 'next.db'), readers: 0, inlineReads: false });
  await next.run('CREATE TABLE t (x)');
  await closing;
  // Long enough for a thread asked for at createPool's next turn to have started, were it asked for.
  await new Promise((resolve) => setTimeout(resolve, 200));
  await next.close();
  console.log(JSON.stringify({ nextPool: started - before }));
} else if (mode === 'second-pool') {
  await pool.run('CREATE TABLE t (x)');
  // The reserve starts a little after the writer opened (bounded: 200 looks, 10 ms apart).
  for (let i = 0; i < 200 && reserves === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  const before = { started, reserves };
  const next = createPool({ filename: join(dir, 'second.db'), readers: 0, inlineReads: false });
  await next.run('CREATE TABLE t (x)');
  for (let i = 0; i < 200 && reserves === before.reserves; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  await Promise.all([pool.close(), next.close()]);
  console.log(
    JSON.stringify({ reservesBefore: before.reserves, nextPool: started - before.started, nextReserves: reserves - before.reserves }),
  );
} else if (mode === 'used') {
  await pool.run('CREATE TABLE t (x)');
  await pool.run('INSERT INTO t VALUES (1)');
  const row = await pool.get('SELECT x FROM t');
  const afterCalls = started;
  await pool.close();
  console.log(JSON.stringify({ afterCreate, afterCalls, row }));
} else if (mode === 'closed') {
  await pool.close();
  console.log(JSON.stringify({ afterCreate }));
} else console.log(JSON.stringify({ afterCreate }));
