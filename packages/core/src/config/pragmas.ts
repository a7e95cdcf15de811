/**
 * The PRAGMA names this build of SQLite knows, read once per process from
 * SQLite's own `pragma_list` on a throwaway in-memory connection, so that a
 * misspelt PRAGMA in the options is refused at `createPool` instead of being
 * silently ignored by SQLite on every connection.
 */
import Database from 'better-sqlite3';
import { bundledNativeBinding } from '../assets.js';

let known: ReadonlySet<string> | undefined;

/** SQLite's PRAGMA names, or undefined when better-sqlite3 cannot be loaded here (the check is then skipped). */
export function knownPragmas(nativeBinding: string | undefined): ReadonlySet<string> | undefined {
  if (known !== undefined) return known;
  try {
    const binding = nativeBinding ?? bundledNativeBinding();
    const db = new Database(':memory:', binding === undefined ? {} : { nativeBinding: binding });
    try {
      known = new Set(db.prepare('SELECT name FROM pragma_pragma_list').pluck().all() as string[]);
    } finally {
      db.close();
    }
  } catch {
    return undefined;
  }
  return known;
}

/** PRAGMAs whose values are byte counts or limits beyond 32 bits. */
export const WIDE_PRAGMAS: ReadonlySet<string> = new Set(['mmap_size', 'journal_size_limit', 'soft_heap_limit', 'hard_heap_limit']);
