/**
 * The benchmark's procedures module: loaded by every worker thread of a
 * litepool subject (`createPool({ procedures })`), called with `pool.call`.
 */
import type Database from 'better-sqlite3';

interface CounterStatements {
  readonly select: Database.Statement<[number], { n: number }>;
  readonly update: Database.Statement<[number, number]>;
}

/** Statements prepared once per connection, as the raw subjects keep theirs (a reopened connection prepares anew). */
const prepared = new WeakMap<Database.Database, CounterStatements>();

/** The rmw-counter increment, next to the data: read, add one, write, in the writer's transaction. */
export function increment(db: Database.Database, id: number): void {
  let statements = prepared.get(db);
  if (statements === undefined) {
    statements = {
      select: db.prepare<[number], { n: number }>('SELECT n FROM counter WHERE id = ?'),
      update: db.prepare<[number, number]>('UPDATE counter SET n = ? WHERE id = ?'),
    };
    prepared.set(db, statements);
  }
  const { n } = statements.select.get(id)!;
  statements.update.run(n + 1, id);
}
