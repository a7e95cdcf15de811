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
import { pragmaAssignment, summarize } from '../sql/statements.js';

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
