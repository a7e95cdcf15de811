#!/usr/bin/env node
// Bundles each entry point of the package's `exports` map from src/ into one
// ES module file (tsc writes only the declarations): an import that loads ~80
// small modules costs ~65 ms here, one file ~25 ms, and a worker thread pays
// the same at every start (measured on the 2-core machine).
//  - Imports of another entry point stay imports (relative, to its bundle), so
//    every entry shares one copy of the main code: one `Pool` class, one set
//    of error classes, one registry.
//  - Packages stay imports (better-sqlite3's native binding, optional peers).
//  - The main entry's code is written to dist/local/litepool.js and
//    dist/index.js re-exports it: that code finds the worker entry and the
//    native extension relative to its own URL (`new URL('./worker.js',
//    import.meta.url)`, which webpack follows), as from src/local/.
// Removes any other .js left in dist/ (an older build's per-module output).
//   node bundle.mjs [PACKAGE_DIR]   (default: this script's package)
import { build } from 'esbuild';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
/** Where an entry's code goes when it is not the entry file itself (see above). */
const MOVED = { 'dist/index.js': 'dist/local/litepool.js' };

/** Each entry: its source, its public file and the file its code is written to. */
const entries = Object.values(manifest.exports)
  .map((target) => (typeof target === 'object' ? target.import?.default : undefined))
  .filter((file) => typeof file === 'string' && file.startsWith('./dist/') && file.endsWith('.js'))
  .map((file) => {
    const name = file.slice(2);
    return {
      source: join(root, name.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts')),
      file: join(root, name),
      code: join(root, MOVED[name] ?? name),
    };
  });

/** A relative specifier from `from`'s directory to `to`. */
const specifier = (from, to) => {
  const path = relative(dirname(from), to).replaceAll('\\', '/');
  return path.startsWith('.') ? path : `./${path}`;
};

const written = new Set();
for (const entry of entries) {
  /** Keeps an import of another entry an import of that entry's public file. */
  const otherEntries = {
    name: 'other-entries',
    setup(plugin) {
      plugin.onResolve({ filter: /^\.\.?\// }, (args) => {
        const source = resolve(args.resolveDir, args.path).replace(/\.js$/, '.ts');
        const other = entries.find((candidate) => candidate.source === source);
        if (other === undefined || other === entry || args.kind === 'entry-point') return undefined;
        return { path: specifier(entry.code, other.file), external: true };
      });
    },
  };
  await build({
    entryPoints: [entry.source],
    outfile: entry.code,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    packages: 'external',
    sourcemap: true,
    sourcesContent: false,
    plugins: [otherEntries],
    logLevel: 'warning',
  });
  // A class whose body names itself is emitted as `var X = class _X`, and then its name (in stack traces, util.inspect,
  // `constructor.name`: the drop-in's `Statement` must say `Statement`) is `_X`. esbuild's keepNames would mend it at the
  // cost of a call for every function made; the sources refer to their own class as `this` or `this.constructor` instead.
  const renamed = readFileSync(entry.code, 'utf8').match(/= class _\w+/g);
  if (renamed !== null) throw new Error(`${entry.source}: ${renamed.join(', ')}: a class refers to itself by name (see above)`);
  written.add(entry.code);
  if (entry.code !== entry.file) {
    const target = JSON.stringify(specifier(entry.file, entry.code));
    writeFileSync(
      entry.file,
      `// The package's main entry; its code is in ${target} (scripts/bundle.mjs says why).\nexport * from ${target};\n`,
    );
    written.add(entry.file);
  }
}

function* files(dir) {
  for (const item of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, item.name);
    if (item.isDirectory()) yield* files(path);
    else yield path;
  }
}
for (const path of [...files(join(root, 'dist'))]) {
  const js = path.endsWith('.js') ? path : path.endsWith('.js.map') ? path.slice(0, -4) : undefined;
  if (js !== undefined && !written.has(js)) rmSync(path);
}
