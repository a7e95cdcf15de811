/**
 * Public pool options, their frozen defaults, and validation with exact
 * messages. Unknown or misspelled keys are rejected with a suggestion.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { ResourceLimits } from 'node:worker_threads';
import { OptionsError } from '../errors.js';
import type { PragmaValue, Strategy, StrategyConfig } from '../strategy.js';

/** Options of {@link createPool}. Only `filename` is required. */
export interface PoolOptions {
  /** Path of the database file; created if missing. `:memory:` is refused: it cannot be shared between threads. */
  filename: string;
  /**
   * How access is coordinated: an instance (`wal({ … })`), a name (`'wal'`),
   * or a config object (`{ name: 'wal', … }`). Names and configs are loaded
   * from `@litepool/strategies`. Default: `'wal'`, or `'file-lock'` when the
   * database is on a network or FUSE filesystem.
   */
  strategy?: Strategy | string | StrategyConfig;
  /** Read-only reader threads. 0 runs reads on the writer. Default: `min(4, availableParallelism())`. */
  readers?: number;
  /** Longest wait for a connection (queued one-shot calls, transactions, leases) before `ERR_ACQUIRE_TIMEOUT`. Default: 30000. */
  acquireTimeoutMs?: number;
  /** Most requests waiting for a connection before new ones fail with `ERR_QUEUE_FULL`. Default: `Infinity`. */
  maxQueue?: number;
  /** SQLite's busy timeout on every connection, in ms. Default: 5000 (better-sqlite3's default). */
  busyTimeoutMs?: number;
  /** PRAGMAs run on every connection when it opens, e.g. `{ synchronous: 'FULL' }`. Default: none. */
  pragmas?: Readonly<Record<string, PragmaValue>>;
  /** Return INTEGER columns as `bigint` (better-sqlite3's safeIntegers). Default: false. */
  safeIntegers?: boolean;
  /** Most one-shot requests sent to a worker in one message. Default: 256. */
  maxBatch?: number;
  /** Rows per message when streaming with `iterate()`. Default: 256. */
  iterateChunkRows?: number;
  /** V8 heap limits of each worker thread (Node's `ResourceLimits`). Default: Node's defaults. */
  workerResourceLimits?: ResourceLimits;
}

/** Options after defaults and validation. */
export interface ResolvedPoolOptions {
  readonly filename: string;
  readonly strategy: Strategy | string | StrategyConfig | undefined;
  readonly readers: number;
  readonly acquireTimeoutMs: number;
  readonly maxQueue: number;
  readonly busyTimeoutMs: number;
  readonly pragmas: Readonly<Record<string, PragmaValue>>;
  readonly safeIntegers: boolean;
  readonly maxBatch: number;
  readonly iterateChunkRows: number;
  readonly workerResourceLimits: ResourceLimits | undefined;
}

/** The documented defaults, frozen. `readers` depends on the machine: see {@link defaultReaders}. */
export const DEFAULTS = Object.freeze({
  acquireTimeoutMs: 30_000,
  maxQueue: Number.POSITIVE_INFINITY,
  busyTimeoutMs: 5_000,
  safeIntegers: false,
  maxBatch: 256,
  iterateChunkRows: 256,
});

/** The default reader count: `min(4, availableParallelism())`. */
export function defaultReaders(): number {
  return Math.min(4, availableParallelism());
}

const KNOWN_KEYS: readonly (keyof PoolOptions)[] = [
  'filename',
  'strategy',
  'readers',
  'acquireTimeoutMs',
  'maxQueue',
  'busyTimeoutMs',
  'pragmas',
  'safeIntegers',
  'maxBatch',
  'iterateChunkRows',
  'workerResourceLimits',
];

const RESOURCE_LIMIT_KEYS = ['maxYoungGenerationSizeMb', 'maxOldGenerationSizeMb', 'codeRangeSizeMb', 'stackSizeMb'];
const PRAGMA_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PRAGMA_WORD = /^-?[A-Za-z0-9_.]+$/;

/** A short, exact rendering of a bad value for messages. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}

/** The known key closest to `key`, when it is a likely misspelling. */
export function suggest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
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

