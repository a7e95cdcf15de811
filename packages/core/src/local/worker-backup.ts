/**
 * An online backup in a worker thread, with SQLite's backup API from one
 * snapshot of the source (a read transaction held throughout: it never
 * restarts, and in WAL mode writers go on beside it), or with VACUUM INTO;
 * and a restore (method `restore`, worker-restore.ts), which comes the same
 * way with the file to copy from as its `destination`.
 *
 * better-sqlite3 takes a destination that is locked at the first step for a
 * finished backup of nothing, and retries a destination locked later on
 * without end. Here a locked destination is waited for up to the busy
 * timeout, then the backup fails with SQLITE_BUSY; and it resolves only
 * once the destination holds every page of the source.
 */
import type Database from 'better-sqlite3';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { restore } from './worker-restore.js';

/** How far a backup has come. */
export interface BackupStep {
  readonly totalPages: number;
  readonly remainingPages: number;
}

/** A backup's options, as the pool sends them. */
export interface BackupJob {
  readonly destination: string;
  readonly method: string;
  readonly pagesPerStep: number;
  /** How long a locked destination is waited for, in ms. */
  readonly busyTimeoutMs: number;
  /** The schema copied (a restore's: written): main, temp or an ATTACHed database. */
  readonly schema: string;
  /** A restore's statements that clear the schema first (see RestoreJob). */
  readonly clear?: readonly string[] | undefined;
}

/**
 * A backup request's job: `destination` (a restore's source) and `params`
 * as the pool sends them, `[method, pagesPerStep, busyTimeoutMs (-1: the
 * pool's, `poolBusyTimeoutMs`), schema, clear (a restore's, as JSON)]`.
 */
export function backupJob(destination: string, params: unknown, poolBusyTimeoutMs: number): BackupJob {
  const [method, pagesPerStep, wait, schema, clear] = (params ?? []) as [string, number, number, string?, string?];
  return {
    destination,
    method,
    pagesPerStep,
    busyTimeoutMs: wait >= 0 ? wait : poolBusyTimeoutMs,
    schema: schema ?? 'main',
    clear: clear === undefined ? undefined : (JSON.parse(clear) as string[]),
  };
}

function busy(destination: string, waited: number): Error {
  return Object.assign(
    new Error(`database is locked: the backup destination ${destination} is held by another connection (waited ${waited} ms)`),
    {
      code: 'SQLITE_BUSY',
    },
  );
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The pages the destination holds, from its header (bytes 16-17: page size;
 * 28-31: pages) and its size, read without opening it with SQLite; 0 when it
 * is not a whole database file.
 */
function destinationPages(destination: string): number {
  const header = Buffer.alloc(100);
  const fd = openSync(destination, 'r');
  try {
    if (readSync(fd, header, 0, 100, 0) < 100) return 0;
    const pageSize = header.readUInt16BE(16) === 1 ? 65_536 : header.readUInt16BE(16);
    const pages = header.readUInt32BE(28);
    return fstatSync(fd).size >= pages * pageSize ? pages : 0;
  } finally {
    closeSync(fd);
  }
}

/**
 * Copies `db` to `job.destination`; `onProgress` after each step. Throws
 * SQLITE_BUSY when the destination stays locked past the busy timeout.
 */
export async function backUp(db: Database.Database, job: BackupJob, onProgress: (step: BackupStep) => void): Promise<BackupStep> {
  const schema = `"${job.schema.replace(/"/g, '""')}"`;
  const pageCount = (): number => Number(db.pragma(`${schema}.page_count`, { simple: true }));
  if (job.method === 'restore') return restore(db, { source: job.destination, schema: job.schema, clear: job.clear });
  if (job.method === 'vacuum') {
    const totalPages = pageCount();
    db.prepare(`VACUUM ${schema} INTO ?`).run(job.destination);
    return { totalPages, remainingPages: 0 };
  }
  db.exec('BEGIN');
  try {
    // The snapshot starts here; its size is what the destination must end up with.
    const totalPages = pageCount();
    // better-sqlite3 takes the next step's page count from the callback; 0 (or less) would pause it forever.
    const nextStep = job.pagesPerStep === -1 ? 0x7fffffff : job.pagesPerStep;
    const started = performance.now();
    for (;;) {
      let stuckSince: number | undefined;
      let lastRemaining = -1;
      // better-sqlite3 takes the schema as `attached` (its typings leave it out).
      const options: Database.BackupOptions & { readonly attached: string } = {
        attached: job.schema,
        progress: (progress) => {
          // A step that copied nothing met a locked destination: waited for, within the busy timeout.
          if (progress.remainingPages === lastRemaining) {
            stuckSince ??= performance.now();
            if (performance.now() - stuckSince > job.busyTimeoutMs) throw busy(job.destination, Math.round(performance.now() - stuckSince));
          } else stuckSince = undefined;
          lastRemaining = progress.remainingPages;
          onProgress(progress);
          return nextStep;
        },
      };
      const result = await db.backup(job.destination, options);
      if (totalPages === 0 || result.totalPages > 0) {
        if (destinationPages(job.destination) !== totalPages) throw busy(job.destination, Math.round(performance.now() - started));
        return { totalPages, remainingPages: 0 };
      }
      // The first step found the destination locked and copied nothing.
      const waited = performance.now() - started;
      if (waited > job.busyTimeoutMs) throw busy(job.destination, Math.round(waited));
      await sleep(Math.min(50, job.busyTimeoutMs));
    }
  } finally {
    if (db.inTransaction) db.exec('COMMIT');
  }
}
