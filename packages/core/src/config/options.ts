/**
 * Public pool options, their frozen defaults, and validation with exact
 * messages. Unknown or misspelled keys are rejected with a suggestion.
 */
import { availableParallelism } from 'node:os';
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ResourceLimits } from 'node:worker_threads';
import { isBackend, type Backend } from '../backend.js';
import { OptionsError } from '../errors.js';
import { booleanOption, describe, integerOption, isPlainObject, msOption, optionsObject, suggest } from './checks.js';
import type { PragmaValue, Strategy, StrategyConfig } from '../strategy.js';
import { knownPragmas, WIDE_PRAGMAS } from './pragmas.js';

/** Options of {@link createPool}. Only `filename` is required (or `backend`). */
export interface PoolOptions {
  /**
   * Path of the database file; created if missing (its directory must exist).
   * `:memory:` is refused: it cannot be shared between threads. Required
   * unless `backend` is given.
   */
  filename?: string;
  /**
   * Another kind of connection than the local file's worker threads: a
   * dqlite cluster (`dqlite({ servers, database })` from `@litepool/dqlite`).
   * The pool's API stays the same; `filename`, `strategy`, `setup` and
   * `procedures` do not apply.
   */
  backend?: Backend;
  /**
   * How access is coordinated: an instance (`wal({ … })`), a name (`'wal'`),
   * or a config object (`{ name: 'wal', … }`). Default: `'single-writer'`, or
   * `'file-lock'` when the database is on a network or FUSE filesystem.
   */
  strategy?: Strategy | string | StrategyConfig;
  /** Read-only reader threads, 0 to 64. 0 runs reads on the writer. Default: `min(4, availableParallelism())`. */
  readers?: number;
  /** Longest wait for a connection (queued one-shot calls, transactions, leases) before `ERR_ACQUIRE_TIMEOUT`, in ms. `Infinity` allowed. Default: 30000. */
  acquireTimeoutMs?: number;
  /**
   * Longest time one statement may run once started, in ms, before it is
   * interrupted and fails with `ERR_STATEMENT_TIMEOUT` (a call can set its
   * own with `{ timeoutMs }`). 0: no limit. Default: 60000.
   */
  statementTimeoutMs?: number;
  /** Most requests waiting for a connection (at least 1) before new ones fail with `ERR_QUEUE_FULL`. Default: `Infinity`. */
  maxQueue?: number;
  /** SQLite's busy timeout on every connection, in ms. Default: 5000 (better-sqlite3's default). */
  busyTimeoutMs?: number;
  /**
   * PRAGMAs run on every connection when it opens, e.g. `{ synchronous: 'FULL' }`.
   * Names are checked against SQLite's own `pragma_list`. Default: none.
   */
  pragmas?: Readonly<Record<string, PragmaValue>>;
  /** Return INTEGER columns as `bigint` (better-sqlite3's safeIntegers). Default: false. */
  safeIntegers?: boolean;
  /** Most one-shot requests sent to a worker in one message, 1 to 10000. Default: 256. */
  maxBatch?: number;
  /** Rows per message when streaming with `iterate()`, 1 to 100000. Default: 256. */
  iterateChunkRows?: number;
  /** V8 heap limits of each worker thread (Node's `ResourceLimits`). Default: Node's defaults. */
  workerResourceLimits?: ResourceLimits;
  /**
   * A lease or transaction held longer than this, in ms, is reported once as
   * a `warning` event (code `LITEPOOL_LEASE_HELD`) with the stack of the call
   * that took it. 0: off (capturing the stack costs a few microseconds per
   * lease). Default: 0.
   */
  leakDetectionMs?: number;
  /**
   * How long `close()` lets queued work, transactions and leases finish, in
   * ms, before it destroys the pool (rejecting what is left). Default: 30000.
   */
  closeTimeoutMs?: number;
  /**
   * A module (a path or a file URL) every connection, readers and writer,
   * imports in its thread; its export named `setup` (or its default export)
   * is called with the better-sqlite3 `Database` and `{ role, filename }`
   * after the connection opens and before any work, and again whenever the
   * connection is reopened. The place for `db.function()`, aggregates,
   * collations, virtual tables, `db.loadExtension()` and per-connection
   * PRAGMAs. It runs synchronously (await at the module's top level instead).
   * If it throws, that connection's callers fail with `ERR_SETUP`.
   */
  setup?: string | URL;
  /**
   * A module (a path or a file URL; it may be the `setup` module) whose
   * exported functions `(db, ...args)` are procedures, called by name with
   * `pool.call`: each runs in a worker thread, synchronously, a write
   * procedure in a transaction on the writer, one marked read-only
   * (`readOnlyProcedure(fn)`) on a reader.
   */
  procedures?: string | URL;
  /**
   * The worker threads' entry module (a path or a file URL), for bundled apps
   * that ship it as its own file (see docs/bundling.md). Default: the
   * `worker.js` beside litepool's own module.
   */
  workerFile?: string | URL;
  /** better-sqlite3's native binding (`better_sqlite3.node`), for bundled apps that ship it elsewhere. Default: where better-sqlite3 finds it. */
  nativeBinding?: string;
  /**
   * The SQLite extension that lets the pool interrupt a running statement (a
   * path), or `false` to run without it. Default: the one built for this
   * platform in litepool's `native/` folder (Linux x64), if present.
   */
  interruptExtension?: string | false;
}

