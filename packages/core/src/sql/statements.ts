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
  /** Cannot run inside a transaction: VACUUM. */
  | 'standalone'
  | 'other';

/** PRAGMAs whose setting lives on one connection (or, for the strategy's, belongs to the pool). */
const CONNECTION_PRAGMAS = new Set([
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

/**
 * The leading tokens of each statement of `sql` (words upper-cased; quoted
 * names and strings as `"`; comments and whitespace dropped), split where
 * SQLite would end the statements. Empty statements are left out.
 */
export function statementHeads(sql: string): Token[][] {
  const statements: Token[][] = [];
  let current: Token[] = [];
  let state = START;
  const step = (token: number): void => {
    state = TRANSITIONS[state]![token]!;
  };
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (isSpace(c)) {
      i++;
      step(WS);
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? sql.length : end + 1;
      step(WS);
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
      step(WS);
    } else if (c === "'" || c === '"' || c === '`' || c === '[') {
      const close = c === '[' ? ']' : c;
      let j = i + 1;
      for (;;) {
        const k = sql.indexOf(close, j);
        if (k < 0) {
          j = sql.length;
          break;
        }
        // A doubled quote is an escaped quote (not for [brackets]).
        if (close !== ']' && sql[k + 1] === close) {
          j = k + 2;
          continue;
        }
        j = k + 1;
        break;
      }
      i = j;
      if (current.length < KEPT) current.push(c === "'" ? "'" : '"');
      step(OTHER);
    } else if (c === ';') {
      i++;
      step(SEMI);
      if (state === START) {
        if (current.length > 0) statements.push(current);
        current = [];
      }
    } else if (isWordStart(c)) {
      let j = i + 1;
      while (j < sql.length && isWordPart(sql[j]!)) j++;
      const word = sql.slice(i, j).toUpperCase();
      i = j;
      if (current.length < KEPT) current.push(word);
      step(wordClass(word));
    } else {
      i++;
      if (current.length < KEPT) current.push(c);
      step(OTHER);
    }
  }
  if (current.length > 0) statements.push(current);
  return statements;
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
}

const PLAIN: StatementSummary = Object.freeze({
  transaction: undefined,
  savepoint: undefined,
  poolSavepoint: false,
  state: undefined,
  standalone: false,
});
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
  for (const head of statementHeads(sql)) {
    const kind = classify(head);
    const words = (): string => head.slice(0, head[0] === 'PRAGMA' ? 4 : 2).join(' ');
    if (kind === 'transaction') transaction ??= words();
    else if (kind === 'savepoint') {
      savepoint ??= words();
      poolSavepoint ||= head.some((word) => word.startsWith('LITEPOOL_'));
    } else if (kind === 'state') state ??= words();
    else if (kind === 'standalone') standalone = true;
  }
  summary =
    transaction === undefined && savepoint === undefined && state === undefined && !standalone
      ? PLAIN
      : Object.freeze({ transaction, savepoint, poolSavepoint, state, standalone });
  // Bounded: an app that builds SQL text dynamically must not grow this forever.
  if (summaries.size >= 10_000) summaries.clear();
  summaries.set(sql, summary);
  return summary;
}
