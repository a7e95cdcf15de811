// A new pool's first reads, in a process of their own (the calling thread's
// read watch is process-wide: here it has not started). Prints one JSON line.
//   node first-read.mjs DIR plain   the first read; which connection answered it
//   node first-read.mjs DIR long    a first read that never ends, then writes
//   node first-read.mjs DIR no-extension   the first read where the interrupt extension cannot load
//   node first-read.mjs DIR after-write  a first write, then at once a read and a small stream
//   node first-read.mjs DIR burst        a first write, then 10 reads at once, then 40
//   node first-read.mjs DIR long-stream  a first stream longer than a chunk
//   node first-read.mjs DIR wal-stream   a first stream longer than a chunk, of new.db made in WAL mode beforehand (table t)
//   node first-read.mjs DIR endless-stream  a first stream that never ends, then writes
import { createPool } from '@litepool/core';
import { join } from 'node:path';

const RUNAWAY = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) AS n FROM c';
const [dir, mode] = process.argv.slice(2);
const pool = createPool({
  filename: join(dir, 'new.db'),
  statementTimeoutMs: 0,
  ...(mode === 'no-extension' ? { interruptExtension: join(dir, 'missing.so') } : {}),
});
const stats = () => {
  const { readers, readBatches, writeBatches, moved } = pool.stats();
  return { readers, readBatches: readBatches.requests, writeBatches: writeBatches.requests, moved };
};
const drain = async (rows) => {
  const out = [];
  for await (const row of rows) out.push(row.x ?? row.n);
  return out;
};
if (mode === 'after-write') {
  await pool.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1), (2), (3)');
  const { n } = await pool.get('SELECT count(*) AS n FROM t');
  const streamed = await drain(pool.iterate('SELECT x FROM t ORDER BY x'));
  console.log(JSON.stringify({ n, streamed, ...stats() }));
} else if (mode === 'burst') {
  await pool.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
  const burst = (n) => Promise.all(Array.from({ length: n }, (_, i) => pool.get('SELECT x + ? AS y FROM t', [i])));
  const small = (await burst(10)).every((row, i) => row.y === i + 1);
  const readersAfterSmall = pool.stats().readers;
  const large = (await burst(40)).every((row, i) => row.y === i + 1);
  console.log(JSON.stringify({ small, readersAfterSmall, large, readers: pool.stats().readers }));
} else if (mode === 'long-stream') {
  await pool.exec(
    'CREATE TABLE t (x); WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 1000) INSERT INTO t SELECT x FROM c',
  );
  const streamed = await drain(pool.iterate('SELECT x FROM t ORDER BY x'));
  const inOrder = streamed.every((x, i) => x === i + 1);
  console.log(JSON.stringify({ streamed: streamed.length, inOrder, ...stats() }));
} else if (mode === 'wal-stream') {
  const streamed = await drain(pool.iterate('SELECT x FROM t ORDER BY x'));
  const inOrder = streamed.every((x, i) => x === i + 1);
  const { writerOpen } = pool.stats();
  console.log(JSON.stringify({ streamed: streamed.length, inOrder, writerOpen, ...stats() }));
} else if (mode === 'plain' || mode === 'no-extension') {
  const row = await pool.get('SELECT 1 AS one');
  console.log(JSON.stringify({ row, ...stats() }));
} else {
  // long / endless-stream: a first read, or stream, that never ends.
  const controller = new AbortController();
  const options = { signal: controller.signal };
  const run = mode === 'endless-stream' ? drain(pool.iterate(RUNAWAY, [], options)) : pool.get(RUNAWAY, [], options);
  const endless = run.then(
    () => 'ended',
    (error) => error.code,
  );
  // Sent while the endless read runs on the writer: they must not wait for it.
  await pool.run('CREATE TABLE t (x)');
  await pool.run('INSERT INTO t VALUES (1)');
  const { n } = await pool.get('SELECT count(*) AS n FROM t');
  const during = stats();
  controller.abort();
  console.log(JSON.stringify({ n, endless: await endless, ...during }));
}
await pool.close();
