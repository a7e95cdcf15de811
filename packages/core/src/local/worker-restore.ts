/**
 * A restore in a worker thread: the database in a file copied into a schema
 * of this connection (`main`, `temp` or an ATTACHed database), replacing what
 * that schema held, in one transaction: other connections see the old
 * database or the new one, never a mix, and a failure leaves the old one.
 *
 * SQLite's backup API could copy the pages, but better-sqlite3 offers it only
 * out of a connection (its destination is a file it opens itself), which
 * cannot reach a connection's TEMP schema or an in-memory database. So the
 * copy is made with SQL: the file is ATTACHed, its schema's objects created
 * in the destination from their `sqlite_master` text and its rows copied
 * (rowids kept), then its indexes, views and triggers (triggers last, so
 * that none fires on the copy), its `user_version` and `application_id`.
 * Page size, encoding and free pages are the destination's own; statistics
 * (`sqlite_stat1`) are made again with ANALYZE. Virtual tables are refused:
 * their contents live in their modules' shadow tables.
 */
import type Database from 'better-sqlite3';
import { existsSync, realpathSync } from 'node:fs';

/** What to restore, as the pool sends it. */
export interface RestoreJob {
  /** The file whose main database is copied. */
  readonly source: string;
  /** The schema written: main, temp or an ATTACHed database. */
  readonly schema: string;
  /**
   * Statements that clear the destination first (a session's own TEMP
   * objects: the temp schema is shared by the sessions on this connection);
   * undefined: every object of the schema is dropped.
   */
  readonly clear: readonly string[] | undefined;
}

/** A restore's outcome: the source's pages, and the tables, views and triggers made (type, name). */
export interface Restored {
  readonly totalPages: number;
  readonly remainingPages: 0;
  readonly made: ReadonlyArray<readonly [type: string, name: string]>;
}

interface SchemaRow {
  readonly type: string;
  readonly name: string;
  readonly sql: string;
}

/** The source's name while it is attached: one no application would choose. */
const SOURCE = 'litepool_restore_source';
const quote = (name: string): string => `"${name.replace(/"/g, '""')}"`;
/** SQLite stores each object's text with its first words normalised and without a schema name (checked on 3.54). */
const CREATE = /^CREATE (TABLE|UNIQUE INDEX|INDEX|VIEW|TRIGGER) /i;
/** An internal table (sqlite_sequence, sqlite_stat1, …): never created by its text. */
const internal = (name: string): boolean => name.toLowerCase().startsWith('sqlite_');

function sqliteError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** Replaces `job.schema` of `db` with the main database of `job.source` (see the module description). */
export function restore(db: Database.Database, job: RestoreJob): Restored {
  if (!existsSync(job.source)) throw sqliteError('SQLITE_CANTOPEN', `unable to open database file: ${job.source} does not exist`);
  // Its own file ATTACHed again would be read through a second pager while the first rewrites it.
  const target = (db.pragma('database_list') as Array<{ name: string; file: string }>).find(
    (database) => database.name.toLowerCase() === job.schema.toLowerCase(),
  );
  if (target !== undefined && target.file !== '' && realpathSync(target.file) === realpathSync(job.source))
    throw sqliteError('SQLITE_ERROR', `restore: ${job.source} is the database it would replace`);
  db.prepare(`ATTACH ? AS ${SOURCE}`).run(job.source);
  try {
    db.exec('BEGIN');
    try {
      const rowid = db.prepare('SELECT last_insert_rowid()').pluck().safeIntegers().get() as bigint;
      const restored = copy(db, job);
      keepRowid(db, rowid);
      db.exec('COMMIT');
      return restored;
    } catch (error) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw error;
    }
  } finally {
    db.exec(`DETACH ${SOURCE}`);
  }
}

