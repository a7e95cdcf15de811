/**
 * The worker-thread kind of connection: each one a worker thread owning one
 * better-sqlite3 connection, with the pool's interrupt handle beside them.
 */
import type { ResolvedPoolOptions } from '../config/options.js';
import type { ConnectionFactory } from '../pool/connection.js';
import { PIPELINE_DEPTH } from '../pool/lane.js';
import type { Strategy } from '../strategy.js';
import { bundledInterruptExtension, bundledNativeBinding, bundledWorkerFile } from '../assets.js';
import { Interrupter } from './interrupter.js';
import { WorkerConnection } from './worker-connection.js';

/** Opens worker-thread connections for a pool with these options and strategy. */
export function workerConnections(options: ResolvedPoolOptions, strategy: Strategy): ConnectionFactory {
  let interrupter: Interrupter | undefined;
  let extension: string | undefined;
  const nativeBinding = options.nativeBinding ?? bundledNativeBinding();
  // Undefined: litepool's own worker.js (see WorkerConnection.open).
  const workerFile = options.workerFile ?? bundledWorkerFile();
  let started = false;
  let unavailable: string | undefined;
  /** The interrupt handle, opened with the first connection; undefined (with the reason kept) where it cannot be. */
  const start = (): void => {
    if (started) return;
    started = true;
    if (options.interruptExtension === false) return;
    extension = options.interruptExtension ?? bundledInterruptExtension();
    if (extension === undefined) {
      unavailable = `no interrupt extension is built for ${process.platform}-${process.arch}`;
      return;
    }
    try {
      interrupter = Interrupter.open(extension, nativeBinding);
    } catch (error) {
      unavailable = `the interrupt extension ${extension} could not be loaded: ${error instanceof Error ? error.message : String(error)}`;
      extension = undefined;
    }
  };
  const maxInFlight = PIPELINE_DEPTH * Math.max(options.maxBatch, strategy.writeBatching?.maxBatch ?? 0) + 8;
  return {
    open(role, hooks) {
      start();
      if (unavailable !== undefined && options.statementTimeoutMs > 0) {
        hooks.onWarning(
          'LITEPOOL_NO_INTERRUPT',
          `Statements cannot be interrupted (${unavailable}): a statement past statementTimeoutMs fails its caller but runs on until it ends`,
        );
      }
      return WorkerConnection.open(
        {
          worker: {
            filename: options.filename,
            role,
            journalMode: strategy.journalMode,
            busyTimeoutMs: options.busyTimeoutMs,
            safeIntegers: options.safeIntegers,
            pragmas: { ...strategy.pragmas(role), ...options.pragmas },
            iterateChunkRows: options.iterateChunkRows,
            deferOpen: strategy.openUnderHold === true,
            interruptExtension: extension,
            nativeBinding,
            setup: options.setup,
            procedures: options.procedures,
          },
          workerFile,
          resourceLimits: options.workerResourceLimits,
          interrupter,
          statementTimeoutMs: options.statementTimeoutMs,
          maxInFlight,
        },
        hooks,
      );
    },
    close() {
      interrupter?.close();
    },
  };
}
