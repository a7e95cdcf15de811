/**
 * Bundled apps: a small app bundled with esbuild (ES module and CommonJS) and
 * webpack 5 (both), run from a directory with nothing but the bundle and the
 * two native files beside it: a query, a transaction, a runaway statement
 * stopped by the interrupt extension, a strategy by name, and a clean close.
 * As root, each bundle runs in a mount namespace where the workspace's
 * packages and node_modules are hidden, so it can rely on nothing else.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { build as viteBuild } from 'vite';
import webpack from 'webpack';
import { tempDir } from './helpers/temp.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..');
const app = join(here, 'fixtures', 'bundled-app', 'app.js');
const require = createRequire(import.meta.url);
const platform = `${process.platform}-${process.arch}`;
const binding = join(dirname(require.resolve('better-sqlite3/package.json')), 'prebuilds', `${platform}.node`);
const extension = join(repo, 'packages', 'core', 'native', platform, 'litepool_interrupt.so');
const EXPECTED = { v: 42, stopped: 'ERR_STATEMENT_TIMEOUT', strategy: 'single-writer' };

/** The two native files a bundle ships beside it, under the names litepool looks for. */
function shipNativeFiles(out: string): void {
  copyFileSync(binding, join(out, 'better_sqlite3.node'));
  copyFileSync(extension, join(out, 'litepool_interrupt.so'));
}

