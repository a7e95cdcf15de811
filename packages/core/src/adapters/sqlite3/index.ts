/**
 * A node-sqlite3 (`sqlite3`) compatible API over litepool: change
 * `require('sqlite3')` to `require('@litepool/core/sqlite3')`.
 *
 * Every `Database` on one file shares one pool: statements run on its worker
 * threads (reads in parallel, writes on its one writer), and what a `Database`
 * issues between BEGIN and the end of the transaction runs on the writer it
 * holds for that time, as on node-sqlite3's one connection. The strategy comes
 * from an options object in place of `mode` (`{ mode, strategy, … }`), else
 * from `LITEPOOL_STRATEGY`, else litepool's default.
 */
import { resolve } from 'node:path';
import { sqliteBuild } from '../../index.js';
import { bindCallback, invoke } from './callbacks.js';
import { Database, type DatabaseOptions } from './database.js';
import * as constants from './errors.js';
import { Statement } from './statement.js';
import { Backup } from './backup.js';
import type { Sqlite3Error } from './errors.js';

export { Database, type DatabaseOptions } from './database.js';
export { Statement, type RunContext } from './statement.js';
export { Backup } from './backup.js';
export * from './errors.js';

/** node-sqlite3's `sqlite3.cached`: one `Database` per resolved filename (`:memory:` and `''` are never cached). */
export interface DatabaseCache {
  /** The cached database for `filename`, opened on first use; `callback(err)` once it is open. */
  Database(
    filename: string,
    mode?: number | DatabaseOptions | ((err: Sqlite3Error | null) => void),
    callback?: (err: Sqlite3Error | null) => void,
  ): Database;
  /** The cached databases by resolved filename. */
  readonly objects: Record<string, Database>;
}

/** One `Database` per resolved filename; callers share it. */
export const cached: DatabaseCache = {
  objects: {},
  Database(filename, mode, callback) {
    if (filename === '' || filename === ':memory:') return new Database(filename, mode, callback);
    const key = resolve(filename);
    const found = cached.objects[key];
    if (found === undefined) {
      const db = new Database(key, mode, callback);
      cached.objects[key] = db;
      db.once('close', () => {
        if (cached.objects[key] === db) delete cached.objects[key];
      });
      return db;
    }
    const done = bindCallback(typeof mode === 'function' ? mode : callback);
    if (done !== undefined) {
      if (found.open) process.nextTick(() => invoke(done, found, null));
      else found.once('open', () => invoke(done, found, null));
    }
    return found;
  },
};

/** node-sqlite3's `verbose()`: returns the module (litepool's stack traces are long already). */
export function verbose(): Sqlite3Module {
  return sqlite3;
}

/** The version of SQLite the connections run (`sqlite_version()`). */
export const VERSION: string = sqliteBuild()?.version ?? 'unknown';
/** SQLite's source id (`sqlite_source_id()`). */
export const SOURCE_ID: string = sqliteBuild()?.sourceId ?? 'unknown';
/** The version as a number: 3.50.4 is 3050004. */
export const VERSION_NUMBER: number = VERSION.split('.').reduce((sum, part, i) => sum + Number(part) * [1_000_000, 1_000, 1][i]!, 0) || 0;

/** What `@litepool/core/sqlite3` is, as a whole: node-sqlite3's module object. */
export interface Sqlite3Module {
  /** A database (a session of a shared litepool pool behind node-sqlite3's API). */
  readonly Database: typeof Database;
  /** A prepared statement. */
  readonly Statement: typeof Statement;
  /** A backup made by `Database#backup`. */
  readonly Backup: typeof Backup;
  /** One `Database` per filename. */
  readonly cached: DatabaseCache;
  /** Returns this module. */
  readonly verbose: () => Sqlite3Module;
  /** The SQLite version string. */
  readonly VERSION: string;
  /** SQLite's source id. */
  readonly SOURCE_ID: string;
  /** The SQLite version as a number. */
  readonly VERSION_NUMBER: number;
  /** The OPEN_* flags, SQLite's primary result codes and LIMIT_* ids by name, as on node-sqlite3's module. */
  readonly [constant: string]: unknown;
}

const { ERRNO: _errno, sqlite3Error: _error, toSqlite3Error: _toError, ...namedConstants } = constants;

/** The module object, for `import sqlite3 from '@litepool/core/sqlite3'`. */
const sqlite3: Sqlite3Module = {
  ...namedConstants,
  Database,
  Statement,
  Backup,
  cached,
  verbose,
  VERSION,
  SOURCE_ID,
  VERSION_NUMBER,
};
export default sqlite3;
