/**
 * One pool per database file and options in a process, shared by every
 * `Database` opened on it: ORMs open several connections (Knex a pool of
 * them, Sequelize one per transaction), and they must all meet at the same
 * writer lane, not start worker threads each. The pool closes with the last
 * `Database` on it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createPool, type Pool, type PoolOptions } from '../../index.js';

/** A reference to a shared pool; `release()` once, when the `Database` closes. */
export interface PoolReference {
  readonly pool: Pool;
  /** Drops this reference; the last one closes the pool. Never rejects. */
  release(): Promise<void>;
}

interface Entry {
  readonly pool: Pool;
  readonly opened: Promise<void>;
  refs: number;
  /** The temporary directory of a private `:memory:` database. */
  readonly scratch: string | undefined;
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
function optionsKey(options: Omit<PoolOptions, 'filename'>): string | undefined {
  let unique = false;
  const text = JSON.stringify(options, (_key, value: unknown) => {
    if (typeof value === 'function') unique = true;
    return value;
  });
  return unique ? undefined : text;
}

function start(filename: string, options: Omit<PoolOptions, 'filename'>, scratch: string | undefined): Entry {
  const pool = createPool(options.backend === undefined ? { ...options, filename } : options);
  // The first statement opens a connection: a file that cannot be opened fails here, once, for every Database.
  const opened = pool.get('SELECT 1').then(() => undefined);
  opened.catch(() => {});
  return { pool, opened, refs: 0, scratch };
}

async function stop(entry: Entry): Promise<void> {
  try {
    await entry.pool.close();
  } catch {
    await entry.pool.destroy().catch(() => {});
  } finally {
    if (entry.scratch !== undefined) rmSync(entry.scratch, { recursive: true, force: true });
  }
}

/**
 * A reference to the pool for `filename` with `options`, started if there is
 * none. `:memory:` and `''` get a private database (a temporary file, since
 * worker threads cannot share a memory database), removed when it closes.
 */
export async function openShared(filename: string, options: Omit<PoolOptions, 'filename'>): Promise<PoolReference> {
  const { backend, ...rest } = options;
  // With a backend (a dqlite cluster) the data is elsewhere: the filename only names the Database.
  const memory = backend === undefined && (filename === ':memory:' || filename === '');
  const optionsText = optionsKey(rest);
  const where = backend === undefined ? resolve(filename) : backendKey(backend);
  const key = memory || optionsText === undefined ? undefined : `${where}\0${optionsText}`;
  let entry = key === undefined ? undefined : shared.get(key);
  if (entry === undefined) {
    const scratch = memory ? mkdtempSync(join(tmpdir(), 'litepool-memory-')) : undefined;
    entry = start(scratch === undefined ? filename : join(scratch, 'memory.db'), options, scratch);
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
    await stop(found);
  };
  try {
    await found.opened;
  } catch (error) {
    await release();
    throw error;
  }
  return { pool: found.pool, release };
}
