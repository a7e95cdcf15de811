/**
 * `dqlite({ servers, database })`: the backend that puts a litepool pool on a
 * dqlite cluster. Every lane connection is a connection to the leader (the
 * followers refuse queries); the writer lane holds `pool.transaction` across
 * awaits on its connection, and one-shot writes are group-committed (many in
 * one transaction, each in a SAVEPOINT), since each COMMIT is one entry of
 * the replicated log.
 */
import { ArgumentError, FREE_HOLD, MAX_TIMER_MS, type Backend, type ConnectionFactory, type Strategy } from '@litepool/core';
import { DqliteConnection } from './connection.js';
import { parseAddress } from './socket.js';

/** Options of {@link dqlite}. */
export interface DqliteOptions {
  /** Addresses (`host:port`) of the cluster's nodes, any of them: each tells who leads. */
  readonly servers: readonly string[];
  /** The database's name in the cluster (created on first use). */
  readonly database: string;
  /** How long opening a connection may look for a leader, in ms. Default: 10000. */
  readonly connectTimeoutMs?: number;
  /**
   * After a leader is lost, how long a connection looks for the new one
   * before the requests waiting on it fail with `ERR_CLUSTER_UNAVAILABLE`, in
   * ms. Default: 15000 (dqlite elects a new leader in a few seconds).
   */
  readonly reconnectTimeoutMs?: number;
  /** Most one-shot writes group-committed together. Default: 256. */
  readonly maxBatch?: number;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_RECONNECT_TIMEOUT_MS = 15_000;

function timeoutOption(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > MAX_TIMER_MS) {
    throw new ArgumentError(`dqlite({ ${name} }) must be an integer from 1 to ${MAX_TIMER_MS}, got ${String(value)}`);
  }
  return value;
}

/** The strategy of a dqlite pool: no local locks (the leader serializes), group commit of one-shot writes. */
function dqliteStrategy(maxBatch: number): Strategy {
  return {
    name: 'dqlite',
    capabilities: { crossProcess: true, networkSafe: true, concurrentReads: true, readsDuringWrite: true },
    journalMode: 'wal',
    writeBatching: { maxBatch, maxWaitMs: 0 },
    pragmas: () => ({}),
    init: () => Promise.resolve(),
    acquire: () => FREE_HOLD,
    close: () => Promise.resolve(),
  };
}

/**
 * A backend on a dqlite cluster: `createPool({ backend: dqlite({ servers:
 * ['127.0.0.1:9001', …], database: 'app' }) })`. Throws `ERR_INVALID_ARGUMENT`
 * for bad options; connecting happens on first use.
 */
export function dqlite(options: DqliteOptions): Backend {
  if (typeof options !== 'object' || options === null) throw new ArgumentError('dqlite(options): { servers, database } expected');
  const { servers, database } = options;
  if (!Array.isArray(servers) || servers.length === 0)
    throw new ArgumentError('dqlite({ servers }): at least one node address (host:port) is expected');
  for (const server of servers) {
    try {
      parseAddress(server as string);
    } catch (error) {
      throw new ArgumentError(`dqlite({ servers }): ${(error as Error).message}`);
    }
  }
  if (typeof database !== 'string' || database.length === 0 || database.includes('\0')) {
    throw new ArgumentError('dqlite({ database }): a database name is expected');
  }
  const connectTimeoutMs = timeoutOption('connectTimeoutMs', options.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS);
  const reconnectTimeoutMs = timeoutOption('reconnectTimeoutMs', options.reconnectTimeoutMs, DEFAULT_RECONNECT_TIMEOUT_MS);
  const maxBatch = options.maxBatch ?? 256;
  if (!Number.isInteger(maxBatch) || maxBatch < 1 || maxBatch > 10_000) {
    throw new ArgumentError(`dqlite({ maxBatch }) must be an integer from 1 to 10000, got ${String(maxBatch)}`);
  }
  const nodes = [...(servers as string[])];
  return {
    kind: 'dqlite',
    location: `dqlite://${nodes.join(',')}/${database}`,
    defaultReaders: 1,
    strategy: () => dqliteStrategy(maxBatch),
    connections(resolved): ConnectionFactory {
      const config = {
        servers: nodes,
        database,
        connectTimeoutMs,
        reconnectTimeoutMs,
        safeIntegers: resolved.safeIntegers,
        statementTimeoutMs: resolved.statementTimeoutMs,
      };
      return {
        open: (_role, hooks) => DqliteConnection.open(config, hooks),
        close() {},
      };
    },
  };
}
