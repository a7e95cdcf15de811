/**
 * The worker-threads backend, the default: each connection a worker thread
 * owning one better-sqlite3 connection to a local file, with the pool's
 * interrupt handle beside them. It checks the local-file options, picks the
 * strategy for where the file lives, and opens the workers.
 */
import { PIPELINE_DEPTH, type Backend, type BackendBinding, type CommonOptions } from '../backend.js';
import { defaultReaders, LOCAL_KEYS } from '../config/options.js';
import { existsSync, statSync } from 'node:fs';
import { OptionsError } from '../errors.js';
import { bundledInterruptExtension, bundledNativeBinding, bundledWorkerFile } from './assets.js';
import { resolveStrategy } from './default-strategy.js';
import { onNetworkFilesystem } from './filesystem.js';
import { InlineReads } from './inline-reads.js';
import { Interrupter } from './interrupter.js';
import { WATCH_MS } from './read-watch-loop.js';
import { resolveLocalOptions, type LocalOptions } from './local-options.js';
import { WorkerConnection } from './worker-connection.js';
import { startSpareSoon } from './worker-start.js';
import { readableBeforeWriter } from './readable-early.js';
import type { ConnectionRole, Strategy } from '../strategy.js';
import { setImmediate } from '../timers.js';

/** The interrupt handle of a pool's workers (the process's, shared): looked up with the first connection; undefined (with the reason) where it cannot be. */
class InterruptHandle {
  #started = false;
  #interrupter: Interrupter | undefined;
  #extension: string | undefined;
  #unavailable: string | undefined;
  /** Whether the extension's file is there, checked once (see {@link expected}). */
  #present: boolean | undefined;

  constructor(private readonly options: Pick<LocalOptions, 'interruptExtension'>) {}

