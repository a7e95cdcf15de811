/** Runs one cell (subject x workload x concurrency) as a closed loop and measures it. */
import * as hdr from 'hdr-histogram-js';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Driver } from './driver.js';
import type { Workload } from './workloads.js';
import { countError } from './errors.js';

/** The measurements of one cell. */
export interface CellResult {
  readonly subject: string;
  readonly workload: string;
  readonly concurrency: number;
  readonly ops: number;
  readonly seconds: number;
  readonly throughput: number;
  /** Latency percentiles in ms. */
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  /** Errors by code. */
  readonly errors: Record<string, number>;
  /** Read-modify-write increments acknowledged but missing from the database. */
  readonly lostUpdates: number | null;
  /** Main-thread event-loop delay p99 in ms, over warm-up and measurement. */
  readonly eventLoopP99: number;
  /** CPU time of the whole process (every thread) per measured operation, in µs. */
  readonly cpuPerOpUs: number;
}

function seeded(seed: number): (n: number) => number {
  let state = seed >>> 0 || 1;
  return (n) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % n;
  };
}

async function counterTotal(driver: Driver): Promise<number> {
  return ((await driver.get('SELECT sum(n) AS t FROM counter', [])) as { t: number }).t;
}

/** Runs `concurrency` handlers in a loop for `warmupMs` then `measureMs`, and reports. */
export async function runCell(
  subject: string,
  driver: Driver,
  workload: Workload,
  concurrency: number,
  warmupMs: number,
  measureMs: number,
): Promise<CellResult> {
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  const errors: Record<string, number> = {};
  const before = workload.rmw === true ? await counterTotal(driver) : 0;
  let acknowledged = 0;
  let measuring = false;
  let ops = 0;
  // The monitor records the gap between two of its own ticks: let it tick before the cell starts,
  // so a driver that blocks the loop for the whole cell (synchronous drivers) is measured too.
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  await new Promise((resolve) => setTimeout(resolve, 5));
  const start = performance.now();
  const warmEnd = start + warmupMs;
  const end = warmEnd + measureMs;
  let measureStart = warmEnd;
  let cpuStart = process.cpuUsage();
  const plain = driver.plain?.(workload.id);
  if (plain !== undefined) {
    // One synchronous loop, whatever the concurrency: no promise per operation, on one core.
    const random = seeded(1 + concurrency);
    for (let now = performance.now(); now < end;) {
      const t0 = now;
      plain(random);
      now = performance.now();
      if (workload.rmw === true) acknowledged++;
      if (t0 >= warmEnd) {
        if (!measuring) {
          measuring = true;
          measureStart = t0;
          cpuStart = process.cpuUsage();
        }
        ops++;
        histogram.recordValue(Math.max(1, Math.round((now - t0) * 1000)));
      }
    }
  } else
    await Promise.all(
      Array.from({ length: concurrency }, async (_, handler) => {
        const random = seeded(1 + handler * 7919 + concurrency);
        for (;;) {
          const now = performance.now();
          if (now >= end) return;
          if (!measuring && now >= warmEnd) {
            measuring = true;
            measureStart = now;
            cpuStart = process.cpuUsage();
          }
          const counted = measuring;
          const t0 = performance.now();
          try {
            await workload.op(driver, random);
            if (workload.rmw === true) acknowledged++;
            if (counted) {
              ops++;
              histogram.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
            }
          } catch (error) {
            countError(errors, error);
          }
        }
      }),
    );
  const cpu = process.cpuUsage(cpuStart);
  // One more tick records the last gap (the whole cell, for a driver that never yielded).
  await new Promise((resolve) => setTimeout(resolve, 5));
  loopDelay.disable();
  const seconds = (performance.now() - measureStart) / 1000;
  const lostUpdates = workload.rmw === true ? acknowledged - ((await counterTotal(driver)) - before) : null;
  const result: CellResult = {
    subject,
    workload: workload.id,
    concurrency,
    ops,
    seconds,
    throughput: ops / seconds,
    p50: histogram.getValueAtPercentile(50) / 1000,
    p95: histogram.getValueAtPercentile(95) / 1000,
    p99: histogram.getValueAtPercentile(99) / 1000,
    errors,
    lostUpdates,
    eventLoopP99: loopDelay.count > 0 ? loopDelay.percentile(99) / 1e6 : 0,
    cpuPerOpUs: ops === 0 ? 0 : (cpu.user + cpu.system) / ops,
  };
  histogram.destroy();
  return result;
}
