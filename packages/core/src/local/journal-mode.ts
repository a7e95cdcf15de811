/**
 * A writer connection's journal mode, set as it opens. The switch to WAL
 * writes the file's first page, through a rollback journal: on a new, empty
 * file the journal file, its fsync and its directory's cost more than the
 * switch itself (1.05 ms here, most of a new pool's open). An empty file has
 * nothing for a journal to restore, so it switches from an in-memory
 * journal instead: the first page is written and the file synced once
 * (0.45-0.52 ms). What the journal would have covered: a power loss during
 * that half millisecond, on a filesystem that shows unwritten blocks as
 * zeros, leaves an empty database SQLite cannot read (with no data in it
 * to lose). Not `synchronous = OFF` (0.21-0.34 ms): that would leave the
 * first page unsynced until the first checkpoint, seconds or more.
 */
import type Database from 'better-sqlite3';
import type { JournalMode } from '../strategy.js';

/** Sets `mode` on a writer's connection `db`; throws SQLITE_CANTOPEN if SQLite keeps another. */
export function setJournalMode(db: Database.Database, mode: JournalMode): void {
  if (mode === 'wal' && db.pragma('page_count', { simple: true }) === 0) db.pragma('journal_mode = MEMORY');
  const kept = db.pragma(`journal_mode = ${mode}`, { simple: true });
  if (String(kept).toLowerCase() !== mode) {
    throw Object.assign(new Error(`SQLite refused journal_mode=${mode} (it kept ${String(kept)})`), { code: 'SQLITE_CANTOPEN' });
  }
}
