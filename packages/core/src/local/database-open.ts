/**
 * A worker thread's native opens: a connection's database file with its
 * settings, and in-memory connections with the interrupt extension (the
 * addon loaded ahead of an open, the read watch's). Each holds the thread's
 * gate (native-loads.ts), so a thread stopped meanwhile opens, and so
 * creates, nothing after it.
 */
import Database from 'better-sqlite3';
import { pragmaLiteral } from './connection-settings.js';
import { setJournalMode } from './journal-mode.js';
import { whileLoadingNative } from './native-loads.js';
import { Control, type WorkerConfig } from './protocol.js';

/** Opens the connection's database and applies its settings (no user code); throws if it cannot, or if the thread is being stopped. */
export function openDatabase(config: WorkerConfig): Database.Database {
  return whileLoadingNative(() => {
    const memory = config.filename === ':memory:';
    const readonly = config.role === 'reader' || config.readOnly;
    const db = new Database(config.filename, {
      readonly: readonly && !memory,
      fileMustExist: !memory && (readonly || !config.create),
      timeout: config.busyTimeoutMs,
      ...(config.nativeBinding === undefined ? {} : { nativeBinding: config.nativeBinding }),
    });
    try {
      db.defaultSafeIntegers(config.safeIntegers);
      // The writer sets the journal mode; a memory database keeps its own, a read-only one cannot change it.
      if (!readonly && !memory) setJournalMode(db, config.journalMode);
      for (const [name, value] of Object.entries(config.pragmas)) db.pragma(`${name} = ${pragmaLiteral(value)}`);
      const extension = config.interruptExtension;
      if (extension !== undefined) {
        db.loadExtension(extension);
        Atomics.store(config.control, Control.Token, Number(db.prepare('SELECT litepool_slot()').pluck().get()));
      }
    } catch (error) {
      db.close();
      throw error;
    }
    return db;
  });
}

/**
 * An in-memory connection with the interrupt extension loaded (loading
 * better-sqlite3's addon into this thread if it is the first); throws if
 * either fails, or if the thread is being stopped.
 */
export function memoryDatabase(nativeBinding: string | undefined, extension: string | undefined): Database.Database {
  return whileLoadingNative(() => {
    const db = new Database(':memory:', nativeBinding === undefined ? {} : { nativeBinding });
    try {
      if (extension !== undefined) db.loadExtension(extension);
    } catch (error) {
      db.close();
      throw error;
    }
    return db;
  });
}

/**
 * Loads better-sqlite3's addon and the interrupt extension into this thread
 * on a throwaway in-memory connection, so that a thread that must wait
 * before it opens its database (see `WorkerConfig.awaitGo`) does this work
 * while it waits. Never throws: the real open reports any failure.
 */
export function loadNative(config: Pick<WorkerConfig, 'nativeBinding' | 'interruptExtension'>): void {
  try {
    memoryDatabase(config.nativeBinding, config.interruptExtension).close();
  } catch {
    // Reported by the open that follows.
  }
}
