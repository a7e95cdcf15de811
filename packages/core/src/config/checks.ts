/**
 * The checks every options object goes through (the pool's, a call's, a
 * session's, a backup's, a strategy's, a backend's): one error class
 * (`OptionsError`), one message shape (`<where>.<key> must be …, got …`),
 * unknown keys refused with the nearest known one suggested.
 */
import { OptionsError } from '../errors.js';

/** The longest delay a Node timer takes (about 24.8 days): the bound of every time option. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A short, exact rendering of a bad value for messages. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** The known name closest to `name`, when it is a likely misspelling. */
export function suggest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    // Close enough: a few edits for the longer of the two names (a missing unit suffix, `timout` for `timeoutMs`, counts).
    const score = distance / Math.max(name.length, candidate.length);
    if (distance <= Math.max(2, Math.floor(Math.max(name.length, candidate.length) / 3)) && score < bestScore) {
      best = candidate;
      bestScore = score;
    }
  }
  return best;
}

/** Whether `value` is a plain object (not an array, a class instance or null). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Refuses keys of `object` not in `known`, naming the closest known key. */
export function rejectUnknownKeys(object: object, known: readonly string[], where: string): void {
  for (const key of Object.keys(object)) {
    if (known.includes(key)) continue;
    const hint = suggest(key, known);
    throw new OptionsError(`Unknown option ${where}.${key}${hint === undefined ? '' : `; did you mean ${where}.${hint}?`}`);
  }
}

/**
 * An options object: undefined becomes `{}`; anything but a plain object, or
 * a key not in `known`, is refused.
 */
export function optionsObject(where: string, value: unknown, known: readonly string[]): Record<string, unknown> {
  if (value === undefined) return {};
  if (!isPlainObject(value)) throw new OptionsError(`${where} must be an object, got ${describe(value)}`);
  rejectUnknownKeys(value, known, where);
  return value;
}

/** Optional bounds of {@link integerOption}. */
export interface IntegerRange {
  /** Largest value allowed. Default: `Number.MAX_SAFE_INTEGER`. */
  readonly max?: number;
  /** Whether `Infinity` is allowed (meaning no limit). Default: false. */
  readonly infinity?: boolean;
}

/** An integer option in `[min, max]` (or `Infinity`, when allowed); `fallback` when undefined. */
export function integerOption(where: string, value: unknown, fallback: number, min: number, range: IntegerRange = {}): number {
  if (value === undefined) return fallback;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  const infinity = range.infinity === true;
  const ok =
    typeof value === 'number' &&
    ((Number.isInteger(value) && value >= min && value <= max) || (infinity && value === Number.POSITIVE_INFINITY));
  if (!ok) {
    const bound = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new OptionsError(`${where} must be an integer ${bound}${infinity ? ' or Infinity' : ''}, got ${describe(value)}`);
  }
  return value;
}

/** A time option in ms, from `min` to {@link MAX_TIMER_MS}; `fallback` when undefined. */
export function msOption(where: string, value: unknown, fallback: number, min = 0, infinity = false): number {
  return integerOption(where, value, fallback, min, { max: MAX_TIMER_MS, infinity });
}

/** A boolean option; `fallback` when undefined. */
export function booleanOption(where: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new OptionsError(`${where} must be true or false, got ${describe(value)}`);
  return value;
}

/** One of `allowed` (compared as given); `fallback` when undefined. */
export function enumOption<T extends string>(where: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new OptionsError(`${where} must be one of ${allowed.map((name) => JSON.stringify(name)).join(', ')}, got ${describe(value)}`);
  }
  return value as T;
}

/** A function option, if given. */
export function functionOption<T extends (...args: never[]) => unknown>(where: string, value: unknown): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw new OptionsError(`${where} must be a function, got ${describe(value)}`);
  return value as T;
}

/** An AbortSignal option, if given. */
export function signalOption(where: string, value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) throw new OptionsError(`${where} must be an AbortSignal, got ${describe(value)}`);
  return value;
}

/** A non-empty string option, if given. */
export function stringOption(where: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0)
    throw new OptionsError(`${where} must be a non-empty string, got ${describe(value)}`);
  return value;
}
