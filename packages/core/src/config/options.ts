/**
 * The pool's options: their types, frozen defaults, and the resolution of
 * the options every backend shares. A backend checks its own (the
 * worker-threads backend: `filename`, `strategy`, `pragmas`, …) when it binds.
 */
import { availableParallelism } from 'node:os';
import type { ResourceLimits } from 'node:worker_threads';
import { isBackend, type Backend, type BackendBinding } from '../backend.js';
import { OptionsError } from '../errors.js';
import { booleanOption, describe, integerOption, isPlainObject, msOption, optionsObject } from './checks.js';
import type { PragmaValue, Strategy, StrategyConfig } from '../strategy.js';

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
  /**
   * Read-only reader threads, 0 to 64. 0 runs reads on the writer. While every
   * reader is held by a read transaction or lease, more open for the next (up
   * to 64 in all; see `extraReaderIdleMs`), as SQLite never limits readers.
   * Default: `min(4, availableParallelism())`.
   */
  readers?: number;
  /**
   * How long readers opened beyond `readers` (while every reader was held)
   * may go unneeded before they close, in ms: after a burst of read
   * transactions the pool shrinks back to `readers` threads. `Infinity` keeps
   * them until `close()`. Default: 10000.
   */
  extraReaderIdleMs?: number;
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
   * platform in litepool's `native/` folder (Linux, macOS and Windows, x64
   * and arm64), if present.
   */
  interruptExtension?: string | false;
  /**
   * Answer short one-shot reads (`get`, `all`, `values` of the pool or a
   * session that only read) on the calling thread, on a read-only connection
   * of its own, instead of a round trip through a reader thread, while few
   * reads are out to readers. Each statement is interrupted after 1-2 ms and
   * then runs on a reader (its SQL then goes to readers for a while, as does
   * the SQL of one that took longer than 0.5 ms three runs in a row), and at
   * most 0.5 ms per event-loop turn is spent on them. Only with the interrupt
   * extension, a WAL strategy whose reads take no hold (`wal`,
   * `single-writer`), a file database and no `setup` module. Default: true.
   */
  inlineReads?: boolean;
  /**
   * How much lower than the calling thread's the scheduling priority of the
   * pool's worker threads is, as a nice value added to the one they start
   * with (0 to 19; the result is at most 19). When the calling thread and
   * the workers want the same core, the calling thread's event loop then
   * runs first: on 2 cores, 100-row range reads at 64 in flight held the
   * loop's p99 at 2.4-2.9 ms instead of 3.7-5.5 ms, with no fewer reads per
   * second (docs/benchmarks.md, "Worker threads below the event loop"). 0
   * keeps them at the calling thread's priority. Only on Linux, where a nice
   * value is a thread's own (elsewhere it would apply to the whole process:
   * nothing is changed); the read watch thread keeps its priority. Default:
   * 10 (Node's `os.constants.priority.PRIORITY_BELOW_NORMAL`).
   */
  workerNice?: number;
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
  /** How long readers beyond `readers` may go unneeded before they close, in ms (may be Infinity). */
  readonly extraReaderIdleMs: number;
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
  /** Whether short reads may run on the calling thread. */
  readonly inlineReads: boolean;
  /** How far below the calling thread's the worker threads' priority is (0: the same). */
  readonly workerNice: number;
}

