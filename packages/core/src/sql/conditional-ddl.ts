/**
 * Schema changes that SQLite may find it has nothing to do for: `CREATE …
 * IF NOT EXISTS` of an object that exists, `DROP … IF EXISTS` of one that
 * does not. SQLite runs such a no-op under a read lock alone, so it succeeds
 * while another connection's transaction holds the write lock, where
 * sending it to the writer would wait for that transaction (ORMs and
 * migration tools run them at every start). A reader, opened read-only,
 * runs it: the no-op succeeds there as in SQLite (on the schema SQLite
 * checks as it runs: a statement compiled against an older schema is
 * compiled again), and one that has something to do fails with
 * SQLITE_READONLY before it changes anything and goes to the writer.
 */

/** The statement's head, with the object's name not in the TEMP schema (a TEMP object is made on the connection that runs it). */
const CONDITIONAL_DDL =
  /^\s*(?:CREATE\s+(?:UNIQUE\s+)?(?:TABLE|INDEX|VIEW|TRIGGER)\s+IF\s+NOT\s+EXISTS|DROP\s+(?:TABLE|INDEX|VIEW|TRIGGER)\s+IF\s+EXISTS)\s+(?!["`[]?temp["`\]]?\s*\.)/i;

/** Whether `sql` (one statement) is a `CREATE … IF NOT EXISTS` or `DROP … IF EXISTS` of a table, index, view or trigger outside TEMP. */
export function mayBeNoOp(sql: string): boolean {
  return CONDITIONAL_DDL.test(sql);
}
