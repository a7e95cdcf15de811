/**
 * Where a local database is, from the `filename` option: a path, `:memory:`,
 * or a `file:` URI as SQLite reads one (better-sqlite3's SQLite is built
 * without URI support, so litepool reads it): `mode` (`ro`, `rw`, `rwc`,
 * `memory`), `cache` (accepted: every connection of a pool is its own
 * anyway), `immutable` (read-only), `vfs=memdb` (in memory). Names the
 * kernel cannot take (a NUL, too long) and files that are not regular files
 * (`/dev/null`) are refused here, with a typed error.
 */
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { OptionsError } from '../errors.js';
import { describe } from '../config/checks.js';

/** A database's place, resolved. */
export interface DatabaseLocation {
  /** What a connection opens: an absolute path, or `:memory:`. */
  readonly path: string;
  /** An in-memory database: one connection holds it (the pool has no readers). */
  readonly memory: boolean;
  /** Opened read-only: writes fail with SQLITE_READONLY. */
  readonly readOnly: boolean;
  /** Created if missing (SQLite's default, `mode=rwc`). */
  readonly create: boolean;
}

/** Longest path the kernel takes (Linux PATH_MAX), and longest name of one directory entry (NAME_MAX). */
const PATH_MAX = 4096;
const NAME_MAX = 255;

const MEMORY: DatabaseLocation = Object.freeze({ path: ':memory:', memory: true, readOnly: false, create: true });

/** A `file:` URI's path and query, as SQLite reads it. */
function parseUri(uri: string): { path: string; query: URLSearchParams } {
  const rest = uri.slice('file:'.length);
  const at = rest.indexOf('?');
  let path = at < 0 ? rest : rest.slice(0, at);
  const query = new URLSearchParams(at < 0 ? '' : rest.slice(at + 1).split('#')[0]);
  // An authority: empty or "localhost" only, as in SQLite.
  if (path.startsWith('//')) {
    const slash = path.indexOf('/', 2);
    const authority = slash < 0 ? path.slice(2) : path.slice(2, slash);
    if (authority !== '' && authority !== 'localhost') {
      throw new OptionsError(`options.filename ${describe(uri)}: a file: URI may name no host but localhost, got ${describe(authority)}`);
    }
    path = slash < 0 ? '' : path.slice(slash);
  }
  try {
    return { path: decodeURIComponent(path), query };
  } catch {
    throw new OptionsError(`options.filename ${describe(uri)}: its path is not valid percent-encoding`);
  }
}

/** Refuses names the kernel cannot take, with the reason. */
function checkName(filename: string, path: string): void {
  if (path.includes('\0')) throw new OptionsError(`options.filename ${describe(filename)} contains a NUL character`);
  if (path.length > PATH_MAX || path.split('/').some((part) => Buffer.byteLength(part) > NAME_MAX)) {
    throw new OptionsError(
      `options.filename ${describe(filename)} is too long for a file name (${PATH_MAX} bytes a path, ${NAME_MAX} a name)`,
    );
  }
}

/** Checks that the file can be a database here: its directory exists, and it is a regular file if it exists. */
function checkPlace(filename: string, path: string): void {
  const directory = statSync(dirname(path), { throwIfNoEntry: false });
  if (directory === undefined || !directory.isDirectory()) {
    throw new OptionsError(`options.filename ${describe(filename)}: the directory ${dirname(path)} does not exist`);
  }
  const file = statSync(path, { throwIfNoEntry: false });
  if (file?.isDirectory() === true) throw new OptionsError(`options.filename ${describe(filename)} is a directory, not a database file`);
  if (file !== undefined && !file.isFile()) {
    throw new OptionsError(
      `options.filename ${describe(filename)} is not a regular file (a device, a socket or a pipe cannot hold a database)`,
    );
  }
}

/** The database `filename` names (see the module description); throws `OptionsError` for one that cannot be. */
export function parseFilename(filename: unknown): DatabaseLocation {
  if (typeof filename !== 'string' || filename.length === 0) {
    throw new OptionsError(`options.filename must be a non-empty string, got ${describe(filename)}`);
  }
  if (filename === ':memory:') return MEMORY;
  let path = filename;
  let readOnly = false;
  let create = true;
  if (filename.startsWith('file:')) {
    const uri = parseUri(filename);
    const mode = uri.query.get('mode');
    const vfs = uri.query.get('vfs');
    if (vfs !== null && vfs !== 'memdb') throw new OptionsError(`options.filename ${describe(filename)}: only vfs=memdb is supported`);
    if (mode === 'memory' || vfs === 'memdb' || uri.path === ':memory:') return MEMORY;
    if (mode !== null && !['ro', 'rw', 'rwc'].includes(mode)) {
      throw new OptionsError(`options.filename ${describe(filename)}: mode must be ro, rw, rwc or memory, got ${describe(mode)}`);
    }
    readOnly = mode === 'ro' || uri.query.get('immutable') === '1';
    create = mode === null || mode === 'rwc';
    path = uri.path;
    if (path === '') throw new OptionsError(`options.filename ${describe(filename)} names no file`);
  }
  checkName(filename, path);
  const absolute = resolve(path);
  checkPlace(filename, absolute);
  return { path: absolute, memory: false, readOnly, create };
}
