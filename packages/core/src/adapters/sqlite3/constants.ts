/** node-sqlite3's constants: open flags, SQLite's primary result codes, limit ids, and its shape of errors. */

/** Open read-only (writes fail with SQLITE_READONLY). */
export const OPEN_READONLY = 0x00000001;
/** Open for reading and writing. */
export const OPEN_READWRITE = 0x00000002;
/** Create the file if it does not exist. */
export const OPEN_CREATE = 0x00000004;
/** Interpret the filename as a `file:` URI (litepool reads URIs whatever the flags). */
export const OPEN_URI = 0x00000040;
/** Accepted for compatibility (each connection has its own thread anyway). */
export const OPEN_FULLMUTEX = 0x00010000;
/** Accepted for compatibility; no effect. */
export const OPEN_SHAREDCACHE = 0x00020000;
/** Accepted for compatibility; no effect. */
export const OPEN_PRIVATECACHE = 0x00040000;

/* SQLite's primary result codes, as node-sqlite3 exports them (the `errno` of its errors). */
/** SQLITE_OK: Success. */
export const OK = 0;
/** SQLITE_ERROR: A generic error (SQL error or missing database). */
export const ERROR = 1;
/** SQLITE_INTERNAL: An internal logic error in SQLite. */
export const INTERNAL = 2;
/** SQLITE_PERM: Access permission denied. */
export const PERM = 3;
/** SQLITE_ABORT: An operation was aborted (a callback requested it). */
export const ABORT = 4;
/** SQLITE_BUSY: The database file is locked. */
export const BUSY = 5;
/** SQLITE_LOCKED: A table in the database is locked. */
export const LOCKED = 6;
/** SQLITE_NOMEM: A memory allocation failed. */
export const NOMEM = 7;
/** SQLITE_READONLY: An attempt to write a read-only database. */
export const READONLY = 8;
/** SQLITE_INTERRUPT: The operation was interrupted. */
export const INTERRUPT = 9;
/** SQLITE_IOERR: A disk I/O error occurred. */
export const IOERR = 10;
/** SQLITE_CORRUPT: The database disk image is malformed. */
export const CORRUPT = 11;
/** SQLITE_NOTFOUND: Unknown opcode (not used by SQLite itself). */
export const NOTFOUND = 12;
/** SQLITE_FULL: The database or the disk is full. */
export const FULL = 13;
/** SQLITE_CANTOPEN: Unable to open the database file. */
export const CANTOPEN = 14;
/** SQLITE_PROTOCOL: A database lock protocol error. */
export const PROTOCOL = 15;
/** SQLITE_EMPTY: Not used by SQLite. */
export const EMPTY = 16;
/** SQLITE_SCHEMA: The database schema changed. */
export const SCHEMA = 17;
/** SQLITE_TOOBIG: A string or BLOB exceeds the size limit. */
export const TOOBIG = 18;
/** SQLITE_CONSTRAINT: A constraint was violated. */
export const CONSTRAINT = 19;
/** SQLITE_MISMATCH: A data type mismatch. */
export const MISMATCH = 20;
/** SQLITE_MISUSE: The library was used incorrectly. */
export const MISUSE = 21;
/** SQLITE_NOLFS: Large file support is missing on the host. */
export const NOLFS = 22;
/** SQLITE_AUTH: Authorization denied. */
export const AUTH = 23;
/** SQLITE_FORMAT: Not used by SQLite. */
export const FORMAT = 24;
/** SQLITE_RANGE: A parameter index out of range, or the wrong number of parameters. */
export const RANGE = 25;
/** SQLITE_NOTADB: The file is not a database. */
export const NOTADB = 26;

/** Every primary result code by name: the `errno` of an error (`ERRNO.CONSTRAINT` is 19). */
export const ERRNO: Readonly<Record<string, number>> = Object.freeze({
  OK,
  ERROR,
  INTERNAL,
  PERM,
  ABORT,
  BUSY,
  LOCKED,
  NOMEM,
  READONLY,
  INTERRUPT,
  IOERR,
  CORRUPT,
  NOTFOUND,
  FULL,
  CANTOPEN,
  PROTOCOL,
  EMPTY,
  SCHEMA,
  TOOBIG,
  CONSTRAINT,
  MISMATCH,
  MISUSE,
  NOLFS,
  AUTH,
  FORMAT,
  RANGE,
  NOTADB,
});

/** An error as node-sqlite3 gives it: `message` "SQLITE_X: …", `errno` and `code` of SQLite's primary result code. */
export interface Sqlite3Error extends Error {
  /** SQLite's primary result code (19 for any constraint failure). */
  errno: number;
  /** `SQLITE_` and the primary code's name (`SQLITE_CONSTRAINT`). */
  code: string;
}

/* SQLite's run-time limit categories, as node-sqlite3 exports them (for configure('limit', id, value)). */
/** SQLITE_LIMIT_LENGTH. */
export const LIMIT_LENGTH = 0;
/** SQLITE_LIMIT_SQL_LENGTH. */
export const LIMIT_SQL_LENGTH = 1;
/** SQLITE_LIMIT_COLUMN. */
export const LIMIT_COLUMN = 2;
/** SQLITE_LIMIT_EXPR_DEPTH. */
export const LIMIT_EXPR_DEPTH = 3;
/** SQLITE_LIMIT_COMPOUND_SELECT. */
export const LIMIT_COMPOUND_SELECT = 4;
/** SQLITE_LIMIT_VDBE_OP. */
export const LIMIT_VDBE_OP = 5;
/** SQLITE_LIMIT_FUNCTION_ARG. */
export const LIMIT_FUNCTION_ARG = 6;
/** SQLITE_LIMIT_ATTACHED. */
export const LIMIT_ATTACHED = 7;
/** SQLITE_LIMIT_LIKE_PATTERN_LENGTH. */
export const LIMIT_LIKE_PATTERN_LENGTH = 8;
/** SQLITE_LIMIT_VARIABLE_NUMBER. */
export const LIMIT_VARIABLE_NUMBER = 9;
/** SQLITE_LIMIT_TRIGGER_DEPTH. */
export const LIMIT_TRIGGER_DEPTH = 10;
/** SQLITE_LIMIT_WORKER_THREADS. */
export const LIMIT_WORKER_THREADS = 11;
