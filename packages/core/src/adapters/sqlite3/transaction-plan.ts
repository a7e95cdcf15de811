/**
 * How a `Database`'s SQL moves its transaction, planned when the SQL is
 * issued (node-sqlite3 queues calls, so the transaction state moves in issue
 * order, before anything runs): a script cut into its transaction-control
 * statements and the rest, each piece's control, and the errors SQLite would
 * give (`COMMIT` with no transaction, `BEGIN` inside one).
 */
import { statements, summarize, type TransactionState } from '../../index.js';
import type { Sqlite3Error } from './constants.js';
import { sqlite3Error } from './error-shape.js';

/** Transaction control the link carries out itself rather than send. */
export type Control = 'begin' | 'commit' | 'rollback' | 'savepoint-begin' | 'release-commit';

/** A statement of a script, as planned when issued. */
export interface Planned {
  readonly sql: string;
  readonly control: Control | undefined;
  /** A transaction is open after it. */
  readonly open: boolean;
  /** Its error, known when issued. */
  readonly error: Sqlite3Error | undefined;
  /** The transaction state before it, for a script (a failure stops the pieces after it) or transaction control. */
  readonly before: TransactionState | undefined;
}

const BEGIN_MODE = /^\s*BEGIN\s+(DEFERRED|IMMEDIATE|EXCLUSIVE)\b/i;
/** The savepoint a RELEASE or ROLLBACK TO names: its last word, quotes and all. */
const SAVEPOINT_NAME = /("(?:[^"]|"")+"|\[[^\]]+\]|`(?:[^`]|``)+`|'(?:[^']|'')+'|[^\s;]+)[\s;]*$/;

/** A savepoint's name as SQLite reports it: without its quotes. */
function savepointName(sql: string): string {
  const name = SAVEPOINT_NAME.exec(sql)?.[1] ?? '';
  const quote = name[0];
  if (quote === '[') return name.slice(1, -1);
  if (quote === '"' || quote === '`' || quote === "'") return name.slice(1, -1).replaceAll(quote + quote, quote);
  return name;
}

/** Whether `sql` neither begins nor ends a transaction (or savepoint): outside one, there is nothing to plan. */
export function controlsNothing(sql: string): boolean {
  const { transaction, savepoint } = summarize(sql);
  return transaction === undefined && savepoint === undefined;
}

/** A script's statements: each transaction-control statement alone, the others together. */
function piecesOf(sql: string): string[] {
  const { transaction, savepoint } = summarize(sql);
  if (transaction === undefined && savepoint === undefined) return [sql];
  const pieces: string[] = [];
  let plain: string[] = [];
  for (const statement of statements(sql)) {
    const control = summarize(statement.text);
    if (control.transaction === undefined && control.savepoint === undefined) {
      plain.push(statement.text);
      continue;
    }
    if (plain.length > 0) pieces.push(plain.join(';\n'));
    plain = [];
    pieces.push(statement.text);
  }
  if (plain.length > 0) pieces.push(plain.join(';\n'));
  return pieces;
}

/** Plans of statements that move nothing, issued inside a transaction, by their SQL: a loop of inserts queues thousands of one plan. */
const insidePlans = new Map<string, readonly Planned[]>();

/** Plans `sql` against `state`, moving it as SQLite would when it runs (see {@link planPieces}). */
export function planOf(state: TransactionState, sql: string): readonly Planned[] {
  if (!state.open || !controlsNothing(sql)) return planPieces(state, piecesOf(sql));
  let plan = insidePlans.get(sql);
  if (plan === undefined) {
    if (insidePlans.size >= 1000) insidePlans.clear();
    plan = unplanned(sql, true);
    insidePlans.set(sql, plan);
  }
  return plan;
}

/** The plan of SQL that moves nothing (or is not run: a compile check, a bind): one piece, inside a transaction if `open`. */
export function unplanned(sql: string, open: boolean): readonly Planned[] {
  return [{ sql, control: undefined, open, error: undefined, before: undefined }];
}

/** Plans `pieces` against `state`, moving it as SQLite would when they run. */
function planPieces(state: TransactionState, pieces: readonly string[]): Planned[] {
  return pieces.map((sql) => {
    const open = state.open;
    const { transaction, savepoint } = summarize(sql);
    const before = pieces.length > 1 || transaction !== undefined || savepoint !== undefined ? state.clone() : undefined;
    const step = state.apply(sql);
    const planned = (control: Control | undefined, error?: Sqlite3Error): Planned => ({ sql, control, open: step.isOpen, error, before });
    if (step.endsNothing !== undefined)
      return planned(undefined, sqlite3Error('ERROR', `cannot ${step.endsNothing} - no transaction is active`));
    if (step.releasesNothing) return planned(undefined, sqlite3Error('ERROR', `no such savepoint: ${savepointName(sql)}`));
    if (transaction?.startsWith('BEGIN') === true) {
      return open ? planned(undefined, sqlite3Error('ERROR', 'cannot start a transaction within a transaction')) : planned('begin');
    }
    if (transaction !== undefined) return planned(transaction.startsWith('ROLLBACK') ? 'rollback' : 'commit');
    if (savepoint?.startsWith('SAVEPOINT') === true && !open) return planned('savepoint-begin');
    if (savepoint?.startsWith('RELEASE') === true && open && !step.isOpen) return planned('release-commit');
    return planned(undefined);
  });
}

/** The pool's mode for a BEGIN: DEFERRED (SQLite's default) or IMMEDIATE (EXCLUSIVE is the same in WAL). */
export function beginMode(sql: string): 'deferred' | 'immediate' {
  const mode = BEGIN_MODE.exec(sql)?.[1]?.toUpperCase();
  return mode === 'IMMEDIATE' || mode === 'EXCLUSIVE' ? 'immediate' : 'deferred';
}
