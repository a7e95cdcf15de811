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
    // A function given first (not last, where it is the callback) is an object of names too: its enumerable keys.
    (typeof value === 'function' || (typeof value === 'object' && value !== null)) &&
    !Array.isArray(value) &&
    // Any typed array or DataView is a value (its bytes, a BLOB), as node-sqlite3 takes it, not an object of named values.
    !ArrayBuffer.isView(value) &&
    !(value instanceof Date) &&
    !(value instanceof RegExp)
  );
}

/** node-sqlite3's reading of a call's parameter arguments. */
type ArgumentForm =
  | { readonly named: true; readonly object: Record<string, unknown>; readonly keys: readonly string[] }
  | { readonly named: false; readonly values: readonly unknown[] };

/**
 * An array first: its values, the arguments after it ignored; an object of
 * named values first: its keys (enumerable, inherited ones too, in `for…in`
 * order), the rest ignored; else every argument a value, as in node-sqlite3.
 */
function formOf(args: readonly unknown[]): ArgumentForm {
  const [first] = args;
  if (Array.isArray(first)) return { named: false, values: first as unknown[] };
  if (!isBindObject(first)) return { named: false, values: args };
  const keys: string[] = [];
  for (const key in first) keys.push(key);
  return { named: true, object: first, keys };
}

/** A value node-sqlite3 leaves out of a binding (its parameter stays NULL), so one with no parameter is no error. */
const leftOut = (value: unknown): boolean => value === undefined || typeof value === 'symbol';

/** The parameter number a named value's key binds: its number (an integer key), else the parameter of that name. */
function numberOf(plan: Plan, key: string): number {
  const n = Number(key);
  if (key !== '' && (n | 0) === n) return n;
  const k = plan.names.indexOf(key);
  return k < 0 ? 0 : plan.indexes[k]!;
}

/**
 * The values of `form` by parameter number, bound in order as node-sqlite3
 * binds them, and how many of its values bound before one named no
 * parameter (`failedAt`; undefined: none failed).
 */
function bindForm(plan: Plan, form: ArgumentForm): { byNumber: BindValue[]; failedAt: number | undefined } {
  const byNumber: BindValue[] = [];
  const count = form.named ? form.keys.length : form.values.length;
  for (let i = 0; i < count; i++) {
    const key = form.named ? form.keys[i]! : '';
    const value = form.named ? form.object[key] : form.values[i];
    if (leftOut(value)) continue;
    const n = form.named ? numberOf(plan, key) : i + 1;
    if (n < 1 || n > plan.max) return { byNumber, failedAt: i };
    byNumber[n] = bindValue(value);
  }
  return { byNumber, failedAt: undefined };
}

/**
 * Whether `args` bind nothing (none; an empty array; an object without
 * keys): node-sqlite3 then keeps the values bound before, and a statement's
 * `get` goes on to its next row.
 */
export function bindsNothing(args: readonly unknown[]): boolean {
  const [first] = args;
  if (args.length === 0) return true;
  if (Array.isArray(first)) return first.length === 0;
  if (!isBindObject(first)) return false;
  // Without formOf's allocation: this runs on every call of a prepared statement.
  for (const _key in first) return false;
  return true;
}

/**
 * The arguments that stay bound to a prepared statement after binding `args`
 * failed with SQLITE_RANGE: node-sqlite3 clears the statement's values, then
 * binds the new ones in order until one has no parameter, so those before it
 * stay bound for its later calls.
 */
export function argumentsKept(sql: string, args: readonly unknown[]): unknown[] {
  const form = formOf(args);
  const kept = bindForm(plan(sql), form).failedAt;
  if (!form.named) return [form.values.slice(0, kept)];
  const keys = form.keys.slice(0, kept);
  return [Object.fromEntries(keys.map((key) => [key, form.object[key]]))];
}

/**
 * The SQL and positional values to run `sql` with `args` (the parameter
 * arguments of a node-sqlite3 call: none, `undefined`, an array, an object,
 * or the values spread). Throws node-sqlite3's SQLITE_RANGE error for a
 * value with no parameter (beyond the last, or a key that names none).
 */
export function bindArguments(sql: string, args: readonly unknown[]): { sql: string; params: Params | undefined } {
  const found = plan(sql);
  const { sql: rewritten, indexes } = found;
  if (args.length === 0 || (args.length === 1 && args[0] === undefined)) {
    return { sql: rewritten, params: indexes.length === 0 ? undefined : indexes.map(() => null) };
  }
  const [first] = args;
  if (!isBindObject(first)) {
    // Positional values, all with a parameter (the usual call): bound by number without the general reading below.
    const values = Array.isArray(first) ? (first as unknown[]) : args;
    if (values.length <= found.max) {
      return { sql: rewritten, params: indexes.length === 0 ? undefined : indexes.map((index) => bindValue(values[index - 1])) };
    }
  }
  const { byNumber, failedAt } = bindForm(found, formOf(args));
  if (failedAt !== undefined) throw sqlite3Error('RANGE', 'column index out of range');
  return { sql: rewritten, params: indexes.length === 0 ? undefined : indexes.map((index) => byNumber[index] ?? null) };
}
