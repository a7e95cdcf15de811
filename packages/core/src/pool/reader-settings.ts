/**
 * Connection PRAGMAs a deferred transaction may meet before it writes, which
 * need no connection of their own while it reads: `foreign_keys` does
 * nothing inside a transaction (SQLite's rule), `read_uncommitted` matters
 * only with a shared cache (litepool opens none), and `defer_foreign_keys`
 * matters only to the transaction's writes. Sending them to the shared
 * reader is refused (its settings are everyone's), and taking the writer for
 * them would hold other writers up while the transaction only reads: they
 * are answered at once, and `defer_foreign_keys` runs on the writer when the
 * transaction moves there (Sequelize sets isolation levels with
 * `read_uncommitted`, Prisma's migrations begin with `defer_foreign_keys`).
 * A SAVEPOINT before the transaction's first statement is held the same way
 * ({@link holdSavepoint}).
 */
import type { Op } from '../backend.js';
import { pragmaAssignment, statementHeads, summarize } from '../sql/statements.js';
import type { Params } from '../types.js';

/** The settings answered at once, and whether each must also run on the writer with the transaction's first write. */
const HELD: ReadonlyMap<string, boolean> = new Map([
  ['defer_foreign_keys', true],
  ['foreign_keys', false],
  ['read_uncommitted', false],
]);

/** What a held setting answers, per operation: nothing ran, nothing changed. */
const ANSWERS: Partial<Record<Op, unknown>> = { run: { changes: 0, lastInsertRowid: 0 }, all: [], values: [] };

/** A held setting: the answer to give at once, and whether to replay it on the writer when the transaction moves there. */
export interface HeldSetting {
  readonly answer: unknown;
  readonly replay: boolean;
}

/** For `sql`, one of those settings: what to do with it. Undefined for any other SQL. */
export function holdSetting(op: Op, sql: string): HeldSetting | undefined {
  const { state, script } = summarize(sql);
  if (op === 'iterate' || script || state === undefined) return undefined;
  const name = pragmaAssignment(sql)?.name;
  const replay = name === undefined ? undefined : HELD.get(name);
  return replay === undefined ? undefined : { answer: ANSWERS[op], replay };
}

/** SQLite's keywords: a savepoint named by one bare goes to SQLite, which knows which of them it accepts as names. */
const KEYWORDS = new Set(
  (
    'ABORT ACTION ADD AFTER ALL ALTER ALWAYS ANALYZE AND AS ASC ATTACH AUTOINCREMENT BEFORE BEGIN BETWEEN BY CASCADE CASE ' +
    'CAST CHECK COLLATE COLUMN COMMIT CONFLICT CONSTRAINT CREATE CROSS CURRENT CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP ' +
    'DATABASE DEFAULT DEFERRABLE DEFERRED DELETE DESC DETACH DISTINCT DO DROP EACH ELSE END ESCAPE EXCEPT EXCLUDE EXCLUSIVE ' +
    'EXISTS EXPLAIN FAIL FILTER FIRST FOLLOWING FOR FOREIGN FROM FULL GENERATED GLOB GROUP GROUPS HAVING IF IGNORE IMMEDIATE ' +
    'IN INDEX INDEXED INITIALLY INNER INSERT INSTEAD INTERSECT INTO IS ISNULL JOIN KEY LAST LEFT LIKE LIMIT MATCH ' +
    'MATERIALIZED NATURAL NO NOT NOTHING NOTNULL NULL NULLS OF OFFSET ON OR ORDER OTHERS OUTER OVER PARTITION PLAN PRAGMA ' +
    'PRECEDING PRIMARY QUERY RAISE RANGE RECURSIVE REFERENCES REGEXP REINDEX RELEASE RENAME REPLACE RESTRICT RETURNING RIGHT ' +
    'ROLLBACK ROW ROWS SAVEPOINT SELECT SET TABLE TEMP TEMPORARY THEN TIES TO TRANSACTION TRIGGER UNBOUNDED UNION UNIQUE ' +
    'UPDATE USING VACUUM VALUES VIEW VIRTUAL WHEN WHERE WINDOW WITH WITHOUT'
  ).split(' '),
);

/** Whether `params` hold any value. */
const hasValues = (params: Params | undefined): boolean =>
  params !== undefined && (Array.isArray(params) ? params.length > 0 : Object.keys(params).length > 0);

/**
 * For a SAVEPOINT issued before a deferred transaction has a connection: held
 * too, as it takes no lock and cannot fail, so it begins wherever the
 * transaction's first statement takes it (the writer for a write) instead of
 * taking a reader now. Knex nests transactions as savepoints, and a
 * node-sqlite3 `Database`'s outermost SAVEPOINT begins a deferred transaction.
 * Only a lone `SAVEPOINT name` without values, its name quoted or a word
 * other than SQLite's keywords, is held; anything SQLite might refuse runs as
 * it comes, so its error stays SQLite's.
 */
export function holdSavepoint(op: Op, sql: string, params: Params | undefined): HeldSetting | undefined {
  const { savepoint, script } = summarize(sql);
  if (op === 'iterate' || op === 'exec' || script || savepoint?.startsWith('SAVEPOINT ') !== true || hasValues(params)) return undefined;
  // The statement's leading tokens: words upper-cased, a quoted name or a string as its opening quote.
  const head = statementHeads(sql)[0]!;
  const name = head[1]!;
  const word = name === '"' || name === "'" || (/^[A-Z_\u0080-\uFFFF]/.test(name) && !KEYWORDS.has(name));
  return head.length === 2 && word ? { answer: ANSWERS[op], replay: true } : undefined;
}
