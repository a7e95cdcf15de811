// A process that reads inline through a pool, closes it and lets its event
// loop empty: it must exit by itself (the read watch's thread is unref'd).
// Prints {"inline":true} once a read was answered on this thread. With
// `early`, it closes right after the read that starts the read watch's
// thread, so the process ends while that thread starts (it must neither
// abort nor hang).
//   node inline-exit.mjs DIR [early]
import { createPool } from '@litepool/core';
import { join } from 'node:path';

const early = process.argv[3] === 'early';
const pool = createPool({ filename: join(process.argv[2], 'db.sqlite'), readers: 1 });
await pool.run('CREATE TABLE t (x)');
let inline = 0;
// A new pool's first read starts the watch (inline-reads.ts); with `early` the pool closes right after it.
for (let i = 0; early ? i < 1 : i < 200 && inline === 0; i++) {
  await pool.get('SELECT count(*) AS n FROM t');
  inline = pool.stats().inlineReads;
  if (!early) await new Promise((resolve) => setTimeout(resolve, 10));
}
await pool.close();
console.log(JSON.stringify({ inline: inline > 0 }));
