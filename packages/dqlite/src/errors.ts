/**
 * What can go wrong with a cluster, as typed errors (all `LitepoolError`s with
 * a stable `code`), beside SQLite's own errors (`SqliteError`, with SQLite's
 * extended code), which the leader reports as they are.
 */
import { LitepoolError } from '@litepool/core';

/** `ERR_COMMIT_UNKNOWN` is core's (the worker-thread backend reports it too): re-exported here as before. */
export { CommitUnknownError } from '@litepool/core';

/**
 * The leader was lost before the write reached it (or while its transaction
 * was still open, which then rolled back): nothing of it was committed, and
 * it is safe to run again. `code`: `ERR_LEADER_LOST`.
 */
export class LeaderLostError extends LitepoolError {
  /** @param message what was lost @param options the connection's error as `cause` */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_LEADER_LOST', options);
  }
}

/**
 * No node answered as leader within `reconnectTimeoutMs` (or `connectTimeoutMs`
 * at start): the cluster is down or has no quorum. Callers get this instead of
 * waiting forever. `code`: `ERR_CLUSTER_UNAVAILABLE`.
 */
export class ClusterUnavailableError extends LitepoolError {
  /** @param message which nodes were tried @param options the last error as `cause` */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_CLUSTER_UNAVAILABLE', options);
  }
}

/**
 * What came from the node is not the dqlite protocol (a malformed or
 * unexpected message, a length past the limits): that connection is closed,
 * nothing from it is believed. A read fails with it; a write that was sent
 * fails with `ERR_COMMIT_UNKNOWN` and this as `cause`. `code`: `ERR_DQLITE_PROTOCOL`.
 */
export class DqliteProtocolError extends LitepoolError {
  /** @param message what was wrong */
  constructor(message: string) {
    super(message, 'ERR_DQLITE_PROTOCOL');
  }
}

/**
 * The TLS handshake with a node refused a certificate: the node's (not
 * signed by the `ca` given, or not for the name or address connected to) or
 * the client's (missing, or not signed by the cluster's CA). Asking again
 * does not help, so connecting fails with it as soon as every node refused.
 * `code`: `ERR_DQLITE_TLS`.
 */
export class DqliteTlsError extends LitepoolError {
  /** @param message which node, and what the handshake said @param options the TLS error as `cause` */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_DQLITE_TLS', options);
  }
}

/**
 * A result set grew past `maxResultBytes`: its connection is closed (the
 * only way to stop a node that is sending it). `code`: `ERR_RESULT_TOO_LARGE`.
 */
export class ResultTooLargeError extends LitepoolError {
  /** @param limit the limit, in bytes */
  constructor(readonly limit: number) {
    super(`The result set is larger than maxResultBytes (${limit} bytes): its connection was closed`, 'ERR_RESULT_TOO_LARGE');
  }
}

/**
 * Inside the backend: the leader is gone (or refused as not the leader), or
 * its connection was dropped for breaking the protocol; `applied`: whether
 * the request may have taken effect; `retry`: whether a read may run again
 * elsewhere (not after a protocol error: the read fails with it).
 */
export class LeaderGone extends Error {
  constructor(
    readonly applied: boolean,
    options: { cause?: unknown },
    readonly retry = true,
  ) {
    super('The dqlite leader was lost', options);
  }
}
