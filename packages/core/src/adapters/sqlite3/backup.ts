/**
 * node-sqlite3's `Backup` over `Pool.backup`: SQLite's online backup API
 * from one snapshot of the database, on a reader connection. A backup cannot
 * stay open on a connection between steps (connections are shared), so the
 * destination is written whole, from one snapshot, at most twice: at the
 * first step, and at the step that completes the backup (with the database
 * as it is then, as SQLite's backup restarted after a change would copy it);
 * the steps between count pages, so `remaining` and `completed` move as in
 * node-sqlite3. `step(0)` only reads the page count. A destination another
 * connection holds fails the step with SQLITE_BUSY; the backup stays usable
 * and a later step retries. Until it is finished, the backup keeps its
 * database from closing. A restore (`filenameIsDest` false) is written by
 * the step that completes it, in one transaction (`Session.restore`).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { invoke, bindCallback, type AnyCallback } from './callbacks.js';
import { BUSY, LOCKED, OK, type Sqlite3Error } from './constants.js';
import { EmitterBase, hiddenField } from './emitter-base.js';
import { sqlite3Error, toSqlite3Error } from './error-shape.js';
import type { Link } from './link.js';
import { linkOf } from './link-registry.js';

/**
 * The pages of the database file `path`, from its header (bytes 16-17: page
 * size, 28-31: pages, valid when 92-95 match the change counter at 24-27)
 * or its size; SQLITE_CANTOPEN when it cannot be read (a restore's source).
 */
async function filePages(path: string): Promise<number> {
  let file: FileHandle | undefined;
  try {
    file = await open(path, 'r');
    const { buffer, bytesRead } = await file.read(Buffer.alloc(100), 0, 100, 0);
    if (bytesRead < 100) return 0;
    const pageSize = buffer.readUInt16BE(16) === 1 ? 65_536 : buffer.readUInt16BE(16);
    const valid = buffer.readUInt32BE(92) === buffer.readUInt32BE(24) && buffer.readUInt32BE(28) > 0;
    return valid ? buffer.readUInt32BE(28) : Math.floor((await file.stat()).size / Math.max(pageSize, 512));
  } catch (error) {
    throw sqlite3Error('CANTOPEN', `unable to open database file: ${path}`, error);
  } finally {
    await file?.close();
  }
}

/** SQLite's result code of a backup step that copied the last page. */
const DONE = 101;

/** A backup of a database to a file, made by `Database#backup`. */
export class Backup extends EmitterBase {
  /** The file written. */
  declare readonly filename: string;
  /** The schema of the database copied: `main`, `temp` or an ATTACHed one. */
  declare readonly sourceName: string;
  /** The schema written: `main` of {@link filename}, or in a restore one of the database's. */
  declare readonly destName: string;
  /** True: {@link filename} is the destination; false: the source of a restore into the database. */
  declare readonly filenameIsDest: boolean;
  /** What the steps so far left (prototype getters, as node-sqlite3's: not the object's own fields). */
  readonly #state = { idle: true, completed: false, failed: false, remaining: -1, pageCount: -1 };
  #retryErrors: number[] = [BUSY, LOCKED];

  /** True while no step runs. */
  get idle(): boolean {
    return this.#state.idle;
  }
  /** True once every page is copied. */
  get completed(): boolean {
    return this.#state.completed;
  }
  /** True once a step failed with an error not in {@link retryErrors}. */
  get failed(): boolean {
    return this.#state.failed;
  }
  /** Pages still to copy after the last step (-1 before the first). */
  get remaining(): number {
    return this.#state.remaining;
  }
  /** Pages in the database at the last step (-1 before the first). */
  get pageCount(): number {
    return this.#state.pageCount;
  }
  /** Error codes (errno) that leave the backup usable: a later step may succeed. */
  get retryErrors(): number[] {
    return this.#retryErrors;
  }
  set retryErrors(codes: number[]) {
    this.#retryErrors = codes;
  }

  readonly #link: Link;
  readonly #filename: string;
  /** The database's schema copied (or, in a restore, written): main, temp or an ATTACHed database. */
  readonly #schema: string;
  /** A restore: {@link filename} copied into the database. */
  readonly #restore: boolean;
  #finished = false;
  /** Pages counted by steps so far, and whether a step has written a copy yet. */
  #copied = 0;
  #snapshotWritten = false;
  #queue: Promise<unknown>;