function copy(db: Database.Database, job: RestoreJob): Restored {
  const to = quote(job.schema);
  // Tables dropped and made again in any order: their keys are checked at COMMIT, between two whole databases.
  db.pragma('defer_foreign_keys = ON');
  const objects = db
    .prepare(`SELECT type, name, sql FROM ${SOURCE}.sqlite_master WHERE sql IS NOT NULL ORDER BY rowid`)
    .all() as SchemaRow[];
  const virtual = objects.find((object) => object.type === 'table' && !CREATE.test(object.sql) && !internal(object.name));
  if (virtual !== undefined)
    throw sqliteError('SQLITE_ERROR', `restore: ${virtual.name} is a virtual table, whose contents a restore cannot copy`);
  for (const statement of job.clear ?? clearAll(db, to)) db.exec(statement);
  const made: Array<readonly [string, string]> = [];
  const create = (object: SchemaRow): void => {
    db.exec(object.sql.replace(CREATE, (words: string) => `${words}${to}.`));
    if (object.type !== 'index') made.push([object.type.toUpperCase(), object.name]);
  };
  const tables = objects.filter((object) => object.type === 'table' && !internal(object.name));
  for (const table of tables) {
    create(table);
    copyRows(db, to, table.name);
  }
  const names = new Set(objects.map((object) => object.name.toLowerCase()));
  if (names.has('sqlite_sequence'))
    db.exec(`DELETE FROM ${to}.sqlite_sequence; INSERT INTO ${to}.sqlite_sequence SELECT * FROM ${SOURCE}.sqlite_sequence`);
  for (const object of objects) if (object.type === 'index' && !internal(object.name)) create(object);
  for (const type of ['view', 'trigger']) for (const object of objects) if (object.type === type) create(object);
  for (const pragma of ['user_version', 'application_id']) {
    const value = Number(db.pragma(`${SOURCE}.${pragma}`, { simple: true }));
    db.pragma(`${to}.${pragma} = ${value}`);
  }
  if (names.has('sqlite_stat1')) db.exec(`ANALYZE ${to}`);
  return { totalPages: Number(db.pragma(`${SOURCE}.page_count`, { simple: true })), remainingPages: 0, made };
}

/**
 * Puts the connection's `last_insert_rowid()` back where it was before the
 * copy's INSERTs moved it, as SQLite's backup, which inserts nothing, leaves
 * it (a later `run` that inserts nothing reports it): a row with that rowid
 * inserted into a scratch TEMP table, then dropped with it.
 */
function keepRowid(db: Database.Database, rowid: bigint): void {
  const scratch = `temp.${quote(`${SOURCE}_rowid`)}`;
  db.exec(`CREATE TABLE ${scratch} (x)`);
  db.prepare(`INSERT INTO ${scratch} (rowid) VALUES (?)`).run(rowid);
  db.exec(`DROP TABLE ${scratch}`);
}

/** The statements that drop every object of schema `to` (quoted), virtual tables first (their shadow tables go with them). */
function clearAll(db: Database.Database, to: string): string[] {
  const objects = db
    .prepare(`SELECT type, name, sql FROM ${to}.sqlite_master WHERE type IN ('table', 'view', 'trigger')`)
    .all() as SchemaRow[];
  const rank = (object: SchemaRow): number =>
    object.type === 'table' && !CREATE.test(object.sql ?? '') ? 0 : object.type === 'trigger' ? 1 : object.type === 'view' ? 2 : 3;
  return objects
    .filter((object) => object.name.toLowerCase() !== 'sqlite_sequence')
    .sort((a, b) => rank(a) - rank(b))
    .map((object) => `DROP ${object.type.toUpperCase()} IF EXISTS ${to}.${quote(object.name)}`)
    .concat(objects.some((object) => object.name.toLowerCase() === 'sqlite_sequence') ? [`DELETE FROM ${to}.sqlite_sequence`] : []);
}

/** Copies `table`'s rows from the source into schema `to`, with their rowids (generated columns are computed again). */
function copyRows(db: Database.Database, to: string, table: string): void {
  const columns = db.prepare(`SELECT name, hidden FROM pragma_table_xinfo(?, '${SOURCE}')`).all(table) as Array<{
    name: string;
    hidden: number;
  }>;
  const [info] = db.prepare(`SELECT wr FROM pragma_table_list WHERE schema = '${SOURCE}' AND name = ?`).all(table) as Array<{ wr: number }>;
  const taken = new Set(columns.map((column) => column.name.toLowerCase()));
  // A table whose columns take every name of the rowid keeps it hidden: its rows get new ones, as a dump would give them.
  const rowid = info?.wr === 1 ? undefined : ['rowid', '_rowid_', 'oid'].find((name) => !taken.has(name));
  const names = [
    ...(rowid === undefined ? [] : [rowid]),
    ...columns.filter((column) => column.hidden === 0).map((column) => quote(column.name)),
  ];
  const list = names.join(', ');
  db.exec(`INSERT INTO ${to}.${quote(table)} (${list}) SELECT ${list} FROM ${SOURCE}.${quote(table)}`);
}
