/**
 * A child process with its own pool, running one workload and printing its
 * result as JSON. Spawned by the multi-process tests:
 *   node --import tsx load-process.ts '{"filename":…,"strategy":…,"workload":"counter",…}'
 */
import { createPool, type StrategyConfig } from '@litepool/core';
import { runBank, runCounter } from './workloads.js';

interface Job {
  readonly filename: string;
  readonly strategy: StrategyConfig;
  readonly workload: 'counter' | 'bank';
  readonly handlers: number;
  readonly operations: number;
  readonly seed: number;
}

const job = JSON.parse(process.argv[2] ?? '{}') as Job;
const pool = createPool({ filename: job.filename, strategy: job.strategy });
const result =
  job.workload === 'counter'
    ? await runCounter(pool, job.handlers, job.operations, false)
    : await runBank(pool, job.handlers, job.operations, job.seed);
await pool.close();
process.stdout.write(`${JSON.stringify(result)}\n`);
