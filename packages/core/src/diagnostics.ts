/**
 * What a pool does, published on `node:diagnostics_channel`, so tracers
 * (OpenTelemetry, APM agents) can follow it without patching: each one-shot
 * call and procedure, each transaction, each wait for a strategy's lock as
 * `TracingChannel`s (start / end / asyncStart / asyncEnd / error, with the
 * context object below), and each batch sent, each group commit, each
 * connection replaced as plain channels. Nothing is built or published
 * while no one subscribes. See docs/diagnostics.md.
 */
import { channel, tracingChannel, type TracingChannel } from 'node:diagnostics_channel';

/** Context of `litepool:query`: one one-shot call (`pool.get`, `run`, `all`, …, a session's or a prepared statement's) or `pool.call`. */
export interface QueryTrace {
  /** The pool's database (its file, or the backend's location). */
  readonly database: string;
  /** The call: `get`, `all`, `run`, `exec`, `values`, `call`, … */
  readonly op: string;
  /** The SQL text (for `call`, the procedure's name). Parameters are not published. */
  readonly sql: string;
  /** Set by the channel: what the call resolved with. */
  result?: unknown;
  /** Set by the channel: why it failed. */
  error?: unknown;
}

/** Context of `litepool:transaction`: one `pool.transaction(fn)`. */
export interface TransactionTrace {
  readonly database: string;
  /** `immediate`, `deferred`, `exclusive` or `read`. */
  readonly mode: string;
  /** Whether it runs as a member of a transaction group (`groupTransactions`). */
  readonly grouped: boolean;
  result?: unknown;
  error?: unknown;
}

/** Context of `litepool:lock-wait`: a dispatch waiting for the strategy's lock (only when it has to wait). */
export interface LockWaitTrace {
  readonly database: string;
  /** The strategy's name. */
  readonly strategy: string;
  /** `read` or `write`. */
  readonly access: string;
  result?: unknown;
  error?: unknown;
}

/** Message of `litepool:batch`: one-shot requests sent to one connection together, once they are all answered. */
export interface BatchMessage {
  readonly database: string;
  /** `writer` or `reader`. */
  readonly role: string;
  /** Requests in the batch. */
  readonly requests: number;
  /** Whether they were group-committed (one transaction, one COMMIT). */
  readonly group: boolean;
  /** Time from sending to the last answer, in ms. */
  readonly durationMs: number;
}

/** Message of `litepool:transaction-group`: transactions run as one group (`groupTransactions`). */
export interface TransactionGroupMessage {
  readonly database: string;
  /** Transactions in the group. */
  readonly members: number;
  /** Of them, committed. */
  readonly committed: number;
  readonly durationMs: number;
}

/** Message of `litepool:connection-replaced`: a connection died (its thread crashed, was terminated, or its node was lost) and will be replaced. */
export interface ConnectionReplacedMessage {
  readonly database: string;
  /** `writer` or `reader`. */
  readonly role: string;
  /** Why it died. */
  readonly error: Error;
}

/** The channels, by name. */
export const channels = {
  query: tracingChannel<object, QueryTrace>('litepool:query'),
  transaction: tracingChannel<object, TransactionTrace>('litepool:transaction'),
  lockWait: tracingChannel<object, LockWaitTrace>('litepool:lock-wait'),
  batch: channel('litepool:batch'),
  transactionGroup: channel('litepool:transaction-group'),
  connectionReplaced: channel('litepool:connection-replaced'),
} as const;

/** Runs `fn` traced on `trace` with the context `make()` builds, only when someone subscribes. */
export function traced<T, C extends object>(trace: TracingChannel<object, C>, make: () => C, fn: () => Promise<T>): Promise<T> {
  return trace.hasSubscribers ? trace.tracePromise(fn, make()) : fn();
}
