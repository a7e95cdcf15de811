/**
 * Statements SQLite answers from a connection's schema in memory, which lags
 * another connection's schema change until a statement checks the file: how
 * the worker tells them apart, and the read that brings the schema up to date.
 */
import type Database from 'better-sqlite3';
import { mayBeNoOp } from '../sql/conditional-ddl.js';

/** A statement's first word when it is PRAGMA or EXPLAIN, in any case. */
const SCHEMA_WORD = /^\s*(PRAGMA|EXPLAIN)\b/i;
/** A statement (or script) that begins with BEGIN or SAVEPOINT, in any case. */
export const BEGIN_WORD = /^\s*(BEGIN|SAVEPOINT)\b/i;
/** A read that makes the connection check its schema in memory against the file's. */
export const SCHEMA_CHECK = 'SELECT 1 FROM sqlite_schema LIMIT 1';

/**
 * 'PRAGMA' or 'EXPLAIN' when `sql` is one of the statements SQLite answers
 * from the connection's schema in memory without checking it against the
 * file's (a PRAGMA read such as index_list, and EXPLAIN, how the drop-in
 * checks that a statement compiles; see statement-runner.ts), 'DDL' for a
 * `CREATE … IF NOT EXISTS` or `DROP … IF EXISTS`, which SQLite compiles to a
 * no-op or a write from that schema (a reader that compiled a write from an
 * old one would send a no-op to the writer: no-op-ddl.ts), else undefined.
 * Runs per request: most SQL is told apart by its first character.
 */
export function fromSchemaInMemory(sql: string): 'PRAGMA' | 'EXPLAIN' | 'DDL' | undefined {
  const first = sql.charCodeAt(0);
  const lower = first | 0x20;
  // Whitespace, c or d: a CREATE or DROP, maybe; whitespace, p or e: a PRAGMA or EXPLAIN, maybe.
  if ((first <= 0x20 || lower === 0x63 || lower === 0x64) && mayBeNoOp(sql)) return 'DDL';
  if (first > 0x20 && lower !== 0x70 && lower !== 0x65) return undefined;
  const word = SCHEMA_WORD.exec(sql)?.[1];
  return word === undefined ? undefined : word.toUpperCase() === 'PRAGMA' ? 'PRAGMA' : 'EXPLAIN';
}

/** A statement that may name a new table or view: CREATE, or ALTER TABLE … RENAME; in a script, anywhere. */
const NAMES_ONE = /^\s*(?:CREATE|ALTER)\b/i;
const SCRIPT_NAMES_ONE = /\b(?:CREATE|ALTER)\b/i;
const ATTACHED = "SELECT count(*) FROM pragma_database_list WHERE name NOT IN ('main', 'temp')";

/**
 * Whether `sql`, about to run on `db`, may give a table or view a name that
 * an ATTACHed database's table already answers to, so that it is found first
 * from now on (main before the ATTACHed ones, each before those attached
 * after it). SQLite expires a compiled statement only when a schema it reads
 * changes: one cached while `x` meant `a.x` would go on reading `a.x` after
 * `CREATE TABLE x`, where a statement compiled afresh (node-sqlite3 compiles
 * every one-shot call) reads the new `main.x`. Checked for writes only;
 * `script`: `sql` may hold several statements.
 */
export function mayShadowAttached(db: Database.Database, sql: string, script: boolean): boolean {
  return (script ? SCRIPT_NAMES_ONE : NAMES_ONE).test(sql) && (db.prepare(ATTACHED).pluck().get() as number) > 0;
}
