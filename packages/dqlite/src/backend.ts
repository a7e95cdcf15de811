/**
 * `dqlite({ servers, database })`: the backend that puts a litepool pool on a
 * dqlite cluster. Every lane connection is a connection to the leader (the
 * followers refuse queries); the writer lane holds `pool.transaction` across
 * awaits on its connection, and one-shot writes are group-committed (many in
 * one transaction, each in a SAVEPOINT), since each COMMIT is one entry of
 * the replicated log.
 */
import {
  FREE_HOLD,
  OptionsError,
  integerOption,
  msOption,
  optionsObject,
  type Backend,
  type BackendBinding,
  type Strategy,
} from '@litepool/core';
import { DqliteConnection } from './connection.js';
import { Members } from './members.js';
import { DEFAULT_LIMITS, parseAddress, type DqliteTlsOptions } from './socket.js';
import { readsOnly } from './sql-text.js';

/** Options of {@link dqlite}. */
export interface DqliteOptions {
  /**
   * Addresses (`host:port`) of the cluster's nodes, any of them: each tells
   * who leads. The pool also learns the members the leader lists (nodes added
   * later), so it finds the cluster after the given nodes are gone.
   */
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
  /**
   * Longest message a node may send, in bytes (a row larger than this cannot
   * be read). A longer one closes the connection with `ERR_DQLITE_PROTOCOL`.
   * Default: 67108864 (64 MiB).
   */
  readonly maxFrameBytes?: number;
  /**
   * Most bytes of one result set, all its parts together. A larger one fails
   * with `ERR_RESULT_TOO_LARGE` and closes its connection (the way to stop
   * the node sending it). Default: 268435456 (256 MiB).
   */
  readonly maxResultBytes?: number;
  /**
   * How long a node may send nothing while a request waits for its answer,
   * in ms, whatever the statement timeout: a node that hangs is then treated
   * as lost (a read runs again on the leader found next, a write that was
   * sent fails with `ERR_COMMIT_UNKNOWN`). Set it above your longest
   * statement, or 0 for no limit. Default: 30000.
   */
  readonly silenceTimeoutMs?: number;
  /**
   * TLS for every connection to the nodes (`node:tls` options: `ca`, `cert`,
   * `key`, `servername`, …), for a cluster run with `--tls-cert` (mutual TLS:
   * the node wants a certificate signed by its CA). With it the pool never
   * falls back to plaintext; a certificate refused by every node fails with
   * `ERR_DQLITE_TLS`. A node's certificate is checked against the address's
   * host (a name, or an IP in its IP addresses) unless `servername` names
   * the name to check. Default: plaintext.
   */
  readonly tls?: DqliteTlsOptions;
  /**
   * How often a busy pool asks the leader for the cluster's members, in ms
   * (each new leader connection asks too; an idle pool asks nothing).
   * Default: 30000.
   */
  readonly membershipRefreshMs?: number;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_RECONNECT_TIMEOUT_MS = 15_000;

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
 * ['127.0.0.1:9001', …], database: 'app' }) })`. Throws `ERR_INVALID_OPTIONS`
 * for bad options; connecting happens on first use.
 */
export function dqlite(options: DqliteOptions): Backend {
  const raw = optionsObject('dqlite', options, [
    'servers',
    'database',
    'connectTimeoutMs',
    'reconnectTimeoutMs',
    'maxBatch',
    'maxFrameBytes',
    'maxResultBytes',
    'silenceTimeoutMs',
    'tls',
    'membershipRefreshMs',
  ]);
  const { servers, database } = raw;
  if (!Array.isArray(servers) || servers.length === 0) {
    throw new OptionsError('dqlite.servers must be a non-empty array of node addresses (host:port)');
  }
  for (const server of servers) {
    try {
      parseAddress(server as string);
    } catch (error) {
      throw new OptionsError(`dqlite.servers: ${(error as Error).message}`);
    }
  }
  if (typeof database !== 'string' || database.length === 0 || database.includes('\0')) {
    throw new OptionsError('dqlite.database must be a non-empty database name without NUL characters');
  }
  const connectTimeoutMs = msOption('dqlite.connectTimeoutMs', raw.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS, 1);
  const reconnectTimeoutMs = msOption('dqlite.reconnectTimeoutMs', raw.reconnectTimeoutMs, DEFAULT_RECONNECT_TIMEOUT_MS, 1);
  const maxBatch = integerOption('dqlite.maxBatch', raw.maxBatch, 256, 1, { max: 10_000 });
  const limits = {
    maxFrameBytes: integerOption('dqlite.maxFrameBytes', raw.maxFrameBytes, DEFAULT_LIMITS.maxFrameBytes, 64, { max: 2 ** 31 }),
    maxResultBytes: integerOption('dqlite.maxResultBytes', raw.maxResultBytes, DEFAULT_LIMITS.maxResultBytes, 64),
    silenceTimeoutMs: msOption('dqlite.silenceTimeoutMs', raw.silenceTimeoutMs, DEFAULT_LIMITS.silenceTimeoutMs, 0),
  };
  const { tls } = raw;
  if (tls !== undefined && (typeof tls !== 'object' || tls === null || Array.isArray(tls))) {
    throw new OptionsError('dqlite.tls must be an object of node:tls options (ca, cert, key, servername, …)');
  }
  const membershipRefreshMs = msOption('dqlite.membershipRefreshMs', raw.membershipRefreshMs, 30_000, 1);
  const nodes = [...(servers as string[])];
  return {
    kind: 'dqlite',
    ownOptions: [],
    defaultReaders: 1,
    bind(_given, common): BackendBinding {
      const config = {
        members: new Members(nodes, membershipRefreshMs),
        database,
        connectTimeoutMs,
        reconnectTimeoutMs,
        safeIntegers: common.safeIntegers,
        statementTimeoutMs: common.statementTimeoutMs,
        socket: { limits, tls: tls as DqliteTlsOptions | undefined },
      };
      const location = `dqlite://${nodes.join(',')}/${database}`;
      return {
        location,
        strategy: dqliteStrategy(maxBatch),
        strategyContext: { filename: location, networkFilesystem: false },
        options: {},
        open: (_role, hooks) => DqliteConnection.open(config, hooks),
        // dqlite answers queries and executions with different requests: the text says which, no reader probes it.
        readsOnly,
        close() {},
      };
    },
  };
}
