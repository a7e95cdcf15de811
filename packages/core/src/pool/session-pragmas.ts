/**
 * The PRAGMAs a session holds as its own settings: which it may hold, how a
 * `PRAGMA x = y` run through it reads, and which SQLite answers with their
 * new value when set.
 */
import { describe, suggest } from '../config/checks.js';
import { CONNECTION_PRAGMAS } from '../sql/statements.js';
import type { PragmaValue } from '../strategy.js';

/** Connection-scoped PRAGMAs a session may not hold: the strategy's, and process-wide ones. */
const NOT_PER_SESSION = new Set([
  'journal_mode',
  'locking_mode',
  'data_store_directory',
  'temp_store_directory',
  'soft_heap_limit',
  'hard_heap_limit',
]);
/** Session PRAGMAs that SQLite answers with their new value when set (the rest answer no row). */
export const ANSWERS_WHEN_SET: ReadonlySet<string> = new Set([
  'analysis_limit',
  'busy_timeout',
  'journal_size_limit',
  'max_page_count',
  'mmap_size',
  'secure_delete',
  'threads',
  'wal_autocheckpoint',
]);
const PRAGMA_WORD = /^-?[A-Za-z0-9_.]+$/;
/** A PRAGMA value as written in SQL: a quoted string unquoted, numbers as numbers, ON/OFF as booleans. */
export function pragmaValue(text: string): PragmaValue {
  const unquoted = /^'(.*)'$|^"(.*)"$/s.exec(text);
  const value = unquoted === null ? text : (unquoted[1] ?? unquoted[2]!);
  if (/^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  if (/^(on|true|yes)$/i.test(value)) return true;
  if (/^(off|false|no)$/i.test(value)) return false;
  return value;
}

/** Checks one PRAGMA a session is to hold; throws `error(message)` when it may not. */
export function checkPragma(name: string, value: unknown, error: (message: string) => Error): void {
  const lower = name.toLowerCase();
  if (NOT_PER_SESSION.has(lower)) {
    throw error(
      `PRAGMA ${name} cannot be a session's own: ${lower === 'journal_mode' || lower === 'locking_mode' ? 'the strategy chooses it' : 'it applies to the whole process'}`,
    );
  }
  if (!CONNECTION_PRAGMAS.has(lower)) {
    const hint = suggest(lower, [...CONNECTION_PRAGMAS]);
    throw error(
      `PRAGMA ${name} is not a connection-scoped PRAGMA a session can hold${hint === undefined ? '' : `; did you mean ${hint}?`}`,
    );
  }
  const ok =
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value)) ||
    (typeof value === 'string' && PRAGMA_WORD.test(value));
  if (!ok) throw error(`PRAGMA ${name} must be a finite number, a boolean or a bare word, got ${describe(value)}`);
}
