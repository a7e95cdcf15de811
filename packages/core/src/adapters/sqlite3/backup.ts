/**
 * node-sqlite3's `Backup` over `Pool.backup`: SQLite's online backup API
 * from one snapshot of the database, on a reader connection. The copy cannot
 * pause between calls (its connection is shared), so the first `step` copies
 * every page, in steps of the size asked for; `remaining` is 0 and
 * `completed` true after it.
 */
import { EventEmitter } from 'node:events';
import { invoke, bindCallback, type AnyCallback } from './callbacks.js';
import type { Database } from './database.js';
import { BUSY, LOCKED, sqlite3Error, toSqlite3Error, type Sqlite3Error } from './errors.js';

/** A backup of a database to a file, made by {@link Database.backup}. */
export class Backup extends EventEmitter {
  /** True while no step runs. */
  idle = true;
  /** True once every page is copied. */
  completed = false;
  /** True once a step failed with an error not in {@link retryErrors}. */
  failed = false;
  /** Pages still to copy after the last step (-1 before the first). */
  remaining = -1;
  /** Pages in the database at the last step (-1 before the first). */
  pageCount = -1;
  /** Error codes (errno) that leave the backup usable: a later step may succeed. */
  retryErrors: number[] = [BUSY, LOCKED];

  readonly #db: Database;
  readonly #filename: string;
  #finished = false;
  #queue: Promise<unknown>;

  /** @internal Use {@link Database.backup}. */
  constructor(db: Database, filename: string, callback: AnyCallback | undefined) {
    super();
    if (typeof filename !== 'string' || filename === '') throw new TypeError('backup(filename): a filename is expected');
    this.#db = db;
    this.#filename = filename;
    this.#queue = db.ready.then(
      () => invoke(callback, this, null),
      (error: unknown) => db.deliverError(callback, this, toSqlite3Error(error), this),
    );
  }

  /**
   * Copies the database (`pages` per step of the backup API, -1 for all at
   * once); `callback(err)` with `this` the backup. Steps after it completed
   * do nothing.
   */
  step(pages: number, callback?: (this: Backup, err: Sqlite3Error | null) => void): this {
    if (!Number.isInteger(pages) || pages === 0 || pages < -1)
      throw new TypeError(`step(pages): a positive integer or -1 is expected, got ${String(pages)}`);
    const done = bindCallback(callback as AnyCallback | undefined);
    this.#queue = this.#queue.then(async () => {
      if (this.#finished) return this.#db.deliverError(done, this, sqlite3Error('MISUSE', 'Backup is already finished'), this);
      if (this.completed) return invoke(done, this, null);
      this.idle = false;
      try {
        const pool = this.#db.pool!;
        const progress = await pool.backup(this.#filename, {
          pagesPerStep: pages,
          progress: ({ totalPages, remainingPages }) => {
            this.pageCount = totalPages;
            this.remaining = remainingPages;
          },
        });
        this.pageCount = progress.totalPages;
        this.remaining = progress.remainingPages;
        this.completed = true;
        this.idle = true;
        invoke(done, this, null);
      } catch (thrown) {
        const error = toSqlite3Error(thrown);
        this.idle = true;
        if (!this.retryErrors.includes(error.errno)) this.failed = true;
        this.#db.deliverError(done, this, error, this);
      }
    });
    return this;
  }

  /** Ends the backup; `callback(err)`. Later steps fail with SQLITE_MISUSE. */
  finish(callback?: (this: Backup, err: Sqlite3Error | null) => void): void {
    const done = bindCallback(callback as AnyCallback | undefined);
    this.#queue = this.#queue.then(() => {
      this.#finished = true;
      invoke(done, this, null);
    });
  }
}
