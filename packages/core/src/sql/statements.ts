/**
 * Reads what SQL text does to the connection it runs on, without running it:
 * the statements of a script (split where SQLite itself would end them) and
 * what each is, by its leading tokens. Used to refuse transaction control and
 * connection settings where they would leak to the next caller.
 */

/** What a statement does, as far as the pool cares. */
export type StatementKind =
  /** BEGIN, COMMIT, END, ROLLBACK: starts or ends the transaction. */
  | 'transaction'
  /** SAVEPOINT, RELEASE, ROLLBACK TO: inside a transaction, never ends it (outside one, SAVEPOINT starts one). */
  | 'savepoint'
  /** Changes the connection, not the database: ATTACH, DETACH, CREATE TEMP …, a connection-scoped PRAGMA set. */
  | 'state'
  /** Cannot run inside a transaction: VACUUM, PRAGMA wal_checkpoint. */
  | 'standalone'
  | 'other';

/** PRAGMAs whose setting lives on one connection (or, for the strategy's, belongs to the pool). */
export const CONNECTION_PRAGMAS: ReadonlySet<string> = new Set([
  'analysis_limit',
  'automatic_index',
  'busy_timeout',
  'cache_size',
  'cache_spill',
  'case_sensitive_like',
  'cell_size_check',
  'checkpoint_fullfsync',
  'count_changes',
  'data_store_directory',
  'defer_foreign_keys',
  'empty_result_callbacks',
  'foreign_keys',
  'full_column_names',
  'fullfsync',
  'hard_heap_limit',
  'ignore_check_constraints',
  'journal_mode',
  'journal_size_limit',
  'legacy_alter_table',
  'locking_mode',
  'max_page_count',
  'mmap_size',
  'query_only',
  'read_uncommitted',
  'recursive_triggers',
  'reverse_unordered_selects',
  'secure_delete',
  'short_column_names',
  'soft_heap_limit',
  'synchronous',
  'temp_store',
  'temp_store_directory',
  'threads',
  'trusted_schema',
  'wal_autocheckpoint',
  'writable_schema',
]);

const TRANSACTION_WORDS = new Set(['BEGIN', 'COMMIT', 'END', 'ROLLBACK']);

/** A token that matters for classification: an upper-cased word, or one punctuation character. */
type Token = string;

// sqlite3_complete's state machine, over the token classes below: a statement
// ends at a semicolon, except inside CREATE [TEMP] TRIGGER … END.
const SEMI = 0,
  WS = 1,
  OTHER = 2,
  EXPLAIN = 3,
  CREATE = 4,
  TEMP = 5,
  TRIGGER = 6,
  END = 7;
const START = 1;
const TRANSITIONS: readonly (readonly number[])[] = [
  /* 0 invalid */ [1, 0, 2, 3, 4, 2, 2, 2],
  /* 1 start   */ [1, 1, 2, 3, 4, 2, 2, 2],
  /* 2 normal  */ [1, 2, 2, 2, 2, 2, 2, 2],
  /* 3 explain */ [1, 3, 3, 2, 4, 2, 2, 2],
  /* 4 create  */ [1, 4, 2, 2, 2, 4, 5, 2],
  /* 5 trigger */ [6, 5, 5, 5, 5, 5, 5, 5],
  /* 6 semi    */ [6, 6, 5, 5, 5, 5, 5, 7],
  /* 7 end     */ [1, 7, 5, 5, 5, 5, 5, 5],
];

function wordClass(word: string): number {
  switch (word) {
    case 'EXPLAIN':
      return EXPLAIN;
    case 'CREATE':
      return CREATE;
    case 'TEMP':
    case 'TEMPORARY':
      return TEMP;
    case 'TRIGGER':
      return TRIGGER;
    case 'END':
      return END;
    default:
      return OTHER;
  }
}

const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f';
const isWordStart = (c: string): boolean => /[A-Za-z_]/.test(c) || c.charCodeAt(0) > 0x7f;
const isWordPart = (c: string): boolean => /[A-Za-z0-9_$]/.test(c) || c.charCodeAt(0) > 0x7f;