/** Options after defaults and validation (see {@link PoolOptions} for each). */
export interface ResolvedPoolOptions {
  /** The database file, as an absolute path (for a backend, its location). */
  readonly filename: string;
  /** The backend, if any. */
  readonly backend: Backend | undefined;
  /** The strategy as given (undefined: the default for where the database lives). */
  readonly strategy: Strategy | string | StrategyConfig | undefined;
  /** Reader threads. */
  readonly readers: number;
  /** Longest wait for a connection, in ms (may be Infinity). */
  readonly acquireTimeoutMs: number;
  /** Longest run of one statement, in ms (0: no limit). */
  readonly statementTimeoutMs: number;
  /** Most requests waiting at once (may be Infinity). */
  readonly maxQueue: number;
  /** SQLite's busy timeout, in ms. */
  readonly busyTimeoutMs: number;
  /** PRAGMAs every connection opens with (after the strategy's). */
  readonly pragmas: Readonly<Record<string, PragmaValue>>;
  /** INTEGER columns as bigint. */
  readonly safeIntegers: boolean;
  /** Most one-shot requests per message. */
  readonly maxBatch: number;
  /** Rows per message of iterate(). */
  readonly iterateChunkRows: number;
  /** V8 heap limits of each worker thread, if set. */
  readonly workerResourceLimits: ResourceLimits | undefined;
  /** Report leases held longer than this, in ms (0: never). */
  readonly leakDetectionMs: number;
  /** How long close() waits before destroying, in ms. */
  readonly closeTimeoutMs: number;
  /** The setup module, as a file URL, if set. */
  readonly setup: string | undefined;
  /** The procedures module, as a file URL, if set. */
  readonly procedures: string | undefined;
  /** The worker threads' entry module, if set. */
  readonly workerFile: string | URL | undefined;
  /** better-sqlite3's native binding, if set. */
  readonly nativeBinding: string | undefined;
  /** The interrupt extension's path, `false` (off), or undefined (the bundled one). */
  readonly interruptExtension: string | false | undefined;
}

/** The documented defaults, frozen. `readers` depends on the machine: see {@link defaultReaders}. */
export const DEFAULTS: Readonly<Defaults> = Object.freeze({
  acquireTimeoutMs: 30_000,
  statementTimeoutMs: 60_000,
  maxQueue: Number.POSITIVE_INFINITY,
  busyTimeoutMs: 5_000,
  safeIntegers: false,
  maxBatch: 256,
  iterateChunkRows: 256,
  leakDetectionMs: 0,
  closeTimeoutMs: 30_000,
});

/** The shape of {@link DEFAULTS}. */
export interface Defaults {
  /** {@link PoolOptions.acquireTimeoutMs}: 30000. */
  readonly acquireTimeoutMs: number;
  /** {@link PoolOptions.statementTimeoutMs}: 60000. */
  readonly statementTimeoutMs: number;
  /** {@link PoolOptions.maxQueue}: Infinity. */
  readonly maxQueue: number;
  /** {@link PoolOptions.busyTimeoutMs}: 5000. */
  readonly busyTimeoutMs: number;
  /** {@link PoolOptions.safeIntegers}: false. */
  readonly safeIntegers: boolean;
  /** {@link PoolOptions.maxBatch}: 256. */
  readonly maxBatch: number;
  /** {@link PoolOptions.iterateChunkRows}: 256. */
  readonly iterateChunkRows: number;
  /** {@link PoolOptions.leakDetectionMs}: 0 (off). */
  readonly leakDetectionMs: number;
  /** {@link PoolOptions.closeTimeoutMs}: 30000. */
  readonly closeTimeoutMs: number;
}

/** The default reader count: `min(4, availableParallelism())`. */
export function defaultReaders(): number {
  return Math.min(4, availableParallelism());
}

