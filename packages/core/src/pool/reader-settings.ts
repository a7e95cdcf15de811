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
 */
import type { Op } from '../backend.js';
import { summarize } from '../sql/statements.js';

const SETTING = /^\s*PRAGMA\s+(?:main\s*\.\s*)?(defer_foreign_keys|foreign_keys|read_uncommitted)\s*(?:=|\()/i;

/** What a held setting answers, per operation: nothing ran, nothing changed. */
const ANSWERS: Partial<Record<Op, unknown>> = { run: { changes: 0, lastInsertRowid: 0 }, all: [], values: [] };

/**
 * For `sql`, one of those settings: the answer to give at once (added to
 * `replayed`, the statements run on the writer when the transaction moves
 * there, if it must run there). Undefined for any other SQL.
 */
export function holdSetting(op: Op, sql: string, replayed: string[]): { readonly answer: unknown } | undefined {
  if (op === 'iterate' || summarize(sql).script) return undefined;
  const name = SETTING.exec(sql)?.[1]?.toLowerCase();
  if (name === undefined) return undefined;
  if (name === 'defer_foreign_keys') replayed.push(sql);
  return { answer: ANSWERS[op] };
}
