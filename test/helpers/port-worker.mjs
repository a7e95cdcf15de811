// A worker thread the app runs itself: gets a port from pool.connectPort() and
// increments a counter through a client, `handlers` at a time.
import { connectClient } from '@litepool/core';
import { parentPort, workerData } from 'node:worker_threads';

const { port, handlers, increments } = workerData;
const client = connectClient(port);
const errors = [];
await Promise.all(
  Array.from({ length: handlers }, async () => {
    for (let i = 0; i < increments; i++) {
      try {
        await client.transaction(async (tx) => {
          const { n } = await tx.get('SELECT n FROM counter WHERE id = 1');
          await new Promise((resolve) => setImmediate(resolve)); // another handler runs here
          await tx.run('UPDATE counter SET n = ? WHERE id = 1', [n + 1]);
        });
      } catch (error) {
        errors.push(`${error.code}: ${error.message}`);
      }
    }
  }),
);
client.close();
parentPort.postMessage({ errors });
