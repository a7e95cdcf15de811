/** What node-sqlite3's `map` makes of rows. */
import type { Row } from '../../index.js';

/** Rows keyed by their first column: the value is the second column, or the whole row when it has more. */
export function toMap(rows: readonly Row[]): Record<string, unknown> {
  const map: Record<string, unknown> = {};
  const [first] = rows;
  if (first === undefined) return map;
  const [key, value] = Object.keys(first);
  const whole = Object.keys(first).length > 2;
  for (const row of rows) map[String(row[key!])] = whole ? row : value === undefined ? undefined : row[value];
  return map;
}
