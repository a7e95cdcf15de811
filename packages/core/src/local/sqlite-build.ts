/**
 * The PRAGMA names this build of SQLite knows (and its version), read once
 * per process from SQLite's own `pragma_list` on a throwaway in-memory
 * connection, so that a misspelt PRAGMA in the options is refused at
 * `createPool` instead of being silently ignored by SQLite on every connection.
 */
import Database from 'better-sqlite3';
import { bundledNativeBinding } from './assets.js';

/** Facts about the SQLite that better-sqlite3 carries. */
export interface SqliteBuild {
  /** Its PRAGMA names. */
  readonly pragmas: ReadonlySet<string>;
  /** `sqlite_version()`, e.g. `3.50.4`. */
  readonly version: string;
  /** `sqlite_source_id()`. */
  readonly sourceId: string;
}

let build: SqliteBuild | undefined;

/** The SQLite build better-sqlite3 carries, read once per process; undefined when better-sqlite3 cannot be loaded here. */
export function sqliteBuild(nativeBinding?: string): SqliteBuild | undefined {
  if (build !== undefined) return build;
  try {
    const binding = nativeBinding ?? bundledNativeBinding();
    const db = new Database(':memory:', binding === undefined ? {} : { nativeBinding: binding });
    try {
      const { version, sourceId } = db.prepare('SELECT sqlite_version() AS version, sqlite_source_id() AS sourceId').get() as {
        version: string;
        sourceId: string;
      };
      build = { pragmas: new Set(db.prepare('SELECT name FROM pragma_pragma_list').pluck().all() as string[]), version, sourceId };
    } finally {
      db.close();
    }
  } catch {
    return undefined;
  }
  return build;
}

/** SQLite's PRAGMA names, or undefined when better-sqlite3 cannot be loaded here (the check is then skipped). */
export function knownPragmas(nativeBinding: string | undefined): ReadonlySet<string> | undefined {
  return sqliteBuild(nativeBinding)?.pragmas;
}

/** PRAGMAs whose values are byte counts or limits beyond 32 bits. */
export const WIDE_PRAGMAS: ReadonlySet<string> = new Set(['mmap_size', 'journal_size_limit', 'soft_heap_limit', 'hard_heap_limit']);
