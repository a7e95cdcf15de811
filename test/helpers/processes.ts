/** Spawning child processes that each run a workload with their own pool. */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StrategyConfig } from '@litepool/core';
import type { WorkloadResult } from './workloads.js';

const script = join(dirname(fileURLToPath(import.meta.url)), 'load-process.ts');

/** Runs a TypeScript helper script in a child process; resolves with its stdout, rejects on a non-zero exit. */
export function runScript(file: string, args: string[], timeoutMs = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${file} exited with ${code ?? signal}: ${err.slice(-2000)}`));
    });
  });
}

/** Runs `processes` children at once, each with its own pool on `filename`. */
export async function runProcesses<T extends WorkloadResult>(
  processes: number,
  job: { filename: string; strategy: StrategyConfig; workload: 'counter' | 'bank'; handlers: number; operations: number },
): Promise<T[]> {
  const outputs = await Promise.all(
    Array.from({ length: processes }, (_, i) => runScript(script, [JSON.stringify({ ...job, seed: 7 + i * 7919 })])),
  );
  return outputs.map((out) => JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as T);
}
