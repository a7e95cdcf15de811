// A worker thread that opens a transaction through its client, writes, and
// exits without ending it: the pool must roll it back and free the writer.
import { connectClient } from '@litepool/core';
import { parentPort, workerData } from 'node:worker_threads';

const client = connectClient(workerData.port);
await client.transaction(async (tx) => {
  await tx.run('INSERT INTO t VALUES (1)');
  parentPort.postMessage('inside');
  await new Promise(() => {}); // the thread is terminated here
});