async function buildWithEsbuild(out: string, format: 'esm' | 'cjs'): Promise<string> {
  const extension = format === 'esm' ? '.mjs' : '.cjs';
  const result = await esbuild.build({
    entryPoints: { app, 'litepool-worker': '@litepool/core/worker' },
    bundle: true,
    platform: 'node',
    target: 'node22',
    format,
    outdir: out,
    outExtension: { '.js': extension },
    // CommonJS dependencies in an ES module bundle call require(): give them one.
    ...(format === 'esm'
      ? { banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" } }
      : {}),
    logLevel: 'silent',
  });
  assert.deepEqual(result.errors, []);
  assert.deepEqual(
    result.warnings.map((warning) => warning.text),
    [],
  );
  return `app${extension}`;
}

function buildWithWebpack(out: string, format: 'esm' | 'cjs'): Promise<string> {
  const esm = format === 'esm';
  const extension = esm ? '.mjs' : '.cjs';
  return new Promise((resolve, reject) => {
    webpack(
      {
        mode: 'production',
        target: 'node22',
        entry: { app },
        output: {
          path: out,
          filename: `[name]${extension}`,
          chunkFilename: `[name]${extension}`,
          ...(esm ? { module: true, chunkFormat: 'module' } : {}),
        },
        experiments: esm ? { outputModule: true } : {},
      },
      (error, stats) => {
        if (error !== null && error !== undefined) return reject(error);
        const info = stats!.toJson({ all: false, errors: true, warnings: true });
        assert.deepEqual(info.errors ?? [], []);
        // better-sqlite3 looks for its binding with require(expression); litepool hands it the path instead.
        for (const warning of info.warnings ?? []) assert.match(warning.message, /^Critical dependency: /);
        resolve(`app${extension}`);
      },
    );
  });
}

/** Vite's SSR build with every dependency bundled (`ssr.noExternal: true`); ES module output only. */
async function buildWithVite(out: string): Promise<string> {
  await viteBuild({
    configFile: false,
    logLevel: 'silent',
    root: here,
    ssr: { noExternal: true },
    build: {
      ssr: true,
      outDir: out,
      emptyOutDir: false,
      rollupOptions: {
        input: { app, 'litepool-worker': '@litepool/core/worker' },
        output: { format: 'esm', entryFileNames: '[name].mjs', chunkFileNames: '[name]-[hash].mjs' },
      },
    },
  });
  return 'app.mjs';
}

/** Runs `node <entry>` in `dir`; as root, with the workspace's packages and node_modules hidden. */
function runIsolated(dir: string, entry: string, node: string): string {
  const args = [entry, join(dir, 'app.db')];
  if (process.getuid?.() !== 0) return execFileSync(node, args, { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  const hidden = [join(repo, 'node_modules'), join(repo, 'packages'), join(repo, 'test', 'node_modules')];
  const script = `${hidden.map((path) => `mount -t tmpfs tmpfs '${path}'`).join(' && ')} && exec '${node}' ${args.map((a) => `'${a}'`).join(' ')}`;
  return execFileSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 60_000,
  });
}

for (const [bundler, build, formats] of [
  ['esbuild', buildWithEsbuild, ['esm', 'cjs']],
  ['webpack 5', buildWithWebpack, ['esm', 'cjs']],
  ['Vite SSR (noExternal: true)', buildWithVite, ['esm']],
] as const) {
  for (const format of formats) {
    test(`${bundler}, ${format === 'esm' ? 'ES module' : 'CommonJS'} output: the bundle runs alone, with its worker, its binding and its interrupt extension`, async (t) => {
      const out = tempDir(t, 'litepool-bundle-');
      const entry = await build(out, format);
      shipNativeFiles(out);
      // The Node binary itself may live in the hidden node_modules (the workspace pins it): use a copy.
      const node = join(out, 'node');
      copyFileSync(process.execPath, node);
      t.diagnostic(
        `shipped: ${readdirSync(out)
          .filter((file) => !file.endsWith('.db') && file !== 'node')
          .sort()
          .join(', ')}`,
      );
      assert.deepEqual(JSON.parse(runIsolated(out, entry, node).trim()), EXPECTED);
    });
  }
}

/** What one file of the built package imports, without following it: packages, built-ins, and relative files (absolute). */
async function importsOf(file: string): Promise<{ modules: number; packages: string[]; files: string[] }> {
  const files: string[] = [];
  const result = await esbuild.build({
    entryPoints: [file],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    plugins: [
      {
        name: 'relative-files',
        setup(plugin) {
          plugin.onResolve({ filter: /^\.\.?\// }, (args) => {
            if (args.kind === 'entry-point') return undefined;
            files.push(join(args.resolveDir, args.path));
            return { path: args.path, external: true };
          });
        },
      },
    ],
  });
  const imported = Object.values(result.metafile.inputs).flatMap((input) => input.imports.map((entry) => entry.path));
  const packages = [...new Set(imported.filter((path) => !path.startsWith('node:') && !path.startsWith('.')))].sort();
  return { modules: Object.keys(result.metafile.inputs).length, packages, files: [...new Set(files)] };
}

test("each entry point is one bundled module: it imports Node's built-ins, packages and other entry points only (no tree of small modules to load)", async () => {
  const core = join(repo, 'packages', 'core');
  const manifest = require(join(core, 'package.json')) as { exports: Record<string, { import?: { default?: string } } | string> };
  const entries = Object.values(manifest.exports)
    .map((target) => (typeof target === 'object' ? target.import?.default : undefined))
    .filter((file): file is string => file !== undefined)
    .map((file) => join(core, file));
  const main = join(core, 'dist', 'index.js');
  const mainCode = join(core, 'dist', 'local', 'litepool.js');
  // The main entry re-exports its code from dist/local/ (scripts/bundle.mjs says why).
  assert.deepEqual(await importsOf(main), { modules: 1, packages: [], files: [mainCode] });
  for (const file of [...entries.filter((entry) => entry !== main), mainCode]) {
    const { modules, files } = await importsOf(file);
    assert.equal(modules, 1, file);
    for (const imported of files) assert.ok(entries.includes(imported), `${file} imports ${imported}, not an entry point`);
  }
  // A worker thread loads one file: no litepool module besides it, and of packages only better-sqlite3.
  assert.deepEqual(await importsOf(join(core, 'dist', 'local', 'worker.js')), { modules: 1, packages: ['better-sqlite3'], files: [] });
});
