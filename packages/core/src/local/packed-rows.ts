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

/** Makes the row whose values start at `at` in `values`. */
type RowMaker = (values: readonly unknown[], at: number) => Record<string, unknown>;

/**
 * A row maker per column list, as an object literal: the row is made in one
 * step with its properties in place, 5-8x faster than adding them one by one
 * (1,300 rows of 2 to 12 columns: 5-19 µs against 32-162 µs, Node 24), and
 * the calling thread is where every answer waits. (better-sqlite3 makes its
 * own rows the same way, so a runtime that refuses code from strings runs
 * neither.)
 */
const makers = new Map<string, RowMaker>();
/** Column lists kept (a new one beyond them starts the map again). */
const MAX_MAKERS = 256;
/** Wider rows are made property by property (an object literal that wide gains nothing). */
const MAX_LITERAL_WIDTH = 64;

/**
 * The maker for `keys`: an object literal, made once per column list; for
 * rows wider than {@link MAX_LITERAL_WIDTH}, and with a `__proto__` column
 * (which a literal would make the prototype), one that assigns each property,
 * as better-sqlite3 does then (on Node that sets no `__proto__`; Deno, which
 * has no `__proto__` accessor, keeps it as a property).
 */
function makerFor(keys: readonly string[]): RowMaker {
  if (keys.length > MAX_LITERAL_WIDTH || keys.includes('__proto__')) return assigning(keys);
  const id = JSON.stringify(keys);
  let maker = makers.get(id);
  if (maker === undefined) {
    // Each name is written as a JSON string, which is a JavaScript string literal: no column name can break out of it.
    const body = `return { ${keys.map((key, k) => `${JSON.stringify(key)}: values[at + ${k}]`).join(', ')} };`;
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- code made of escaped column names only (see above)
    maker = new Function('values', 'at', body) as RowMaker;
    if (makers.size >= MAX_MAKERS) makers.clear();
    makers.set(id, maker);
  }
  return maker;
}

/** A maker that adds the properties one by one. */
function assigning(keys: readonly string[]): RowMaker {
  return (values, at) => {
    const row: Record<string, unknown> = {};
    for (let k = 0; k < keys.length; k++) row[keys[k]!] = values[at + k];
    return row;
  };
}

/** The rows {@link packRows} packed, as objects with the same own properties in the same order, made as better-sqlite3 makes its own. */
export function unpackRows([keys, values]: PackedRows): Record<string, unknown>[] {
  const width = keys.length;
  const make = makerFor(keys);
  const rows = new Array<Record<string, unknown>>(values.length / width);
  for (let r = 0, at = 0; r < rows.length; r++, at += width) rows[r] = make(values, at);
  return rows;
}
