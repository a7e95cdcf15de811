/**
 * A worker entry whose thread is stuck in JavaScript for a while as it starts
 * (as a slow machine's or a large setup module's start can be), then writes a
 * marker file and goes on as litepool's own worker entry: a test can tell
 * whether anything waited for that start by looking for the marker.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { tempDir } from './temp.js';

/** Writes the entry into a new temp dir: its path, and the marker it writes once its `stallMs` are over. */
export function slowWorker(t: TestContext, stallMs = 3_000): { workerFile: string; marker: string } {
  const dir = tempDir(t, 'litepool-slow-worker-');
  const marker = join(dir, 'started');
  const workerFile = join(dir, 'slow-worker.mjs');
  writeFileSync(
    workerFile,
    `import { writeFileSync } from 'node:fs';
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ${stallMs});
writeFileSync(${JSON.stringify(marker)}, '');
await import(${JSON.stringify(import.meta.resolve('@litepool/core/worker'))});
`,
  );
  return { workerFile, marker };
}