/** Most leading tokens kept per statement: enough for `CREATE UNIQUE INDEX IF NOT EXISTS temp.x`. */
const KEPT = 10;

/** One statement of a script: its leading tokens and where its text is. */
export interface StatementSpan {
  /** Leading tokens (words upper-cased; quoted names and strings as `"`). */
  readonly head: Token[];
  /** The statement's text, from its first token to (not including) its semicolon. */
  readonly text: string;
}

/** Where a comment starting at `i` ends (the index after it); undefined when none starts there. */
function commentEnd(sql: string, i: number): number | undefined {
  const c = sql[i];
  if (c === '-' && sql[i + 1] === '-') {
    const end = sql.indexOf('\n', i);
    return end < 0 ? sql.length : end + 1;
  }
  if (c === '/' && sql[i + 1] === '*') {
    const end = sql.indexOf('*/', i + 2);
    return end < 0 ? sql.length : end + 2;
  }
  return undefined;
}

/** Whether `c` opens a string or a quoted name. */
const isQuote = (c: string): boolean => c === "'" || c === '"' || c === '`' || c === '[';

/** Where the string or quoted name opening at `i` ends (the index after its closing quote, or the end of `sql`). */
function quotedEnd(sql: string, i: number): number {
  const close = sql[i] === '[' ? ']' : sql[i]!;
  let j = i + 1;
  for (;;) {
    const k = sql.indexOf(close, j);
    if (k < 0) return sql.length;
    // A doubled quote is an escaped quote (not for [brackets]).
    if (close !== ']' && sql[k + 1] === close) j = k + 2;
    else return k + 1;
  }
}

/**
 * The statements of `sql`, split where SQLite would end them, each with its
 * leading tokens (comments and whitespace dropped). Empty statements are left out.
 */
export function statements(sql: string): StatementSpan[] {
  const found: StatementSpan[] = [];
  let current: Token[] = [];
  let start = -1;
  let state = START;
  const step = (token: number): void => {
    state = TRANSITIONS[state]![token]!;
  };
  const keep = (token: Token, at: number): void => {
    if (start < 0) start = at;
    if (current.length < KEPT) current.push(token);
  };
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    const comment = commentEnd(sql, i);
    if (isSpace(c)) {
      i++;
      step(WS);
    } else if (comment !== undefined) {
      i = comment;
      step(WS);
    } else if (isQuote(c)) {
      keep(c === "'" ? "'" : '"', i);
      i = quotedEnd(sql, i);
      step(OTHER);
    } else if (c === ';') {
      step(SEMI);
      if (state === START) {
        if (current.length > 0) found.push({ head: current, text: sql.slice(start, i) });
        current = [];
        start = -1;
      }
      i++;
    } else if (isWordStart(c)) {
      let j = i + 1;
      while (j < sql.length && isWordPart(sql[j]!)) j++;
      const word = sql.slice(i, j).toUpperCase();
      keep(word, i);
      i = j;
      step(wordClass(word));
    } else {
      keep(c, i);
      i++;
      step(OTHER);
    }
  }
  if (current.length > 0) found.push({ head: current, text: sql.slice(start).trimEnd() });
  return found;
}

/** The leading tokens of each statement of `sql` (see {@link statements}). */
export function statementHeads(sql: string): Token[][] {
  return statements(sql).map((statement) => statement.head);
}

/**
 * Whether every statement of `sql` is a query (`SELECT` or `VALUES`; a `WITH`
 * may write): such a script reads only, and SQLite's exec of it takes no
 * write lock.
 */
export function onlyQueries(sql: string): boolean {
  const heads = statementHeads(sql);
  return heads.length > 0 && heads.every((head) => head[0] === 'SELECT' || head[0] === 'VALUES');
}

