// A new pool's first reads, in a process of their own (the calling thread's
// read watch is process-wide: here it has not started). Prints one JSON line.
//   node first-read.mjs DIR plain   the first read; which connection answered it
//   node first-read.mjs DIR long    a first read that never ends, then writes
//   node first-read.mjs DIR no-extension   the first read where the interrupt extension cannot load
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
if (mode === 'plain' || mode === 'no-extension') {
  const row = await pool.get('SELECT 1 AS one');
  console.log(JSON.stringify({ row, ...stats() }));
} else {
  const controller = new AbortController();
  const endless = pool.get(RUNAWAY, [], { signal: controller.signal }).then(
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