  /** Whether the lookup ({@link start}) would load the extension on this thread now: the first in the process for it. */
  loads(nativeBinding: string | undefined): boolean {
    if (this.#started) return false;
    const path = extensionPath(this.options);
    return path !== undefined && !Interrupter.looked(path, nativeBinding);
  }

  /** Whether connections will load an extension: the lookup's answer once made, before it whether one is there to load. */
  expected(): boolean {
    if (this.#started) return this.#extension !== undefined;
    if (this.#present === undefined) {
      const path = extensionPath(this.options);
      this.#present = path !== undefined && existsSync(path);
    }
    return this.#present;
  }

  /** The extension each connection loads (undefined: none), the handle, and why there is none. */
  start(nativeBinding: string | undefined): {
    extension: string | undefined;
    interrupter: Interrupter | undefined;
    unavailable: string | undefined;
  } {
    if (!this.#started) {
      this.#started = true;
      if (this.options.interruptExtension !== false) {
        this.#extension = extensionPath(this.options);
        if (this.#extension === undefined) this.#unavailable = `no interrupt extension is built for ${process.platform}-${process.arch}`;
        else {
          try {
            this.#interrupter = Interrupter.shared(this.#extension, nativeBinding);
          } catch (error) {
            this.#unavailable = `the interrupt extension ${this.#extension} could not be loaded: ${error instanceof Error ? error.message : String(error)}`;
            this.#extension = undefined;
          }
        }
      }
    }
    return { extension: this.#extension, interrupter: this.#interrupter, unavailable: this.#unavailable };
  }
}

/** The interrupt extension the pool's connections are to load (unchecked: see InterruptHandle), or undefined. */
function extensionPath(options: Pick<LocalOptions, 'interruptExtension'>): string | undefined {
  return options.interruptExtension === false ? undefined : (options.interruptExtension ?? bundledInterruptExtension());
}

function bind(given: Readonly<Record<string, unknown>>, common: CommonOptions): BackendBinding {
  const { location, ...local } = resolveLocalOptions(given);
  const networkFilesystem = !location.memory && onNetworkFilesystem(local.filename);
  const strategy: Strategy = resolveStrategy(local.strategy, networkFilesystem);
  if (location.memory && strategy.openUnderHold === true) {
    throw new OptionsError(`The ${strategy.name} strategy coordinates access to a file: an in-memory database has no file to lock`);
  }
  const nativeBinding = local.nativeBinding ?? bundledNativeBinding();
  // Undefined: litepool's own worker.js (see WorkerConnection.open).
  const workerFile = local.workerFile ?? bundledWorkerFile();
  const interrupts = new InterruptHandle(local);
  /** What a connection of `role` opens with, a worker thread's or the calling thread's. */
  const opensWith = (role: ConnectionRole) => ({
    filename: local.filename,
    readOnly: location.readOnly,
    journalMode: strategy.journalMode,
    safeIntegers: common.safeIntegers,
    pragmas: { ...strategy.pragmas(role), ...local.pragmas },
    iterateChunkRows: common.iterateChunkRows,
  });
  // Whether the file reads the same before the writer's open as after (a strategy of another journal mode switches it first).
  const readersBeforeWriter = (): boolean =>
    (location.readOnly || strategy.journalMode === 'wal') && readableBeforeWriter(location.path, location.readOnly);
  const inline = readsInline({ ...local, location }, common, strategy)
    ? new InlineReads(
        { ...opensWith('reader'), create: false },
        strategy,
        {
          find: () => {
            const { extension } = interrupts.start(nativeBinding);
            return extension === undefined ? undefined : { extension, nativeBinding, workerFile };
          },
          expected: () => interrupts.expected(),
        },
        readersBeforeWriter,
      )
    : undefined;
  // The first connection's thread starts at the next turn (see startSpareSoon), while the app goes on; not in this one:
  // a process's first thread takes 2 ms to create, which the app's turn would carry.
  startSpareSoon({
    worker: {
      setup: local.setup,
      procedures: local.procedures,
      nativeBinding,
      nice: local.workerNice,
      interruptExtension: extensionPath(local),
    },
    workerFile,
    resourceLimits: local.workerResourceLimits,
  });
  const maxInFlight = PIPELINE_DEPTH * Math.max(common.maxBatch, strategy.writeBatching?.maxBatch ?? 0) + 8;
  let procedures: ReadonlyMap<string, boolean> | undefined;
  return {
    location: local.filename,
    strategy,
    strategyContext: { filename: local.filename, networkFilesystem },
    options: local,
    ...(location.memory ? { maxReaders: { count: 0, reason: 'one connection holds an in-memory database' } } : {}),
    // A worker thread takes tens of ms to start: it starts while the pool's gate is closed, and opens once it is not.
    startsEarly: true,
    loadsExtensions: true,
    ...(location.memory ? {} : { sizeBytes: () => bytesOnDisk(location.path), readersBeforeWriter }),
    async open(role, hooks, signal, ready) {
      // The lookup loads better-sqlite3's addon on this thread (the process's first `new Database`): in a turn of its
      // own, not in the one that made the pool's first call.
      if (interrupts.loads(nativeBinding)) await new Promise((resolve) => setImmediate(resolve));
      const { extension, interrupter, unavailable } = interrupts.start(nativeBinding);
      if (unavailable !== undefined && common.statementTimeoutMs > 0) {
        hooks.onWarning(
          'LITEPOOL_NO_INTERRUPT',
          `Statements cannot be interrupted (${unavailable}): a statement past statementTimeoutMs fails its caller but runs on until it ends`,
        );
      }
      const connection = await WorkerConnection.open(
        {
          worker: {
            ...opensWith(role),
            create: location.create,
            role,
            busyTimeoutMs: common.busyTimeoutMs,
            deferOpen: strategy.openUnderHold === true,
            interruptExtension: extension,
            nativeBinding,
            setup: local.setup,
            procedures: local.procedures,
            nice: local.workerNice,
          },
          workerFile,
          resourceLimits: local.workerResourceLimits,
          interrupter,
          statementTimeoutMs: common.statementTimeoutMs,
          maxInFlight,
          ready,
        },
        hooks,
        signal,
      );
      if (connection.procedures.size > 0) procedures ??= connection.procedures;
      return connection;
    },
    procedures: () => procedures,
    ...(inline === undefined ? {} : { inline }),
    close: () => {
      inline?.close();
    },
  };
}

/** Whether the pool's short reads may run on the calling thread (see the `inlineReads` option). */
function readsInline(local: LocalOptions, common: CommonOptions, strategy: Strategy): boolean {
  const { location } = local;
  return (
    local.inlineReads &&
    local.interruptExtension !== false &&
    !location.memory &&
    local.setup === undefined &&
    strategy.journalMode === 'wal' &&
    strategy.openUnderHold !== true &&
    strategy.capabilities.readsDuringWrite &&
    (common.statementTimeoutMs === 0 || common.statementTimeoutMs > 2 * WATCH_MS)
  );
}

/**
 * The worker-threads backend (the default when `createPool` is given no
 * `backend`): worker threads, each owning a better-sqlite3 connection to
 * `options.filename`.
 */
export function workerThreads(): Backend {
  return { kind: 'worker-threads', ownOptions: LOCAL_KEYS, defaultReaders: defaultReaders(), bind };
}

/** The bytes a database at `path` takes on disk now, its file and its WAL; undefined if it cannot be read. */
function bytesOnDisk(path: string): number | undefined {
  try {
    return statSync(path).size + (statSync(`${path}-wal`, { throwIfNoEntry: false })?.size ?? 0);
  } catch {
    return undefined;
  }
}