/** What one statement does, from its leading tokens. */
export function classify(head: readonly Token[]): StatementKind {
  const first = head[0];
  if (first === undefined || first === 'EXPLAIN') return 'other';
  if (first === 'SAVEPOINT' || first === 'RELEASE') return 'savepoint';
  if (first === 'ROLLBACK' && (head[1] === 'TO' || head[2] === 'TO')) return 'savepoint';
  if (TRANSACTION_WORDS.has(first)) return 'transaction';
  if (first === 'ATTACH' || first === 'DETACH') return 'state';
  if (first === 'VACUUM') return 'standalone';
  if (first === 'CREATE') {
    // CREATE TEMP TABLE …, or a name in the temp schema (CREATE TABLE temp.x …).
    for (let i = 1; i < head.length; i++) {
      if (head[i] === 'TEMP' || head[i] === 'TEMPORARY') return head[i + 1] === '.' || i <= 2 ? 'state' : 'other';
    }
    return 'other';
  }
  if (first === 'PRAGMA') {
    const qualified = head[2] === '.';
    const name = (qualified ? head[3] : head[1])?.toLowerCase();
    const next = qualified ? head[4] : head[2];
    const sets = next === '=' || next === '(';
    if (name === 'wal_checkpoint') return 'standalone'; // SQLITE_LOCKED inside a transaction
    return name !== undefined && sets && CONNECTION_PRAGMAS.has(name) ? 'state' : 'other';
  }
  return 'other';
}

/** What a piece of SQL text does to its connection, statement by statement, summed up. */
export interface StatementSummary {
  /** The leading words of its first statement that starts or ends a transaction (BEGIN, COMMIT, END, ROLLBACK), if any. */
  readonly transaction: string | undefined;
  /** The leading words of its first savepoint statement (SAVEPOINT, RELEASE, ROLLBACK TO), if any. */
  readonly savepoint: string | undefined;
  /** It names one of the pool's own savepoints (`litepool_…`). */
  readonly poolSavepoint: boolean;
  /** The leading words of its first statement that changes the connection (PRAGMA foreign_keys = …, ATTACH, …), if any. */
  readonly state: string | undefined;
  /** It holds a statement that cannot run inside a transaction (VACUUM). */
  readonly standalone: boolean;
  /** It holds more than one statement. */
  readonly script: boolean;
  /** It reads what only the connection that ran the last write knows: last_insert_rowid(), changes(), total_changes(). */
  readonly writerState: boolean;
  /** Each of its statements writes whatever it holds, by its first word (INSERT, UPDATE, DELETE, CREATE, …): no reader need look. */
  readonly writes: boolean;
}

