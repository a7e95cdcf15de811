// A process's first pool and the thread createPool starts for it (see
// startSpare), in a process of its own: nothing is parked in it yet.
//   node spare-thread.mjs DIR used     createPool, a write and a read; prints the threads started after each
//   node spare-thread.mjs DIR unused   createPool and nothing else: the process must end by itself
//   node spare-thread.mjs DIR closed   createPool, then close() before any call: the process must end by itself
import { createPool } from '@litepool/core';
import { join } from 'node:path';

const [dir, mode] = process.argv.slice(2);
let started = 0;
process.on('worker', () => started++);
// No inline reads: their read watch is a thread of its own, which would blur the count.
const pool = createPool({ filename: join(dir, `${mode}.db`), readers: 0, inlineReads: false });
// Node reports a new thread (the process 'worker' event) a tick after it starts it.
await new Promise((resolve) => setImmediate(resolve));
const afterCreate = started;
if (mode === 'used') {
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
