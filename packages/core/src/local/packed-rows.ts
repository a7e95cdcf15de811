/**
 * Many rows cross from a worker to the calling thread as the column names
 * once and one flat array of the values, and become objects again there.
 * Reading a structured clone of objects costs that thread 2-4x what reading
 * the flat values and making the objects does (1,300 rows of two columns, a
 * batch of 13 range reads: 0.43-0.97 ms against 0.23), and every answer waits
 * on that thread (docs/benchmarks.md, "Latest results"). Rows that hold a
 * BLOB keep the object form: their Uint8Arrays become Buffers on the way in.
 */

/** Below this many rows, objects cross as they are. */
export const PACK_MIN_ROWS = 16;

/** Rows packed: the column names, then each row's values in that order, row after row. */
export type PackedRows = readonly [keys: readonly string[], values: readonly unknown[]];

/**
 * `rows` (one statement's, so of one shape) packed; undefined when there are
 * fewer than {@link PACK_MIN_ROWS}, or a value is an object (a BLOB).
 */
export function packRows(rows: readonly unknown[]): PackedRows | undefined {
  const first = rows[0];
  if (rows.length < PACK_MIN_ROWS || typeof first !== 'object' || first === null || Array.isArray(first)) return undefined;
  const keys = Object.keys(first);
  const width = keys.length;
  if (width === 0) return undefined;
  const values = new Array<unknown>(rows.length * width);
  let at = 0;
  for (const row of rows as readonly Record<string, unknown>[]) {
    for (let k = 0; k < width; k++) {
      const value = row[keys[k]!];
      if (typeof value === 'object' && value !== null) return undefined;
      values[at++] = value;
    }
  }
  return [keys, values];
}

/**
 * The rows {@link packRows} packed, as objects with the same own properties in
 * the same order (the keys are a row's own, so never `__proto__`).
 */
export function unpackRows([keys, values]: PackedRows): Record<string, unknown>[] {
  const width = keys.length;
  const rows = new Array<Record<string, unknown>>(values.length / width);
  for (let r = 0, at = 0; r < rows.length; r++) {
    const row: Record<string, unknown> = {};
    for (let k = 0; k < width; k++) row[keys[k]!] = values[at++];
    rows[r] = row;
  }
  return rows;
}
