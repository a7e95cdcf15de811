/**
 * The files a worker-thread connection needs besides JavaScript: the
 * worker's entry module, better-sqlite3's native binding and the interrupt
 * extension. In the package they sit where litepool's own modules are; in a
 * bundled app (esbuild, webpack, …) they are shipped beside the bundle under
 * fixed names, and found there without configuration (docs/bundling.md).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The worker entry's names beside a bundle, in the order they are looked for. */
export const BUNDLED_WORKER_NAMES: readonly string[] = ['litepool-worker.mjs', 'litepool-worker.cjs', 'litepool-worker.js'];
/** better-sqlite3's native binding beside a bundle. */
export const BUNDLED_BINDING_NAME = 'better_sqlite3.node';

const SUFFIX: Readonly<Record<string, string>> = { linux: 'so', darwin: 'dylib', win32: 'dll' };

/** This module's URL, in an ES module, a CommonJS bundle (where import.meta is empty), or neither. */
function moduleUrl(): URL | undefined {
  try {
    if (typeof import.meta.url === 'string' && import.meta.url.startsWith('file:')) return new URL(import.meta.url);
  } catch {
    // import.meta replaced by a bundler
  }
  return typeof __filename === 'string' ? pathToFileURL(__filename) : undefined;
}

/** Where bundled files may be: beside this module, and beside the app's entry script (the bundle itself). */
function searchDirectories(): string[] {
  const directories: string[] = [];
  const url = moduleUrl();
  if (url !== undefined) directories.push(dirname(fileURLToPath(url)));
  const entry = process.argv[1];
  if (entry !== undefined && entry !== '') directories.push(dirname(entry));
  return [...new Set(directories)];
}

/** What {@link findBeside} found, per list of names: looked up once per process (every createPool asks). */
const found = new Map<string, string | undefined>();

/** The first of `names` that exists in one of the search directories. */
function findBeside(names: readonly string[]): string | undefined {
  const key = names.join('\0');
  if (found.has(key)) return found.get(key);
  let path: string | undefined;
  for (const directory of searchDirectories()) {
    path = names.map((name) => join(directory, name)).find((candidate) => existsSync(candidate));
    if (path !== undefined) break;
  }
  found.set(key, path);
  return path;
}

/**
 * The worker entry of a bundled app (`litepool-worker.mjs` or `.cjs` beside
 * the bundle), or undefined: then litepool's own `worker.js` is used, through
 * `new Worker(new URL('./worker.js', import.meta.url))`, which webpack follows.
 */
export function bundledWorkerFile(): URL | undefined {
  const path = findBeside(BUNDLED_WORKER_NAMES);
  return path === undefined ? undefined : pathToFileURL(path);
}

/** better-sqlite3's native binding shipped beside a bundle, or undefined (better-sqlite3 finds its own). */
export function bundledNativeBinding(): string | undefined {
  return findBeside([BUNDLED_BINDING_NAME]);
}

let interruptExtension: { readonly path: string | undefined } | undefined;

/**
 * The interrupt extension built for this platform: in the package's `native/`
 * folder, or beside a bundle; undefined where there is none. Looked up once
 * per process.
 */
export function bundledInterruptExtension(): string | undefined {
  interruptExtension ??= { path: findInterruptExtension() };
  return interruptExtension.path;
}

function findInterruptExtension(): string | undefined {
  const suffix = SUFFIX[process.platform];
  if (suffix === undefined) return undefined;
  const name = `litepool_interrupt.${suffix}`;
  const url = moduleUrl();
  if (url !== undefined) {
    // Through a variable: a bundler must not take this for an asset of its own to copy.
    const relative = `../../native/${process.platform}-${process.arch}/${name}`;
    const packaged = fileURLToPath(new URL(relative, url));
    if (existsSync(packaged)) return packaged;
  }
  return findBeside([name]);
}
