/**
 * `Pool.restore` and `Session.restore`: a database file copied into the
 * pool's database (or a session's TEMP schema or ATTACHed database) on the
 * writer, in one transaction (local/worker-restore.ts says how). It travels
 * as a backup request whose method is `restore`.
 */
import { resolve as resolvePath } from 'node:path';
import type { BackupProgress } from '../backend.js';
import { restoreOptions, type RestoreOptions } from './call-rules.js';
import type { Engine } from './engine.js';
import type { Scope } from './scope.js';
import type { SessionObjects } from './session-objects.js';

/** A restore's outcome: the source's pages, and the tables, views and triggers it made (type, name). */
export interface Restored extends BackupProgress {
  readonly made: ReadonlyArray<readonly [type: string, name: string]>;
}

/**
 * Replaces `options.schema` (main by default) with the main database of the
 * file `source`, on the writer, in `scope`; `clear`: the statements that
 * clear the schema first (a session's own TEMP objects), instead of dropping
 * everything in it.
 */
export async function restoreInto(
  engine: Engine,
  source: string,
  { schema, signal }: ReturnType<typeof restoreOptions>,
  scope: Scope,
  clear?: readonly string[],
): Promise<Restored> {
  const refused = engine.admit();
  if (refused !== undefined) throw refused;
  const lease = await engine.lease('write', scope, false, { signal });
  try {
    const job = { method: 'restore', pagesPerStep: -1, busyTimeoutMs: -1, schema, clear } as const;
    // No signal past the wait: a copy that has started commits, and its caller must hear that it did.
    return (await lease.backup(resolvePath(source), job, undefined)) as Restored;
  } finally {
    void lease.release();
  }
}

/** What {@link restoreForSession} needs of a session. */
export interface RestoringSession {
  readonly objects: SessionObjects;
  /** Pins the session to the writer. */
  pin(): void;
  /** The session's scope as it is now. */
  scope(): Scope;
}

/**
 * A session's restore (see `Session.restore`): a schema other than main
 * pins it to the writer first; into temp, only the TEMP objects the session
 * made are dropped, and what the restore made becomes the session's.
 */
export async function restoreForSession(
  engine: Engine,
  source: string,
  options: RestoreOptions | undefined,
  session: RestoringSession,
): Promise<BackupProgress> {
  // Checked as a pinned session's: any schema is its to restore, once pinned.
  const parsed = restoreOptions(source, options, true);
  const schema = parsed.schema.toLowerCase();
  if (schema !== 'main') session.pin();
  const temp = schema === 'temp';
  const clear = temp ? session.objects.cleanup().drops : undefined;
  const { totalPages, remainingPages, made } = await restoreInto(engine, source, parsed, session.scope(), clear);
  if (temp) session.objects.restored(made);
  return { totalPages, remainingPages };
}
