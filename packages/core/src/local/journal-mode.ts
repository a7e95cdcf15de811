/**
 * A writer connection's journal mode, set as it opens. The switch to WAL
 * writes the file's first page through a rollback journal; on a new, empty
 * file its fsyncs protect nothing (there is no data yet), and they were most
 * of a new pool's open (1.2 ms of 1.4 here). So on an empty file, when the
 * pool's own `synchronous` level does not sync commits either (OFF or
 * NORMAL: under NORMAL a WAL is synced only when checkpointed, and that
 * checkpoint syncs the whole file, this first page with it), the switch runs
 * with `synchronous = OFF`; the pool's level is set right after it, with the
 * other PRAGMAs. Under FULL or EXTRA every commit is synced, so the switch
 * keeps its fsyncs: a WAL synced over an unsynced first page could be
 * discarded after a power loss.
 */
import type Database from 'better-sqlite3';
import type { JournalMode, PragmaValue } from '../strategy.js';

/** The `synchronous` values SQLite reads as OFF (0) or NORMAL (1), the levels that sync no commit in WAL. */
const NO_COMMIT_SYNC = new Set(['0', '1', 'OFF', 'NO', 'FALSE', 'NORMAL', 'ON', 'YES', 'TRUE']);

/** Whether the pool's `synchronous` level syncs no commit (unset: SQLite's default, FULL, does). */
function syncsNoCommit(level: PragmaValue | undefined): boolean {
  return level !== undefined && NO_COMMIT_SYNC.has(String(level).toUpperCase());
}

/** Sets `mode` on a writer's connection `db`, opened with `pragmas` to follow; throws SQLITE_CANTOPEN if SQLite keeps another. */
export function setJournalMode(db: Database.Database, mode: JournalMode, pragmas: Readonly<Record<string, PragmaValue>>): void {
  if (mode === 'wal' && syncsNoCommit(pragmas.synchronous) && db.pragma('page_count', { simple: true }) === 0) {
    db.pragma('synchronous = OFF');
  }
  const kept = db.pragma(`journal_mode = ${mode}`, { simple: true });
  if (String(kept).toLowerCase() !== mode) {
    throw Object.assign(new Error(`SQLite refused journal_mode=${mode} (it kept ${String(kept)})`), { code: 'SQLITE_CANTOPEN' });
  }
}
