/** SQLite's result codes by number, as names (`SQLITE_CONSTRAINT_UNIQUE`), for errors the leader reports by number. */
const PRIMARY: readonly string[] = [
  'OK',
  'ERROR',
  'INTERNAL',
  'PERM',
  'ABORT',
  'BUSY',
  'LOCKED',
  'NOMEM',
  'READONLY',
  'INTERRUPT',
  'IOERR',
  'CORRUPT',
  'NOTFOUND',
  'FULL',
  'CANTOPEN',
  'PROTOCOL',
  'EMPTY',
  'SCHEMA',
  'TOOBIG',
  'CONSTRAINT',
  'MISMATCH',
  'MISUSE',
  'NOLFS',
  'AUTH',
  'FORMAT',
  'RANGE',
  'NOTADB',
];

/** Extended codes worth naming (SQLite's and dqlite's own). */
const EXTENDED: Readonly<Record<number, string>> = {
  261: 'BUSY_RECOVERY',
  517: 'BUSY_SNAPSHOT',
  773: 'BUSY_TIMEOUT',
  262: 'LOCKED_SHAREDCACHE',
  264: 'READONLY_RECOVERY',
  776: 'READONLY_ROLLBACK',
  2067: 'CONSTRAINT_UNIQUE',
  1555: 'CONSTRAINT_PRIMARYKEY',
  1299: 'CONSTRAINT_NOTNULL',
  787: 'CONSTRAINT_FOREIGNKEY',
  275: 'CONSTRAINT_CHECK',
  1811: 'CONSTRAINT_TRIGGER',
  2579: 'CONSTRAINT_ROWID',
  3091: 'CONSTRAINT_DATATYPE',
  266: 'IOERR_READ',
  778: 'IOERR_WRITE',
  1034: 'IOERR_FSYNC',
  // dqlite's own: this node is not the leader, or stopped being the leader during the request.
  10250: 'IOERR_NOT_LEADER',
  10506: 'IOERR_LEADERSHIP_LOST',
  8202: 'IOERR_NOT_LEADER',
  8458: 'IOERR_LEADERSHIP_LOST',
};

/** `SQLITE_…` for a result code number. */
export function codeName(code: number): string {
  const name = EXTENDED[code] ?? PRIMARY[code & 0xff] ?? 'ERROR';
  return `SQLITE_${name}`;
}

/** SQLITE_NOMEM, which dqlite also answers when its log refuses an entry (see {@link isLeadershipCode}). */
const NOMEM = 7;

/**
 * Whether the code says the node is not (or no longer) the leader. Besides
 * its own two codes, dqlite answers a COMMIT with SQLITE_NOMEM (and SQLite's
 * stale "no more rows available") while leadership moves to another node
 * (seen here in rolling restarts of litepool-dqlite-node); a node truly out
 * of memory is best left the same way.
 */
export function isLeadershipCode(code: number): boolean {
  const name = EXTENDED[code];
  return name === 'IOERR_NOT_LEADER' || name === 'IOERR_LEADERSHIP_LOST' || code === NOMEM;
}

/** Whether a request answered with this leadership code may still have been applied (it reached the log, or may have). */
export function mayHaveApplied(code: number): boolean {
  return EXTENDED[code] === 'IOERR_LEADERSHIP_LOST' || code === NOMEM;
}