/** The documented defaults, frozen. `readers` depends on the machine: see {@link defaultReaders}. */
export const DEFAULTS: Readonly<Defaults> = Object.freeze({
  extraReaderIdleMs: 10_000,
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
  /** {@link PoolOptions.extraReaderIdleMs}: 10000. */
  readonly extraReaderIdleMs: number;
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
  // Once per process: the machine does not change under it, and every createPool asks.
  readerDefault ??= Math.min(4, availableParallelism());
  return readerDefault;
}
let readerDefault: number | undefined;

/** The most reader threads a pool may have. */
export const MAX_READERS = 64;
/** The most one-shot requests in one batch. */
export const MAX_BATCH = 10_000;

/** The options every backend shares. */
const COMMON_KEYS = [
  'backend',
  'readers',
  'extraReaderIdleMs',
  'acquireTimeoutMs',
  'statementTimeoutMs',
  'maxQueue',
  'busyTimeoutMs',
  'safeIntegers',
  'maxBatch',
  'iterateChunkRows',
  'leakDetectionMs',
  'closeTimeoutMs',
] as const;

/** The options of the default backend (worker threads on a local file). */
export const LOCAL_KEYS = [
  'filename',
  'strategy',
  'pragmas',
  'setup',
  'procedures',
  'workerResourceLimits',
  'workerFile',
  'nativeBinding',
  'interruptExtension',
  'inlineReads',
  'workerNice',
] as const;

const KNOWN_KEYS: readonly (keyof PoolOptions)[] = [...COMMON_KEYS, ...LOCAL_KEYS];

/** Options resolved, and the backend bound to the pool. */
export interface Resolved {
  /** The options after defaults, frozen. */
  readonly options: ResolvedPoolOptions;
  /** The backend bound to the pool. */
  readonly binding: BackendBinding;
}

/**
 * Validates `options` and fills in defaults; binds the backend (`options.backend`,
 * else `fallback`). Throws {@link OptionsError} with an exact message.
 */
export function resolveOptions(options: unknown, fallback: () => Backend): Resolved {
  if (!isPlainObject(options)) throw new OptionsError(`options must be an object, got ${describe(options)}`);
  optionsObject('options', options, KNOWN_KEYS);
  if (options.backend !== undefined && !isBackend(options.backend)) {
    throw new OptionsError(`options.backend must be a backend such as dqlite({ servers, database }), got ${describe(options.backend)}`);
  }
  const backend = options.backend ?? fallback();
  for (const key of LOCAL_KEYS) {
    if (options[key] !== undefined && !backend.ownOptions.includes(key)) {
      throw new OptionsError(
        `options.${key} does not apply with options.backend (${backend.kind}): the backend decides where the data is and how it is reached`,
      );
    }
  }
  const common = {
    readers: integerOption('options.readers', options.readers, backend.defaultReaders, 0, { max: MAX_READERS }),
    extraReaderIdleMs: msOption('options.extraReaderIdleMs', options.extraReaderIdleMs, DEFAULTS.extraReaderIdleMs, 1, true),
    acquireTimeoutMs: msOption('options.acquireTimeoutMs', options.acquireTimeoutMs, DEFAULTS.acquireTimeoutMs, 1, true),
    statementTimeoutMs: msOption('options.statementTimeoutMs', options.statementTimeoutMs, DEFAULTS.statementTimeoutMs),
    maxQueue: integerOption('options.maxQueue', options.maxQueue, DEFAULTS.maxQueue, 1, { infinity: true }),
    busyTimeoutMs: msOption('options.busyTimeoutMs', options.busyTimeoutMs, DEFAULTS.busyTimeoutMs),
    safeIntegers: booleanOption('options.safeIntegers', options.safeIntegers, DEFAULTS.safeIntegers),
    maxBatch: integerOption('options.maxBatch', options.maxBatch, DEFAULTS.maxBatch, 1, { max: MAX_BATCH }),
    iterateChunkRows: integerOption('options.iterateChunkRows', options.iterateChunkRows, DEFAULTS.iterateChunkRows, 1, { max: 100_000 }),
    leakDetectionMs: msOption('options.leakDetectionMs', options.leakDetectionMs, DEFAULTS.leakDetectionMs),
    closeTimeoutMs: msOption('options.closeTimeoutMs', options.closeTimeoutMs, DEFAULTS.closeTimeoutMs),
  };
  const binding = backend.bind(options, common);
  const limit = binding.maxReaders;
  if (limit !== undefined && common.readers > limit.count) {
    if (options.readers !== undefined) {
      throw new OptionsError(
        `options.readers must be at most ${limit.count} for ${describe(binding.location)}, got ${common.readers}: ${limit.reason}`,
      );
    }
    common.readers = limit.count;
  }
  const resolved: ResolvedPoolOptions = Object.freeze({
    filename: binding.location,
    backend: options.backend,
    strategy: undefined,
    pragmas: Object.freeze({}),
    workerResourceLimits: undefined,
    setup: undefined,
    procedures: undefined,
    workerFile: undefined,
    nativeBinding: undefined,
    interruptExtension: undefined,
    inlineReads: false,
    workerNice: 0,
    ...common,
    ...(binding.options as Partial<ResolvedPoolOptions>),
  });
  return { options: resolved, binding };
}
