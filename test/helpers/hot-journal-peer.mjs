// A peer process that dies mid-transaction and leaves a hot journal: with a
// tiny page cache its uncommitted rows spill into the database file (the
// originals saved in the rollback journal), then it says "ready" and waits
// for its SIGKILL.   node hot-journal-peer.mjs FILE
import { createPool } from '@litepool/core';

const pool = createPool({ filename: process.argv[2], strategy: 'mutex', readers: 0, pragmas: { cache_size: 5 } });
await pool.transaction(async (tx) => {
  for (let i = 0; i < 400; i++) await tx.run('INSERT INTO t (v, pad) VALUES (?, randomblob(2000))', [-1]);
  console.log('ready');
  await new Promise(() => {}); // killed here, inside the transaction
});
