/**
 * node-sqlite3's parameter binding, reproduced on better-sqlite3: values bind
 * by SQLite's own parameter numbers, from an array (value i to index i + 1),
 * from spread arguments, or from an object (keys with their prefix, `$id`,
 * or by number, `{ 1: … }`); missing values bind NULL; more values than
 * parameters fail with SQLITE_RANGE. Each statement's parameters become plain
 * `?` in order of appearance, bound positionally, so every form better-sqlite3
 * refuses (named placeholders from an array, gaps like `?2, ?4`, too few
 * values) works as it does in node-sqlite3.
 */
import { parameters, type BindValue, type Params } from '../../index.js';
import { sqlite3Error } from './error-shape.js';

/** A statement rewritten for positional binding: `indexes[k]` is SQLite's number of its k-th placeholder. */
interface Plan {
  readonly sql: string;
  readonly indexes: readonly number[];
  readonly names: readonly (string | undefined)[];
  readonly max: number;
}

const plans = new Map<string, Plan>();

function plan(sql: string): Plan {
  let found = plans.get(sql);
  if (found !== undefined) return found;
  const tokens = parameters(sql);
  let text = '';
  let at = 0;
  for (const token of tokens) {
    text += `${sql.slice(at, token.start)}?`;
    at = token.end;
  }
  found = {
    sql: tokens.length === 0 ? sql : text + sql.slice(at),
    indexes: tokens.map((token) => token.index),
    names: tokens.map((token) => token.name),
    max: tokens.reduce((max, token) => Math.max(max, token.index), 0),
  };
  // Bounded: an app that builds SQL text dynamically must not grow this forever.
  if (plans.size >= 10_000) plans.clear();
  plans.set(sql, found);
  return found;
}

/**
 * A value as node-sqlite3 binds it: undefined (and a symbol) as NULL,
 * booleans and 32-bit integers as INTEGER, other numbers as REAL, Dates as
 * milliseconds, a RegExp as its text, a typed array's bytes as a BLOB, and
 * any other object or function as the text '[object Object]' (node-sqlite3
 * never calls its toString).
 */
export function bindValue(value: unknown): BindValue {
  if (value === undefined || value === null || typeof value === 'symbol') return null;
  // node-sqlite3 binds a number that fits 32 bits (and a boolean) as an INTEGER, any other as a REAL.
  if (typeof value === 'boolean') return value ? 1n : 0n;
  if (typeof value === 'number') return (value | 0) === value ? BigInt(value) : value;
  if (typeof value === 'string') return flat(value);
  if (typeof value === 'bigint' || value instanceof Uint8Array) return value;
  if (value instanceof Date) return value.getTime();
  if (value instanceof RegExp) return String(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return '[object Object]';
}

const START = /^/;

/**
 * `text` made one flat string. A string built by appending (`s += c`) is a
 * chain of pieces in V8, ~25 bytes a character; a call queued behind others
 * holds its values until it runs (node-sqlite3 copies them at once), and a
 * million queued inserts of such text held 1.5 GB of pieces. A RegExp match
 * flattens its subject (an anchored one costs ~20 ns on a flat string).
 */
function flat(text: string): string {
  START.test(text);
  return text;
}

function isBindObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    // Any typed array or DataView is a value (its bytes, a BLOB), as node-sqlite3 takes it, not an object of named values.
    !ArrayBuffer.isView(value) &&
    !(value instanceof Date) &&
    !(value instanceof RegExp)
  );
}

/**
 * The SQL and positional values to run `sql` with `args` (the parameter
 * arguments of a node-sqlite3 call: none, `undefined`, one array, one object,
 * or the values spread). Throws node-sqlite3's SQLITE_RANGE error for more
 * values than parameters.
 */
export function bindArguments(sql: string, args: readonly unknown[]): { sql: string; params: Params | undefined } {
  const { sql: rewritten, indexes, names, max } = plan(sql);
  const [first] = args;
  if (args.length === 0 || (args.length === 1 && first === undefined)) {
    return { sql: rewritten, params: indexes.length === 0 ? undefined : indexes.map(() => null) };
  }
  if (args.length === 1 && isBindObject(first)) {
    // Named values: every key must name a parameter with its prefix (`$id`, not `id`) or number one, as in node-sqlite3.
    const known = new Set<string>();
    indexes.forEach((index, k) => known.add(String(index)).add(names[k] ?? String(index)));
    for (const key of Object.keys(first)) if (!known.has(key)) throw sqlite3Error('RANGE', 'column index out of range');
    const params = indexes.map((index, k) => {
      const name = names[k];
      return bindValue(name === undefined ? first[String(index)] : (first[name] ?? first[String(index)]));
    });
    return { sql: rewritten, params: params.length === 0 ? undefined : params };
  }
  const values = args.length === 1 && Array.isArray(first) ? (first as unknown[]) : args;
  if (values.length > max) throw sqlite3Error('RANGE', 'column index out of range');
  return { sql: rewritten, params: indexes.length === 0 ? undefined : indexes.map((index) => bindValue(values[index - 1])) };
}