const PLAIN: StatementSummary = Object.freeze({
  transaction: undefined,
  savepoint: undefined,
  poolSavepoint: false,
  state: undefined,
  standalone: false,
  script: false,
  writerState: false,
  writes: false,
});
const PLAIN_WRITE: StatementSummary = Object.freeze({ ...PLAIN, writes: true });
/** First words of statements that write to the database whatever follows them (SQLite's prepare then says not read-only). */
const WRITE_WORDS = new Set(['INSERT', 'UPDATE', 'DELETE', 'REPLACE', 'CREATE', 'DROP', 'ALTER', 'REINDEX', 'ANALYZE']);
const WRITER_STATE = /\b(last_insert_rowid|changes|total_changes)\s*\(/i;
const summaries = new Map<string, StatementSummary>();

/** The {@link StatementSummary} of `sql`, memoized per text (the same SQL text comes back again and again). */
export function summarize(sql: string): StatementSummary {
  let summary = summaries.get(sql);
  if (summary !== undefined) return summary;
  let transaction: string | undefined;
  let savepoint: string | undefined;
  let poolSavepoint = false;
  let state: string | undefined;
  let standalone = false;
  const heads = statementHeads(sql);
  const writes = heads.length > 0 && heads.every((head) => WRITE_WORDS.has(head[0] ?? ''));
  for (const head of heads) {
    const kind = classify(head);
    const words = (): string => head.slice(0, head[0] === 'PRAGMA' ? 4 : 2).join(' ');
    if (kind === 'transaction') transaction ??= words();
    else if (kind === 'savepoint') {
      savepoint ??= words();
      poolSavepoint ||= head.some((word) => word.startsWith('LITEPOOL_'));
    } else if (kind === 'state') state ??= words();
    else if (kind === 'standalone') standalone = true;
  }
  const writerState = WRITER_STATE.test(sql);
  const script = heads.length > 1;
  summary =
    transaction === undefined && savepoint === undefined && state === undefined && !standalone && !writerState && !script
      ? writes
        ? PLAIN_WRITE
        : PLAIN
      : Object.freeze({ transaction, savepoint, poolSavepoint, state, standalone, script, writerState, writes });
  // Bounded: an app that builds SQL text dynamically must not grow this forever.
  if (summaries.size >= 10_000) summaries.clear();
  summaries.set(sql, summary);
  return summary;
}

const PRAGMA_ASSIGNMENT = /^\s*PRAGMA\s+(?:\w+\s*\.\s*)?(\w+)\s*(?:=\s*(.+?)|\(\s*(.+?)\s*\))\s*;?\s*$/is;

/** The setting of one `PRAGMA [schema.]name = value` (or `name(value)`) statement: its name in lower case and its value as written. */
export function pragmaAssignment(statement: string): { readonly name: string; readonly value: string } | undefined {
  const match = PRAGMA_ASSIGNMENT.exec(statement);
  return match === null ? undefined : { name: match[1]!.toLowerCase(), value: (match[2] ?? match[3]!).trim() };
}

/**
 * Whether every statement of `sql` sets a PRAGMA that leaves nothing on the
 * connection once the transaction it runs in ends: `defer_foreign_keys`
 * (SQLite turns it off at each COMMIT or ROLLBACK) and, inside a transaction
 * (`inTransaction`), `foreign_keys` (a no-op there).
 */
export function leavesNoSetting(sql: string, inTransaction: boolean): boolean {
  for (const { text } of statements(sql)) {
    const name = pragmaAssignment(text)?.name;
    if (name !== 'defer_foreign_keys' && !(inTransaction && name === 'foreign_keys')) return false;
  }
  return true;
}

/** One parameter of a statement, as SQLite numbers it. */
export interface Parameter {
  /** Its index (1-based): `?` takes one more than the largest so far, `?NNN` takes NNN, a name its first index. */
  readonly index: number;
  /** Its name with the prefix (`:id`, `@id`, `$id`), `?NNN` for a numbered one, undefined for a plain `?`. */
  readonly name: string | undefined;
  /** Where its text starts and ends in the SQL. */
  readonly start: number;
  readonly end: number;
}

/**
 * The parameters of `sql` in order of appearance, numbered as SQLite numbers
 * them (strings, quoted names and comments skipped). A repeated name keeps
 * its first index.
 */
export function parameters(sql: string): Parameter[] {
  const found: Parameter[] = [];
  const byName = new Map<string, number>();
  let largest = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    const comment = commentEnd(sql, i);
    if (comment !== undefined) {
      i = comment;
    } else if (isQuote(c)) {
      i = quotedEnd(sql, i);
    } else if (c === '?') {
      let j = i + 1;
      while (j < sql.length && sql[j]! >= '0' && sql[j]! <= '9') j++;
      const digits = sql.slice(i + 1, j);
      const index = digits === '' ? largest + 1 : Number(digits);
      largest = Math.max(largest, index);
      found.push({ index, name: digits === '' ? undefined : `?${digits}`, start: i, end: j });
      i = j;
    } else if ((c === ':' || c === '@' || c === '$') && i + 1 < sql.length && isWordPart(sql[i + 1]!)) {
      let j = i + 1;
      while (j < sql.length && isWordPart(sql[j]!)) j++;
      const name = sql.slice(i, j);
      let index = byName.get(name);
      if (index === undefined) {
        index = ++largest;
        byName.set(name, index);
      }
      found.push({ index, name, start: i, end: j });
      i = j;
    } else if (isWordStart(c)) {
      // A word (which may hold `$` or digits): skipped whole, so `a$b` is not a parameter.
      let j = i + 1;
      while (j < sql.length && isWordPart(sql[j]!)) j++;
      i = j;
    } else {
      i++;
    }
  }
  return found;
}
