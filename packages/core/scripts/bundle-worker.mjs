#!/usr/bin/env node
// Bundles the worker thread's entry (dist/local/worker.js, as tsc wrote it)
// into one file, in place: a worker that loads ~20 small ES modules spends
// ~20 ms on it at every start, one file ~4 ms (measured on the 2-core
// machine). better-sqlite3 stays an import; the file keeps its name, so
// `new URL('./worker.js', import.meta.url)`, bundlers that follow it and the
// `workerFile` option see no change. Skips a file it already bundled (tsc -b
// rewrites worker.js only when its sources change).
//   node bundle-worker.mjs [PACKAGE_DIR]   (default: this script's package)
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MARK = '// litepool: the worker thread, bundled by scripts/bundle-worker.mjs';
const root = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist', 'local', 'worker.js');
if (!readFileSync(entry, 'utf8').startsWith(MARK)) {
  await build({
    entryPoints: [entry],
    outfile: entry,
    allowOverwrite: true,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    external: ['better-sqlite3'],
    sourcemap: true,
    banner: { js: MARK },
    logLevel: 'warning',
  });
}
