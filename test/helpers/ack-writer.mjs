// A writer process to be killed: 16 handlers insert rows with ids from START,
// by one-shot inserts and by two-row transactions, and print every id as soon
// as its write is acknowledged (stdout to a pipe is synchronous on Linux, so a
// printed id was acknowledged before any kill).
//   node ack-writer.mjs FILE STRATEGY-JSON START
import { createPool } from '@litepool/core';

const [filename, strategy, start] = process.argv.slice(2);
const pool = createPool({ filename, strategy: JSON.parse(strategy) });
let next = Number(start);
console.log('ready');
await Promise.all(
  Array.from({ length: 16 }, async (_, handler) => {
    for (;;) {
      if (handler % 2 === 0) {
        const id = next++;
        await pool.run('INSERT INTO acked (id, pad) VALUES (?, randomblob(200))', [id]);
        process.stdout.write(`${id}\n`);
      } else {
        const ids = [next++, next++];
        await pool.transaction(async (tx) => {
          for (const id of ids) await tx.run('INSERT INTO acked (id, pad) VALUES (?, randomblob(200))', [id]);
        });
        process.stdout.write(`${ids[0]}\n${ids[1]}\n`);
      }
    }
  }),
);
