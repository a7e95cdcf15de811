/**
 * Errors in node-sqlite3's shape: message `SQLITE_X: …`, `errno` and `code`
 * of SQLite's primary result code; litepool's typed errors folded to the
 * code node-sqlite3 would report for the same failure.
 */
import {
  AbortError,
  AcquireTimeoutError,
  LitepoolError,
  PoolClosedError,
  QueryError,
  QueueFullError,
  SqliteError,
  StatementTimeoutError,
} from '../../index.js';
import { ERRNO, ERROR, type Sqlite3Error } from './constants.js';

/** A node-sqlite3 error of primary code `code` (`CONSTRAINT` or `SQLITE_CONSTRAINT`). */
export function sqlite3Error(code: string, message: string, cause?: unknown): Sqlite3Error {
  const name = code.replace(/^SQLITE_/, '');
  // No own `cause` when there is none: util.inspect would print `[cause]: undefined` under every error.
  const error = new Error(`SQLITE_${name}: ${message}`, cause === undefined ? undefined : { cause }) as Sqlite3Error;
  error.errno = ERRNO[name] ?? ERROR;
  error.code = `SQLITE_${name}`;
  return error;
}

/** The primary result code node-sqlite3 would report for a litepool error. */
function primaryCodeOf(error: LitepoolError): string {
  // The driver refusing the parameters is what node-sqlite3 reports as SQLITE_RANGE.
  if (error instanceof QueryError && /parameter|bind|named/i.test(error.message)) return 'RANGE';
  // Waiting for a writer another connection holds is what node-sqlite3 reports as SQLITE_BUSY.
  // So is a statement of a transaction whose snapshot went stale (SQLite keeps failing its writes with SQLITE_BUSY).
  if (error instanceof AcquireTimeoutError || error instanceof QueueFullError || error.code === 'ERR_TRANSACTION_ABORTED') return 'BUSY';
  if (error instanceof StatementTimeoutError || error instanceof AbortError) return 'INTERRUPT';
  if (error instanceof PoolClosedError) return 'MISUSE';
  if (error.code === 'ERR_READ_ONLY') return 'READONLY';
  // A file that cannot be a database (its directory is missing, it is a directory or a device) is SQLite's CANTOPEN.
  if (error.code === 'ERR_INVALID_OPTIONS' && /options\.filename/.test(error.message)) return 'CANTOPEN';
  return error.code === 'ERR_INVALID_ARGUMENT' || error.code === 'ERR_TRANSACTION_CONTROL' ? 'MISUSE' : 'ERROR';
}

/** litepool's errors in node-sqlite3's shape; SQLite's extended codes fold to their primary code. */
export function toSqlite3Error(error: unknown): Sqlite3Error {
  if (error instanceof Error && typeof (error as Partial<Sqlite3Error>).errno === 'number' && !(error instanceof LitepoolError)) {
    return error as Sqlite3Error; // already in this shape
  }
  if (error instanceof SqliteError) {
    // node-sqlite3 says "interrupted" where litepool's worker says what interrupted it.
    const message = error.code === 'SQLITE_INTERRUPT' ? 'interrupted' : error.message;
    return sqlite3Error(error.code.replace(/^(SQLITE_[A-Z]+)_.*$/, '$1'), message, error);
  }
  // interrupt() aborts the calls it stops: node-sqlite3 calls them interrupted.
  if (error instanceof AbortError) return sqlite3Error('INTERRUPT', 'interrupted', error);
  if (error instanceof LitepoolError) {
    const code = primaryCodeOf(error);
    // SQLite's own words first (tests match on them), then litepool's reason.
    const words =
      code === 'CANTOPEN'
        ? 'unable to open database file'
        : code === 'BUSY' && !(error instanceof QueueFullError)
          ? 'database is locked'
          : code === 'READONLY'
            ? 'attempt to write a readonly database'
            : undefined;
    const message = words === undefined ? error.message : `${words}: ${error.message}`;
    return sqlite3Error(code, message, error);
  }
  return sqlite3Error('ERROR', error instanceof Error ? error.message : String(error), error);
}
