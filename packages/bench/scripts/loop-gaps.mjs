#!/usr/bin/env node
// Where an event-loop delay comes from: 64 loops of 100-row range reads on a
// pool (the bench's worst cell for the loop's p99) for --seconds, watched by
// monitorEventLoopDelay (resolution 1 ms, as the bench's cells) and by a 1 ms
// interval that records every gap over 3 ms with the calling thread's CPU
// time inside it (process.threadCpuUsage): a gap the thread spent on the CPU
// is work of its own (JavaScript, garbage collection), one it spent off the
// CPU is a wait for a core. Garbage collections come from a PerformanceObserver.
// Also an idle process's delay, watched the same way, as the floor (the
// histogram counts the 1 ms interval itself). Prints JSON. Build first (`pnpm build`).
//   node packages/bench/scripts/loop-gaps.mjs [--seconds 3] [--strategy single-writer] [--worker-nice N] [--readers N]
import { createPool } from '@litepool/core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    strategy: { type: 'string', default: 'single-writer' },
    'worker-nice': { type: 'string' },
    readers: { type: 'string' },
  },
});
const SECONDS = Number(values.seconds);
const ROWS = 10_000;
const IN_FLIGHT = 64;
const GAP_MS = 3;
const round = (value, digits = 2) => Number(value.toFixed(digits));

/** Watches the event loop while `work` runs: the delay's percentiles, the gaps over GAP_MS and the collections. */
async function watch(work) {
  const collections = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) collections.push({ at: entry.startTime, ms: entry.duration });
  });
  observer.observe({ entryTypes: ['gc'] });
  const delay = monitorEventLoopDelay({ resolution: 1 });
  const gaps = [];
  const cpuMs = () => {
    const { user, system } = process.threadCpuUsage();
    return (user + system) / 1000;
  };
  let last = performance.now();
  let lastCpu = cpuMs();
  const ticker = setInterval(() => {
    const at = performance.now();
    const cpu = cpuMs();
    if (at - last > GAP_MS) gaps.push({ at: last, ms: at - last, cpuMs: cpu - lastCpu });
    last = at;
    lastCpu = cpu;
  }, 1);
  delay.enable();
  const result = await work();
  delay.disable();
  clearInterval(ticker);
  observer.disconnect();
  const gapMs = gaps.reduce((sum, gap) => sum + gap.ms, 0);
  return {
    ...result,
    loopP50Ms: round(delay.percentile(50) / 1e6),
    loopP99Ms: round(delay.percentile(99) / 1e6),
    loopMaxMs: round(delay.max / 1e6),
    gapsOver3Ms: gaps.length,
    gapsWithCollection: gaps.filter((gap) => collections.some((c) => c.at >= gap.at - 1 && c.at <= gap.at + gap.ms)).length,
    onCpuShareOfGaps: gapMs === 0 ? null : round(gaps.reduce((sum, gap) => sum + gap.cpuMs, 0) / gapMs),
    longestGaps: [...gaps]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 8)
      .map((gap) => `${round(gap.ms, 1)} ms (${round(gap.cpuMs, 1)} on CPU)`),
    collections: collections.length,
    collectionMs: round(
      collections.reduce((sum, c) => sum + c.ms, 0),
      1,
    ),
    longestCollectionMs: round(Math.max(0, ...collections.map((c) => c.ms))),
  };
}

const idle = await watch(() => new Promise((resolve) => setTimeout(() => resolve({}), SECONDS * 1000)));

const dir = mkdtempSync(join(tmpdir(), 'litepool-loop-gaps-'));
try {
  const pool = createPool({
    filename: join(dir, 'kv.db'),
    strategy: values.strategy,
    ...(values['worker-nice'] === undefined ? {} : { workerNice: Number(values['worker-nice']) }),
    ...(values.readers === undefined ? {} : { readers: Number(values.readers) }),
  });
  await pool.run('CREATE TABLE kv (id INTEGER PRIMARY KEY, v TEXT)');
  await pool.run(
    `INSERT INTO kv (v) SELECT 'value-' || n FROM (WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < ${ROWS}) SELECT n FROM c)`,
  );
  const reads = await watch(async () => {
    let calls = 0;
    const end = performance.now() + SECONDS * 1000;
    const loop = async () => {
      while (performance.now() < end) {
        const start = 1 + Math.floor(Math.random() * (ROWS - 100));
        await pool.all('SELECT id, v FROM kv WHERE id BETWEEN ? AND ?', [start, start + 99]);
        calls++;
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, loop));
    return { callsPerSecond: Math.round(calls / SECONDS) };
  });
  await pool.close();
  console.log(JSON.stringify({ strategy: values.strategy, idle, rangeReadsAt64: reads }, null, 1));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
