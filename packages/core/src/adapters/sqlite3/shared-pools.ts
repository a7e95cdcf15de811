/**
 * One pool per database and options in a process, shared by every
 * `Database` opened on it: ORMs open several connections (Knex a pool of
 * them, Sequelize one per transaction), and they must all meet at the same
 * writer, not start worker threads each. The pool closes with the last
 * `Database` on it. An in-memory database is private to its `Database`, as
 * in SQLite, unless SQLite would share it (see `memory`).
 */
import { closeSync, constants, openSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createPool, type Pool, type PoolOptions, type PragmaValue, type Session } from '../../index.js';
import { OPEN_CREATE, OPEN_PRIVATECACHE, OPEN_READONLY, OPEN_READWRITE, OPEN_SHAREDCACHE } from './constants.js';
import { sqlite3Error } from './error-shape.js';

/** The pool options a `Database` may give in place of its mode (all but `filename`). */
export type SharedOptions = Partial<Omit<PoolOptions, 'filename'>>;

/** A reference to a shared pool; `release()` once, when the `Database` closes. */
export interface PoolReference {
  readonly pool: Pool;
  /**
   * An in-memory database opened read-only: SQLite refuses its writes, but
   * better-sqlite3 cannot open one so; the Database's session holds
   * `query_only` instead.
   */
  readonly queryOnly: boolean;
  /**
   * Settles once the pool's first connection has opened the database;
   * rejects (with the reference released) if it cannot.
   */
  readonly opened: Promise<void>;
  /**
   * Whether the checks a connection's open makes were made here, on the
   * file system, so that the `Database` may report itself open before
   * {@link opened} settles (a thread's start away). False for an in-memory
   * database (whose {@link opened} settles at once: its connection opens at
   * its first statement), a `file:` URI and a backend's, which report at
   * {@link opened}.
   */
  readonly checked: boolean;
  /** Drops this reference; the last one closes the pool. Never rejects. */
  release(): Promise<void>;
}

interface Entry {
  readonly pool: Pool;
  readonly opened: Promise<void>;
  /** Withdraws the first connection's request, so that a pool closed before it answers does not wait for a thread to start. */
  readonly stopOpening: AbortController;
  refs: number;
}

const shared = new Map<string, Entry>();

/** A key per backend object: Databases opened with the same backend share its pool. */
const backendKeys = new WeakMap<NonNullable<PoolOptions['backend']>, string>();
let nextBackend = 1;
function backendKey(backend: NonNullable<PoolOptions['backend']>): string {
  let key = backendKeys.get(backend);
  if (key === undefined) backendKeys.set(backend, (key = `${backend.kind}#${nextBackend++}`));
  return key;
}

/** Options as a key: equal options share a pool; functions (which JSON drops) make the options unique. */
function optionsKey(options: SharedOptions): string | undefined {
  let unique = false;
  const text = JSON.stringify(options, (_key, value: unknown) => {
    if (typeof value === 'function') unique = true;
    return value;
  });
  return unique ? undefined : text;
}

/**
 * Whether `filename` is an in-memory database, and the name it is shared
 * under, if any: as in SQLite, a named one in shared-cache mode (`cache=shared`
 * in its URI, or `OPEN_SHAREDCACHE` in `mode` unless `OPEN_PRIVATECACHE` or
 * `cache=private` says otherwise) is one database for every connection that
 * opens the same name, and so is a `vfs=memdb` one whose name starts with `/`.
 */
function memory(filename: string, mode: number): { readonly memory: boolean; readonly sharedAs: string | undefined } {
  if (filename === '' || filename === ':memory:') return { memory: true, sharedAs: undefined };
  if (!filename.startsWith('file:')) return { memory: false, sharedAs: undefined };
  const queryAt = filename.indexOf('?');
  const query = new URLSearchParams(queryAt < 0 ? '' : filename.slice(queryAt + 1));
  const inMemory = filename.startsWith('file::memory:') || query.get('mode') === 'memory' || query.get('vfs') === 'memdb';
  if (!inMemory) return { memory: false, sharedAs: undefined };
  let name = filename.slice('file:'.length, queryAt < 0 ? undefined : queryAt);
  try {
    name = decodeURIComponent(name);
  } catch {
    // createPool refuses the name with its reason.
  }
  const cache = query.get('cache');
  const sharedCache = cache === 'shared' || (cache !== 'private' && (mode & OPEN_SHAREDCACHE) !== 0 && (mode & OPEN_PRIVATECACHE) === 0);
  const shared = sharedCache || (query.get('vfs') === 'memdb' && name.startsWith('/'));
  return { memory: true, sharedAs: shared ? `memory:${name}` : undefined };
}

/**
 * Where the pool's database is, for createPool: `''` (SQLite's private
 * temporary database) is kept in memory; a read-only file opens as a
 * `mode=ro` URI, so its connections refuse writes to it but keep their TEMP
 * schema, as a read-only SQLite connection does.
 */
function poolFilename(filename: string, readOnly: boolean): string {
  if (filename === '') return ':memory:';
  if (!readOnly || filename.startsWith('file:')) return filename;
  return `${pathToFileURL(resolve(filename)).href}?mode=ro`;
}

/** SQLite's flag for an in-memory database whatever the filename (not among node-sqlite3's constants; it passes it through). */
const SQLITE_OPEN_MEMORY = 0x80;

/** Whether node-sqlite3's open flags `mode` open the database read-only. */
export function readOnlyMode(mode: number): boolean {
  return (mode & OPEN_READONLY) !== 0 && (mode & OPEN_READWRITE) === 0;
}