  /** Made by `Database#backup`: `schema` of `db` into `filename` (`restore`: the other way); `callback(err)` once the source is open. */
  constructor(db: object, filename: string, { schema, restore }: { schema: string; restore: boolean }, callback: AnyCallback | undefined) {
    super();
    if (typeof filename !== 'string' || filename === '') throw new TypeError('backup(filename): a filename is expected');
    this.#link = linkOf(db);
    this.#filename = filename;
    this.#schema = schema;
    this.#restore = restore;
    const names = restore ? { sourceName: 'main', destName: schema } : { sourceName: schema, destName: 'main' };
    for (const [name, value] of Object.entries({ filename, ...names, filenameIsDest: !restore })) hiddenField(this, name, value);
    this.#link.handles.hold(this, false);
    this.#queue = this.#link.ready.then(
      () => invoke(callback, this, null),
      (error: unknown) => this.#link.deliverError(callback, this, toSqlite3Error(error), this),
    );
  }

  /**
   * Copies pages (`pages` per step, -1 for all that remain; 0 reads the page
   * count only); `callback(err, completed)` with `this` the backup. A step
   * that does not complete the backup counts its pages toward `remaining`;
   * the first such step writes a consistent copy of the database as it is
   * then, and the step that completes it writes the database as it is then
   * (see the module description). As in node-sqlite3, a step whose outcome
   * is not in {@link retryErrors} (completion included) finishes the backup,
   * unless `retryErrors` is empty.
   */
  step(pages: number, callback?: (this: Backup, err: Sqlite3Error | null, completed: boolean) => void): this {
    if (!Number.isInteger(pages) || pages < -1)
      throw new TypeError(`step(pages): a positive integer, 0 or -1 is expected, got ${String(pages)}`);
    const done = bindCallback(callback as AnyCallback | undefined);
    this.#queue = this.#queue.then(async () => {
      if (this.completed) return invoke(done, this, null, true);
      if (this.#finished) return this.#link.deliverError(done, this, sqlite3Error('MISUSE', 'Backup is already finished'), this);
      this.#state.idle = false;
      try {
        await this.#copy(pages);
        this.#state.idle = true;
        this.#settle(this.completed ? DONE : OK);
        invoke(done, this, null, this.completed);
      } catch (thrown) {
        const error = toSqlite3Error(thrown);
        this.#state.idle = true;
        if (!this.retryErrors.includes(error.errno)) this.#state.failed = true;
        this.#settle(error.errno);
        this.#link.deliverError(done, this, error, this);
      }
    });
    return this;
  }

  /** One step's copying (see {@link step}). */
  async #copy(pages: number): Promise<void> {
    // On the database's session: its TEMP objects and ATTACHed databases live on the connection it is pinned to.
    const session = await this.#link.ready;
    const schema = `"${this.#schema.replace(/"/g, '""')}"`;
    const total = this.#restore
      ? await filePages(this.#filename)
      : (await session.get<{ page_count: number }>(`PRAGMA ${schema}.page_count`))!.page_count;
    this.#state.pageCount = total;
    if (pages === 0) {
      this.#state.remaining = total - this.#copied;
      return;
    }
    const completes = pages === -1 || this.#copied + pages >= total;
    // node-sqlite3's step meets a locked destination with SQLITE_BUSY at once: it does not wait.
    // In one step (a small database is then copied on an idle writer, not a reader that must start first).
    const whole = { busyTimeoutMs: 0, schema: this.#schema, pagesPerStep: -1 };
    // A restore is written once, whole, at the step that completes it (the database cannot hold half of one).
    if (this.#restore) {
      if (completes) this.#state.pageCount = (await session.restore(this.#filename, { schema: this.#schema })).totalPages;
    } else if (completes || !this.#snapshotWritten) await session.backup(this.#filename, whole);
    this.#snapshotWritten = true;
    this.#copied = completes ? total : this.#copied + pages;
    this.#state.remaining = total - this.#copied;
    this.#state.completed = completes;
  }

  /** node-sqlite3's rule: an outcome (OK, DONE or an error code) not in a non-empty `retryErrors` finishes the backup. */
  #settle(outcome: number): void {
    if (outcome === OK || this.retryErrors.length === 0 || this.retryErrors.includes(outcome)) return;
    this.#finished = true;
    this.#link.handles.letGo(this);
  }

  /** Ends the backup (the database may close again); `callback()` after it. Later steps fail with SQLITE_MISUSE. */
  finish(callback?: (this: Backup) => void): void {
    const done = bindCallback(callback);
    this.#queue = this.#queue.then(() => {
      this.#finished = true;
      this.#link.handles.letGo(this);
      // No arguments, as node-sqlite3 calls it back.
      invoke(done, this);
    });
    // close() waits for a finish queued before it.
    this.#link.pending(this.#queue);
  }
}
