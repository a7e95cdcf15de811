/**
 * A `CREATE … IF NOT EXISTS` or `DROP … IF EXISTS` sent for a read (see
 * sql/conditional-ddl.ts): run where nothing can be written, it is SQLite's
 * no-op, or it fails with SQLITE_READONLY before it changes anything and the
 * writer runs it as a write instead.
 */
import type Database from 'better-sqlite3';
import { mayBeNoOp } from '../sql/conditional-ddl.js';
import { bindArgs, codeOf, noRows, ok } from './answers.js';
import type { WireRequest, WireResponse } from './protocol.js';

/**
 * The answer of `request`, a statement that writes, if it is a conditional schema change that `db` found
 * nothing to do for; undefined otherwise (it has something to do, or it is not one). `db` is a reader, opened
 * read-only, or the writer asked for a read (a deferred transaction that has not written, a read lent to it), which
 * runs it with `query_only` set.
 */
export function answerIfNoOp(db: Database.Database, request: WireRequest): WireResponse | undefined {
  if (!mayBeNoOp(request.sql)) return undefined;
  const guard = !db.readonly;
  let result: Database.RunResult;
  try {
    if (guard) db.pragma('query_only = 1');
    // Compiled afresh: a statement kept from an older schema, compiled as a write, would fail before SQLite checks it.
    result = db.prepare(request.sql).run(...bindArgs(request.params));
  } catch (error) {
    if (codeOf(error) === 'SQLITE_READONLY') return undefined;
    throw error;
  } finally {
    if (guard) db.pragma('query_only = 0');
  }
  const { seq, op } = request;
  return ok(seq, op === 'run' ? { changes: result.changes, lastInsertRowid: result.lastInsertRowid } : noRows(op), false);
}
