/**
 * A node-sqlite3 (`sqlite3`) compatible API over litepool: change
 * `require('sqlite3')` to `require('@litepool/core/sqlite3')`.
 *
 * Every `Database` on one file shares one pool: statements run on its worker
 * threads (reads in parallel, writes on its one writer), and each BEGIN means
 * what it means in SQLite (a deferred transaction reads beside others and
 * takes the writer at its first write). The strategy comes from an options
 * object in place of `mode` (`{ mode, strategy, … }`), from
 * `withDefaults({ … })`, else from `LITEPOOL_STRATEGY`, else litepool's default.
 */
import { resolve } from 'node:path';
import { sqliteBuild } from '../../index.js';
import { Backup as BackupClass } from './backup.js';
import { bindCallback, invoke } from './callbacks.js';
import * as constants from './constants.js';
import type { Sqlite3Error } from './constants.js';
import { Database as DatabaseClass, defaultsOf, type DatabaseOptions } from './database.js';
import { newOnly } from './new-only.js';
import { Statement as StatementClass } from './statement.js';
import { enableTraces } from './verbose.js';

export type { DatabaseOptions, Listener } from './database.js';
export type { RunContext } from './statement.js';
export * from './constants.js';

/** A node-sqlite3 `Database` backed by a shared litepool pool. */
export const Database = newOnly(DatabaseClass);
/** A node-sqlite3 `Database`. */
export type Database = DatabaseClass;
/** A prepared statement. */
export const Statement = newOnly(StatementClass);
/** A prepared statement. */
export type Statement = StatementClass;
/** A backup made by `Database#backup`. */
export const Backup = newOnly(BackupClass);
/** A backup made by `Database#backup`. */
export type Backup = BackupClass;

/** The arguments of `new Database(…)` after the filename. */
type OpenArguments = [
  mode?: number | DatabaseOptions | ((err: Sqlite3Error | null) => void),
  callback?: (err: Sqlite3Error | null) => void,
];

/** node-sqlite3's `sqlite3.cached`: one `Database` per resolved filename (`:memory:` and `''` are never cached). */
export interface DatabaseCache {
  /** The cached database for `filename`, opened on first use; `callback(err)` once it is open. Callable with or without `new`. */
  Database: {
    (filename: string, ...rest: OpenArguments): Database;
    new (filename: string, ...rest: OpenArguments): Database;
  };
  /** The cached databases by resolved filename (a database leaves it when it closes). */
  readonly objects: Record<string, Database>;
}

/** A cache of `DatabaseClass` objects. */
function makeCache(DatabaseClass: typeof Database): DatabaseCache {
  const objects: Record<string, Database> = {};
  // A function, not a method: node-sqlite3's apps call it with `new`, and what it returns is the object `new` gives.
  function open(filename: string, ...rest: OpenArguments): Database {
    const [mode, callback] = rest;
    if (filename === '' || filename === ':memory:') return new DatabaseClass(filename, mode, callback);
    const key = resolve(filename);
    const found = objects[key];
    if (found === undefined) {
      const db = new DatabaseClass(key, mode, callback);
      objects[key] = db;
      db.once('close', () => {
        if (objects[key] === db) delete objects[key];
      });
      return db;
    }
    const done = bindCallback(typeof mode === 'function' ? mode : callback);
    if (done !== undefined) {
      if (found.open) process.nextTick(() => invoke(done, found, null));
      else found.once('open', () => invoke(done, found, null));
    }
    return found;
  }
  return { objects, Database: open as DatabaseCache['Database'] };
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
  /** From now on, errors passed to callbacks name the call that queued them in their stack; returns this module. */
  readonly verbose: () => Sqlite3Module;
  /** This module with `options` given to every `Database` it opens (a `Database`'s own options win). */
  readonly withDefaults: (options: DatabaseOptions) => Sqlite3Module;
  /** The SQLite version string. */
  readonly VERSION: string;
  /** SQLite's source id. */
  readonly SOURCE_ID: string;
  /** The SQLite version as a number. */
  readonly VERSION_NUMBER: number;
  /** The OPEN_* flags, SQLite's primary result codes and LIMIT_* ids by name, as on node-sqlite3's module. */
  readonly [constant: string]: unknown;
}

const { ERRNO: _errno, ...namedConstants } = constants;

/** The module object for `DatabaseClass`. */
function moduleFor(DatabaseClass: typeof Database): Sqlite3Module {
  const module: Sqlite3Module = {
    ...namedConstants,
    Database: DatabaseClass,
    Statement,
    Backup,
    cached: makeCache(DatabaseClass),
    verbose: () => {
      enableTraces({ Database, Statement });
      return module;
    },
    withDefaults,
    VERSION,
    SOURCE_ID,
    VERSION_NUMBER,
  };
  return module;
}

/**
 * The module with `options` (a strategy, pool options, `transactions:
 * 'immediate'`, default open flags) given to every `Database` it opens; a
 * `Database`'s own options object wins key by key. Nothing global changes:
 * `require('@litepool/core/sqlite3')` itself keeps its defaults.
 */
export function withDefaults(options: DatabaseOptions): Sqlite3Module {
  if (typeof options !== 'object' || options === null) throw new TypeError('withDefaults(options): an options object is expected');
  const DatabaseWithDefaults = newOnly(class extends DatabaseClass {});
  // Registered on the exported class itself: `new` through it makes it `new.target`.
  defaultsOf.set(DatabaseWithDefaults, { ...options });
  return moduleFor(DatabaseWithDefaults);
}

/** The module object, for `import sqlite3 from '@litepool/core/sqlite3'`. */
const sqlite3 = moduleFor(Database);

/** node-sqlite3's `sqlite3.cached`: one `Database` per resolved filename. */
export const cached: DatabaseCache = sqlite3.cached;

/** node-sqlite3's `verbose()`: errors passed to callbacks name the call that queued them (`--> in Database#run(…)`) in their stack. */
export function verbose(): Sqlite3Module {
  return sqlite3.verbose();
}
export default sqlite3;
