/**
 * The benchmark's procedures module: loaded by every worker thread of a
 * litepool subject (`createPool({ procedures })`), called with `pool.call`.
 */
import type Database from 'better-sqlite3';

/** The rmw-counter increment, next to the data: read, add one, write, in the writer's transaction. */
export function increment(db: Database.Database, id: number): void {
  const { n } = db.prepare('SELECT n FROM counter WHERE id = ?').get(id) as { n: number };
  db.prepare('UPDATE counter SET n = ? WHERE id = ?').run(n + 1, id);
}
