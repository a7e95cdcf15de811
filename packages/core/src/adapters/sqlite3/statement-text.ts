/**
 * The SQL a node-sqlite3 statement runs: its first statement only, with the
 * PRAGMAs the strategy owns answered with the mode in force.
 */
import { statements } from '../../index.js';

/** A PRAGMA the strategy owns, being set (the statement's own text). */
const STRATEGY_PRAGMA = /^\s*PRAGMA\s+(?:(\w+)\s*\.\s*)?(journal_mode|locking_mode)\s*(?:=|\()/i;
/** Whether a text may set one (a cheap look before splitting a script). */
const MENTIONS_STRATEGY_PRAGMA = /(?:journal_mode|locking_mode)\s*(?:=|\()/i;

/**
 * `sql` (a statement or a script) with each `PRAGMA journal_mode = …` (or
 * `locking_mode`) as its query: the strategy owns the mode, so setting it
 * answers with the mode in force, as SQLite does when it cannot change it.
 * Every other statement runs as written.
 */
export function withStrategyPragmas(sql: string): string {
  if (!MENTIONS_STRATEGY_PRAGMA.test(sql)) return sql;
  return statements(sql)
    .map(({ text }) => {
      const found = STRATEGY_PRAGMA.exec(text);
      return found === null ? text : `PRAGMA ${found[1] === undefined ? '' : `${found[1]}.`}${found[2]!}`;
    })
    .join(';\n');
}

/** What {@link textToRun} made of each SQL text (the drop-in makes a Statement per `db.get(sql)`). */
const texts = new Map<string, string>();

/**
 * What an empty statement (no SQL, or only comments and semicolons) compiles
 * to: a query of no rows. node-sqlite3 prepares it, and fails each of its
 * calls with SQLITE_MISUSE ("not an error"; see Statement).
 */
export const NO_STATEMENT = 'SELECT 1 WHERE 0 /* no statement */';

/**
 * The SQL a statement runs: its first statement (node-sqlite3 prepares only
 * that), with the strategy's PRAGMAs answered as they are, or
 * {@link NO_STATEMENT}. Memoized per text.
 */
export function textToRun(sql: string): string {
  let text = texts.get(sql);
  if (text === undefined) {
    text = withStrategyPragmas(statements(sql)[0]?.text ?? NO_STATEMENT);
    // Bounded: an app that builds SQL text dynamically must not grow this forever.
    if (texts.size >= 10_000) texts.clear();
    texts.set(sql, text);
  }
  return text;
}

/** The first word of a statement, past leading comments. */
const FIRST_WORD = /^(?:\s|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*([A-Za-z]+)/;

/** The first word of `sql` (upper case), past leading comments; undefined if there is none. */
export function firstWord(sql: string): string | undefined {
  return FIRST_WORD.exec(sql)?.[1]?.toUpperCase();
}

/**
 * Whether `text` (one statement) returns rows whatever its data, a SELECT or
 * VALUES (a CTE is not known to): `Statement#run` steps it once, leaving rows for `get`.
 */
export function returnsRows(text: string): boolean {
  const word = firstWord(text);
  return text !== NO_STATEMENT && (word === 'SELECT' || word === 'VALUES');
}
