// A process that reads inline through a pool, closes it and lets its event
// loop empty: it must exit by itself (the read watch's thread is unref'd).
// Prints {"inline":true} once a read was answered on this thread.
//   node inline-exit.mjs DIR
import { createPool } from '@litepool/core';
import { join } from 'node:path';

const pool = createPool({ filename: join(process.argv[2], 'db.sqlite'), readers: 1 });
await pool.run('CREATE TABLE t (x)');
let inline = 0;
for (let i = 0; i < 200 && inline === 0; i++) {
  await pool.get('SELECT count(*) AS n FROM t');
  inline = pool.stats().inlineReads;
  await new Promise((resolve) => setTimeout(resolve, 10));
}
await pool.close();
console.log(JSON.stringify({ inline: inline > 0 }));