/** Rejects keys of `object` not in `known`, naming the closest known key. */
export function rejectUnknownKeys(object: object, known: readonly string[], where: string): void {
  for (const key of Object.keys(object)) {
    if (known.includes(key)) continue;
    const hint = suggest(key, known);
    throw new OptionsError(`Unknown option ${where}.${key}${hint === undefined ? '' : `; did you mean ${where}.${hint}?`}`);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Validates an integer option in `[min, ∞)`; `Infinity` only when `allowInfinity`. */
export function integerOption(where: string, value: unknown, fallback: number, min: number, allowInfinity = false): number {
  if (value === undefined) return fallback;
  const ok =
    typeof value === 'number' &&
    value >= min &&
    (Number.isInteger(value) || (allowInfinity && value === Number.POSITIVE_INFINITY));
  if (!ok) {
    throw new OptionsError(
      `${where} must be an integer >= ${min}${allowInfinity ? ' or Infinity' : ''}, got ${describe(value)}`,
    );
  }
  return value;
}

function validatePragmas(value: unknown): Readonly<Record<string, PragmaValue>> {
  if (value === undefined) return Object.freeze({});
  if (!isPlainObject(value)) {
    throw new OptionsError(`options.pragmas must be an object of PRAGMA names to values, got ${describe(value)}`);
  }
  const pragmas: Record<string, PragmaValue> = {};
  for (const [name, raw] of Object.entries(value)) {
    if (!PRAGMA_NAME.test(name)) throw new OptionsError(`options.pragmas has an invalid PRAGMA name ${describe(name)}`);
    if (name.toLowerCase() === 'journal_mode') {
      throw new OptionsError(
        'options.pragmas.journal_mode is chosen by the strategy; pick a strategy instead (wal, mutex, single-writer, file-lock)',
      );
    }
    const ok =
      typeof raw === 'boolean' ||
      (typeof raw === 'number' && Number.isFinite(raw)) ||
      (typeof raw === 'string' && PRAGMA_WORD.test(raw));
    if (!ok) {
      throw new OptionsError(
        `options.pragmas.${name} must be a finite number, a boolean or a bare word such as FULL, got ${describe(raw)}`,
      );
    }
    pragmas[name] = raw as PragmaValue;
  }
  return Object.freeze(pragmas);
}

function validateResourceLimits(value: unknown): ResourceLimits | undefined {
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) {
    throw new OptionsError(`options.workerResourceLimits must be an object, got ${describe(value)}`);
  }
  rejectUnknownKeys(value, RESOURCE_LIMIT_KEYS, 'options.workerResourceLimits');
  for (const key of RESOURCE_LIMIT_KEYS) {
    const limit = value[key];
    if (limit !== undefined && !(typeof limit === 'number' && Number.isFinite(limit) && limit > 0)) {
      throw new OptionsError(`options.workerResourceLimits.${key} must be a number > 0, got ${describe(limit)}`);
    }
  }
  return Object.freeze({ ...value }) as ResourceLimits;
}

function validateStrategy(value: unknown): Strategy | string | StrategyConfig | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') {
    if (value.length === 0) throw new OptionsError('options.strategy must not be an empty string');
    return value;
  }
  if (typeof value === 'object' && value !== null && typeof (value as { name?: unknown }).name === 'string') {
    return value as Strategy | StrategyConfig;
  }
  throw new OptionsError(
    `options.strategy must be a strategy instance, a name such as "wal", or a config object { name: "wal", … }, got ${describe(value)}`,
  );
}

/** Validates `options` and fills in defaults. Throws {@link OptionsError} with an exact message. */
export function resolveOptions(options: unknown): ResolvedPoolOptions {
  if (!isPlainObject(options)) throw new OptionsError(`options must be an object, got ${describe(options)}`);
  rejectUnknownKeys(options, KNOWN_KEYS, 'options');
  const { filename } = options;
  if (typeof filename !== 'string' || filename.length === 0) {
    throw new OptionsError(`options.filename must be a non-empty string, got ${describe(filename)}`);
  }
  if (filename === ':memory:' || filename.startsWith('file:')) {
    throw new OptionsError(
      `options.filename ${describe(filename)} is not supported: each worker thread opens its own connection, so the database must be a file path`,
    );
  }
  if (options.safeIntegers !== undefined && typeof options.safeIntegers !== 'boolean') {
    throw new OptionsError(`options.safeIntegers must be a boolean, got ${describe(options.safeIntegers)}`);
  }
  const { acquireTimeoutMs } = options;
  if (
    acquireTimeoutMs !== undefined &&
    !(typeof acquireTimeoutMs === 'number' && acquireTimeoutMs > 0 && !Number.isNaN(acquireTimeoutMs))
  ) {
    throw new OptionsError(`options.acquireTimeoutMs must be a number > 0 (Infinity allowed), got ${describe(acquireTimeoutMs)}`);
  }
  return Object.freeze({
    filename: resolve(filename),
    strategy: validateStrategy(options.strategy),
    readers: integerOption('options.readers', options.readers, defaultReaders(), 0),
    acquireTimeoutMs: acquireTimeoutMs ?? DEFAULTS.acquireTimeoutMs,
    maxQueue: integerOption('options.maxQueue', options.maxQueue, DEFAULTS.maxQueue, 0, true),
    busyTimeoutMs: integerOption('options.busyTimeoutMs', options.busyTimeoutMs, DEFAULTS.busyTimeoutMs, 0),
    pragmas: validatePragmas(options.pragmas),
    safeIntegers: (options.safeIntegers as boolean | undefined) ?? DEFAULTS.safeIntegers,
    maxBatch: integerOption('options.maxBatch', options.maxBatch, DEFAULTS.maxBatch, 1),
    iterateChunkRows: integerOption('options.iterateChunkRows', options.iterateChunkRows, DEFAULTS.iterateChunkRows, 1),
    workerResourceLimits: validateResourceLimits(options.workerResourceLimits),
  });
}
