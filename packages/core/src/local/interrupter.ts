/**
 * Stops statements running in worker threads. Each worker's connection loads
 * the `litepool_interrupt` SQLite extension (native/interrupt.c), which
 * registers it under a token; the pool keeps one in-memory connection of its
 * own with the same extension and calls `litepool_interrupt(token)`, which
 * calls sqlite3_interrupt() on that worker's connection (safe from any thread).
 * Tokens are process-wide, so one handle per extension file serves every pool:
 * it is opened once and kept (an in-memory connection holds no file and does
 * not keep the process alive); a pool per test paid ~0.2 ms to open its own.
 */
import Database from 'better-sqlite3';

/** A pool's handle for interrupting its workers' statements. */
export class Interrupter {
  readonly #db: Database.Database;
  readonly #interrupt: Database.Statement<[number], number>;

  private constructor(db: Database.Database) {
    this.#db = db;
    this.#interrupt = db.prepare<[number], number>('SELECT litepool_interrupt(?)').pluck();
  }

  /** The process's handle for `extension` loaded through `nativeBinding`, opened on first use; throws if the extension cannot load. */
  static shared(extension: string, nativeBinding: string | undefined): Interrupter {
    const key = `${extension}\0${nativeBinding ?? ''}`;
    let opened = handles.get(key);
    if (opened === undefined) {
      try {
        opened = this.#open(extension, nativeBinding);
      } catch (error) {
        opened = error instanceof Error ? error : new Error(String(error));
      }
      handles.set(key, opened);
    }
    if (opened instanceof Error) throw opened;
    return opened;
  }

  /** Whether {@link shared} has been asked for `extension` with `nativeBinding` (it then answers at once, loading nothing). */
  static looked(extension: string, nativeBinding: string | undefined): boolean {
    return handles.has(`${extension}\0${nativeBinding ?? ''}`);
  }

  /** Opens the in-memory connection with the extension; throws if the extension cannot load. */
  static #open(extension: string, nativeBinding: string | undefined): Interrupter {
    const db = new Database(':memory:', nativeBinding === undefined ? {} : { nativeBinding });
    try {
      db.loadExtension(extension);
      return new this(db);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /** Interrupts the statement running on the connection with `token`; false if no such connection is open. */
  interrupt(token: number): boolean {
    return this.#db.open && this.#interrupt.get(token) === 1;
  }
}

/** Each extension file's handle (or why it could not load: a file that failed once fails the same way again). */
const handles = new Map<string, Interrupter | Error>();
