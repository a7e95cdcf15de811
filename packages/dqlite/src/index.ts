/**
 * @litepool/dqlite: the litepool pool API over a dqlite cluster (Raft-replicated
 * SQLite), with a dqlite wire-protocol client in TypeScript and no dependency
 * beyond Node and @litepool/core.
 *
 * ```ts
 * import { createPool } from '@litepool/core';
 * import { dqlite } from '@litepool/dqlite';
 * const pool = createPool({ backend: dqlite({ servers: ['127.0.0.1:9001', '127.0.0.1:9002', '127.0.0.1:9003'], database: 'app' }) });
 * ```
 *
 * @module @litepool/dqlite
 */
export { dqlite, type DqliteOptions } from './backend.js';
export { DqliteClient, NodeFailure, type ClusterNode, type ExecResult, type QueryResult } from './client.js';
export {
  ClusterUnavailableError,
  CommitUnknownError,
  DqliteProtocolError,
  DqliteTlsError,
  LeaderLostError,
  ResultTooLargeError,
} from './errors.js';
export type { DqliteTlsOptions, SocketLimits, SocketOptions } from './socket.js';
export { readsOnly } from './sql-text.js';