/** The most reader threads a pool may have. */
export const MAX_READERS = 64;
/** The most one-shot requests in one batch. */
export const MAX_BATCH = 10_000;

const KNOWN_KEYS: readonly (keyof PoolOptions)[] = [
  'filename',
  'backend',
  'strategy',
  'readers',
  'acquireTimeoutMs',
  'statementTimeoutMs',
  'maxQueue',
  'busyTimeoutMs',
  'pragmas',
  'safeIntegers',
  'maxBatch',
  'iterateChunkRows',
  'workerResourceLimits',
  'leakDetectionMs',
  'closeTimeoutMs',
  'workerFile',
  'nativeBinding',
  'setup',
  'procedures',
  'interruptExtension',
];

const RESOURCE_LIMIT_KEYS = ['maxYoungGenerationSizeMb', 'maxOldGenerationSizeMb', 'codeRangeSizeMb', 'stackSizeMb'];
const PRAGMA_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PRAGMA_WORD = /^-?[A-Za-z0-9_.]+$/;

const INT32_MAX = 2 ** 31 - 1;

function validatePragmas(value: unknown, nativeBinding: string | undefined): Readonly<Record<string, PragmaValue>> {
  if (value === undefined) return Object.freeze({});
  if (!isPlainObject(value)) {
    throw new OptionsError(`options.pragmas must be an object of PRAGMA names to values, got ${describe(value)}`);
  }
  const known = Object.keys(value).length > 0 ? knownPragmas(nativeBinding) : undefined;
  const pragmas: Record<string, PragmaValue> = {};
  for (const [name, raw] of Object.entries(value)) {
    if (!PRAGMA_NAME.test(name)) throw new OptionsError(`options.pragmas has an invalid PRAGMA name ${describe(name)}`);
    const lower = name.toLowerCase();
    if (lower === 'journal_mode') {
      throw new OptionsError(
        'options.pragmas.journal_mode is chosen by the strategy; pick a strategy instead (wal, mutex, single-writer, file-lock)',
      );
    }
    if (known !== undefined && !known.has(lower)) {
      const hint = suggest(lower, [...known]);
      throw new OptionsError(
        `options.pragmas.${name} is not a PRAGMA this SQLite knows${hint === undefined ? '' : `; did you mean ${hint}?`}`,
      );
    }
    const limit = WIDE_PRAGMAS.has(lower) ? Number.MAX_SAFE_INTEGER : INT32_MAX;
    const ok =
      typeof raw === 'boolean' ||
      (typeof raw === 'number' && Number.isFinite(raw) && Math.abs(raw) <= limit) ||
      (typeof raw === 'string' && PRAGMA_WORD.test(raw));
    if (!ok) {
      throw new OptionsError(
        `options.pragmas.${name} must be a number between -${limit} and ${limit}, a boolean or a bare word such as FULL, got ${describe(raw)}`,
      );
    }
    pragmas[name] = raw;
  }
  return Object.freeze(pragmas);
}

function validateResourceLimits(value: unknown): ResourceLimits | undefined {
  if (value === undefined) return undefined;
  optionsObject('options.workerResourceLimits', value, RESOURCE_LIMIT_KEYS);
  for (const key of RESOURCE_LIMIT_KEYS) {
    const limit = (value as Record<string, unknown>)[key];
    if (limit !== undefined && !(typeof limit === 'number' && Number.isFinite(limit) && limit > 0 && limit <= 1_048_576)) {
      throw new OptionsError(`options.workerResourceLimits.${key} must be a number of MB from 1 to 1048576, got ${describe(limit)}`);
    }
  }
  return Object.freeze({ ...value });
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

/** The database file must be in a directory that exists, and must not be a directory itself. */
function validateFilename(filename: unknown): string {
  if (typeof filename !== 'string' || filename.length === 0) {
    throw new OptionsError(`options.filename must be a non-empty string, got ${describe(filename)}`);
  }
  if (filename === ':memory:' || filename.startsWith('file:')) {
    throw new OptionsError(
      `options.filename ${describe(filename)} is not supported: each worker thread opens its own connection, so the database must be a file path`,
    );
  }
  const path = resolve(filename);
  const directory = statSync(dirname(path), { throwIfNoEntry: false });
  if (directory === undefined || !directory.isDirectory()) {
    throw new OptionsError(`options.filename ${describe(filename)}: the directory ${dirname(path)} does not exist`);
  }
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory() === true) {
    throw new OptionsError(`options.filename ${describe(filename)} is a directory, not a database file`);
  }
  return path;
}