/**
 * A reference to the pool for `name` with `options`, started if there is
 * none; `mode`, node-sqlite3's open flags, checked as sqlite3_open_v2 checks
 * them (access bits read-only, read-write, or read-write and create). Without
 * OPEN_CREATE a missing file fails with SQLITE_CANTOPEN; read-only, writes
 * fail with SQLITE_READONLY. A path is checked on the file system (here,
 * and by createPool) and the reference returned before its first connection
 * opens; anything else once it has.
 */
export async function openShared(name: string, options: SharedOptions, mode: number): Promise<PoolReference> {
  if (((1 << (mode & 7)) & 0x46) === 0) throw sqlite3Error('MISUSE', 'bad parameter or other API misuse');
  // Past that check the access bits are read-only, read-write, or read-write and create.
  const readOnly = readOnlyMode(mode);
  const filename = (mode & SQLITE_OPEN_MEMORY) !== 0 ? ':memory:' : name;
  const { backend, ...rest } = options;
  const place = memory(filename, mode);
  const checked = backend === undefined && !place.memory && !filename.startsWith('file:');
  // A path's directory and the file's kind are checked by createPool (an OptionsError, SQLite's CANTOPEN here).
  if (checked) checkOpenable(filename, readOnly, (mode & OPEN_CREATE) !== 0);
  const optionsText = optionsKey(rest);
  const target = poolFilename(filename, readOnly && !place.memory);
  // With a backend (a dqlite cluster) the data is elsewhere: the filename only names the Database.
  const where = backend !== undefined ? backendKey(backend) : (place.sharedAs ?? (target.startsWith('file:') ? target : resolve(target)));
  const key = optionsText === undefined || (place.memory && place.sharedAs === undefined) ? undefined : `${where}\0${optionsText}`;
  let entry = key === undefined ? undefined : shared.get(key);
  if (entry === undefined) {
    const pool = createPool(backend === undefined ? { ...options, filename: target } : options);
    // The first statement opens a connection: a file that cannot be opened fails here, once, for every Database.
    // A read-write Database opens the writer, which its first write needs anyway (a read would wait for the writer
    // to create the file, then for a reader to open), by a lease given straight back: no statement, no lock taken in
    // SQLite. A read-only one opens a reader.
    // An in-memory database has no file to fail on: its connection opens at its first statement, so a Database
    // closed before any (a test's) never waits for a thread.
    const stopOpening = new AbortController();
    const opened = place.memory ? Promise.resolve() : firstConnection(pool, readOnly, stopOpening.signal);
    opened.catch(() => {});
    entry = { pool, opened, stopOpening, refs: 0 };
    if (key !== undefined) shared.set(key, entry);
  }
  const found = entry;
  found.refs++;
  let released = false;
  const release = async (): Promise<void> => {
    if (released) return;
    released = true;
    if (--found.refs > 0) return;
    if (key !== undefined && shared.get(key) === found) shared.delete(key);
    // A Database closed before its first connection opened (one that ran nothing, as node-sqlite3's tests do) closes
    // at once, as node-sqlite3's does: the request is withdrawn, and the thread that was starting for it is stopped.
    found.stopOpening.abort();
    await found.pool.close().catch(() => found.pool.destroy().catch(() => {}));
  };
  const opened = found.opened.catch(async (error: unknown) => {
    await release();
    throw error;
  });
  opened.catch(() => {});
  if (!checked) await opened;
  return { pool: found.pool, opened, checked, release, queryOnly: place.memory && readOnly };
}

/**
 * Opens the pool's first connection, by a lease given straight back: a
 * reader for a read-only `Database` (its writer never opens: a stream then
 * starts at once on that reader, where a read lent to the writer started the
 * writer's thread first), else the writer; `signal` withdraws the request.
 */
function firstConnection(pool: Pool, readOnly: boolean, signal: AbortSignal): Promise<void> {
  return pool.acquire({ write: !readOnly, signal }).then(async (lease) => void (await lease.release()));
}

/**
 * Opens the file as SQLite's open does, so that a `Database` reported open
 * at once could have been opened: read-write (a file that refuses writing is
 * then opened read-only, as SQLite falls back), created if missing and
 * `create` (SQLite creates the empty file at open, before any statement).
 * Throws SQLITE_CANTOPEN where SQLite's open fails: a missing file without
 * `create`, a directory that refuses a new file, a file that cannot be read.
 */
function checkOpenable(path: string, readOnly: boolean, create: boolean): void {
  const { O_CREAT, O_RDONLY, O_RDWR } = constants;
  const tries = readOnly ? [O_RDONLY] : create ? [O_RDWR | O_CREAT, O_RDONLY] : [O_RDWR, O_RDONLY];
  for (const flags of tries) {
    try {
      closeSync(openSync(path, flags, 0o644));
      return;
    } catch {
      // The next way, as SQLite tries it; none left: it cannot open.
    }
  }
  throw sqlite3Error('CANTOPEN', 'unable to open database file');
}

/** node-sqlite3 opens each connection with a busy timeout of 1000 ms. */
const BUSY_TIMEOUT_MS = 1000;

/**
 * A `Database`'s session of a shared pool, set as node-sqlite3 opens its
 * connections: foreign keys off, double-quoted strings accepted, a busy
 * timeout of 1000 ms (which also bounds a wait for a writer another
 * `Database`'s transaction holds: see `SessionOptions.pragmas`).
 */
export function databaseSession(reference: PoolReference): Session {
  const pragmas: Record<string, PragmaValue> = { foreign_keys: false, busy_timeout: BUSY_TIMEOUT_MS };
  if (reference.queryOnly) pragmas['query_only'] = true;
  return reference.pool.session({ pragmas, doubleQuotedStrings: true });
}
