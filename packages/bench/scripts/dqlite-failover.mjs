#!/usr/bin/env node
// dqlite failover, measured: a 3-node cluster of litepool-dqlite-node on
// loopback, 16 callers writing through one pool, the leader SIGKILLed
// KILLS times (default 10; restarted and rejoined after each). For each kill:
// the time from the kill to the first write acknowledged that was started
// after it. Also checks that every acknowledged write is present. Prints JSON.
//   sh packages/dqlite/node/build.sh && node packages/bench/scripts/dqlite-failover.mjs [kills] [--network-latency-ms N]
import { createPool } from '@litepool/core';
import { dqlite } from '@litepool/dqlite';
import { join } from 'node:path';
import { startLocalCluster, waitForVoters } from '../dist/dqlite-cluster.js';

const args = process.argv.slice(2);
const latencyAt = args.indexOf('--network-latency-ms');
const latency = latencyAt >= 0 ? Number(args.splice(latencyAt, 2)[1]) : undefined;
const kills = Number(args[0] ?? 10);
const program = join(import.meta.dirname, '..', '..', 'dqlite', 'node', 'litepool-dqlite-node');
const cluster = await startLocalCluster({
  litepoolNode: program,
  ...(latency === undefined ? {} : { args: ['--network-latency-ms', String(latency)] }),
});
const pool = createPool({ backend: dqlite({ servers: [...cluster.servers], database: 'failover', reconnectTimeoutMs: 20_000 }) });
// Each kill moves the leader: the warning is expected here.
pool.on('warning', () => {});
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
try {
  await pool.exec('CREATE TABLE acked (id INTEGER PRIMARY KEY)');
  const acked = new Set();
  const outcomes = {};
  let next = 1;
  let stop = false;
  let killedAt = Infinity;
  let firstAckAfterKill = Infinity;
  const callers = Array.from({ length: 16 }, async () => {
    while (!stop) {
      const id = next++;
      const startedAt = performance.now();
      try {
        await pool.run('INSERT INTO acked (id) VALUES (?)', [id]);
        acked.add(id);
        if (startedAt > killedAt) firstAckAfterKill = Math.min(firstAckAfterKill, performance.now());
        outcomes.ok = (outcomes.ok ?? 0) + 1;
      } catch (error) {
        const code = error?.code ?? 'other';
        outcomes[code] = (outcomes[code] ?? 0) + 1;
      }
    }
  });
  const resumed = [];
  for (let kill = 0; kill < kills; kill++) {
    await sleep(500);
    const leader = await cluster.leader();
    firstAckAfterKill = Infinity;
    killedAt = performance.now();
    await cluster.kill(leader);
    while (firstAckAfterKill === Infinity && performance.now() - killedAt < 30_000) await sleep(10);
    resumed.push(Math.round(firstAckAfterKill - killedAt));
    killedAt = Infinity;
    cluster.start(leader);
    await waitForVoters([leader], 3);
  }
  stop = true;
  await Promise.all(callers);
  const present = new Set((await pool.all('SELECT id FROM acked')).map((row) => row.id));
  const missing = [...acked].filter((id) => !present.has(id)).length;
  const sorted = [...resumed].sort((a, b) => a - b);
  console.log(
    JSON.stringify(
      {
        kills,
        networkLatencyMs: latency ?? 'default (50)',
        resumedMs: resumed,
        medianMs: sorted[Math.floor(sorted.length / 2)],
        maxMs: sorted.at(-1),
        acknowledged: acked.size,
        missing,
        outcomes,
      },
      null,
      1,
    ),
  );
} finally {
  await pool.destroy();
  await cluster.stop();
}