function validateWorkerFile(value: unknown): string | URL | undefined {
  if (value === undefined) return undefined;
  if ((typeof value === 'string' && value.length > 0) || value instanceof URL) return value;
  throw new OptionsError(`options.workerFile must be a path or a file URL, got ${describe(value)}`);
}

/** The backend, if given: it takes the place of `filename`, and of the options that only concern local files. */
function validateBackend(options: Record<string, unknown>): Backend | undefined {
  if (options.backend === undefined) return undefined;
  if (!isBackend(options.backend)) {
    throw new OptionsError(`options.backend must be a backend such as dqlite({ servers, database }), got ${describe(options.backend)}`);
  }
  for (const key of ['filename', 'strategy', 'setup', 'procedures', 'workerFile', 'nativeBinding', 'interruptExtension'] as const) {
    if (options[key] !== undefined) {
      throw new OptionsError(
        `options.${key} does not apply with options.backend (${options.backend.kind}): the backend decides where the data is and how it is reached`,
      );
    }
  }
  return options.backend;
}

/** A module option (a path or a file URL) as a file URL; the file must exist. */
function validateModule(where: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  if (value instanceof URL) url = value;
  else if (typeof value === 'string' && value.length > 0) url = value.startsWith('file:') ? new URL(value) : pathToFileURL(resolve(value));
  else throw new OptionsError(`${where} must be a path or a file URL, got ${describe(value)}`);
  if (url.protocol !== 'file:') throw new OptionsError(`${where} must be a file, got ${url.href}`);
  if (statSync(fileURLToPath(url), { throwIfNoEntry: false })?.isFile() !== true) {
    throw new OptionsError(`${where}: ${fileURLToPath(url)} does not exist`);
  }
  return url.href;
}

function validatePath(where: string, value: unknown, falseAllowed = false): string | false | undefined {
  if (value === undefined || (falseAllowed && value === false)) return value;
  if (typeof value === 'string' && value.length > 0) return value;
  throw new OptionsError(`${where} must be a path${falseAllowed ? ' or false' : ''}, got ${describe(value)}`);
}

/** Validates `options` and fills in defaults. Throws {@link OptionsError} with an exact message. */
export function resolveOptions(options: unknown): ResolvedPoolOptions {
  if (!isPlainObject(options)) throw new OptionsError(`options must be an object, got ${describe(options)}`);
  optionsObject('options', options, KNOWN_KEYS);
  const nativeBinding = validatePath('options.nativeBinding', options.nativeBinding) as string | undefined;
  const backend = validateBackend(options);
  return Object.freeze({
    filename: backend === undefined ? validateFilename(options.filename) : backend.location,
    backend,
    strategy: validateStrategy(options.strategy),
    readers: integerOption('options.readers', options.readers, backend?.defaultReaders ?? defaultReaders(), 0, { max: MAX_READERS }),
    acquireTimeoutMs: msOption('options.acquireTimeoutMs', options.acquireTimeoutMs, DEFAULTS.acquireTimeoutMs, 1, true),
    statementTimeoutMs: msOption('options.statementTimeoutMs', options.statementTimeoutMs, DEFAULTS.statementTimeoutMs),
    maxQueue: integerOption('options.maxQueue', options.maxQueue, DEFAULTS.maxQueue, 1, { infinity: true }),
    busyTimeoutMs: msOption('options.busyTimeoutMs', options.busyTimeoutMs, DEFAULTS.busyTimeoutMs),
    pragmas: validatePragmas(options.pragmas, nativeBinding),
    safeIntegers: booleanOption('options.safeIntegers', options.safeIntegers, DEFAULTS.safeIntegers),
    maxBatch: integerOption('options.maxBatch', options.maxBatch, DEFAULTS.maxBatch, 1, { max: MAX_BATCH }),
    iterateChunkRows: integerOption('options.iterateChunkRows', options.iterateChunkRows, DEFAULTS.iterateChunkRows, 1, { max: 100_000 }),
    workerResourceLimits: validateResourceLimits(options.workerResourceLimits),
    leakDetectionMs: msOption('options.leakDetectionMs', options.leakDetectionMs, DEFAULTS.leakDetectionMs),
    closeTimeoutMs: msOption('options.closeTimeoutMs', options.closeTimeoutMs, DEFAULTS.closeTimeoutMs),
    setup: validateModule('options.setup', options.setup),
    procedures: validateModule('options.procedures', options.procedures),
    workerFile: validateWorkerFile(options.workerFile),
    nativeBinding,
    interruptExtension: validatePath('options.interruptExtension', options.interruptExtension, true),
  });
}
