/**
 * Messages between the pool (main thread) and its worker threads. Requests
 * and results travel in batches: one message carries many of them.
 */
import type { ConnectionRole, JournalMode, PragmaValue } from './strategy.js';

/** A value SQLite can bind: NULL, INTEGER/REAL (number, bigint), TEXT, BLOB (Buffer/Uint8Array). */
export type BindValue = null | number | bigint | string | Uint8Array;

/** Parameters, as better-sqlite3 takes them: positional (`?`, `?NNN`) or named (`:name`, `@name`, `$name`). */
export type Params = readonly BindValue[] | Readonly<Record<string, BindValue>>;

/** What a request asks the worker to do. */
export type Op = 'run' | 'get' | 'all' | 'exec' | 'iterate' | 'next' | 'close-cursor';

/** One request inside a batch. */
export interface WireRequest {
  readonly id: number;
  readonly op: Op;
  readonly sql: string;
  readonly params: Params | undefined;
  /** Set on a one-shot read sent to a reader before its route is known: answer `reroute` if the statement writes. */
  readonly probe?: boolean;
  /** Part of a read-only transaction or lease: refuse statements that write, even on the writer. */
  readonly readOnly?: boolean;
  /** The cursor of `next` and `close-cursor`. */
  readonly cursor?: number;
}

/** An error, flattened for the trip between threads. */
export interface WireError {
  /** `sqlite`: SQLite raised it; `query`: the driver refused the call; `read-only`: a write on a reader; `aborted`: the hold was lost. */
  readonly kind: 'sqlite' | 'query' | 'read-only' | 'aborted';
  readonly name: string;
  readonly message: string;
  readonly code: string | undefined;
  readonly stack: string | undefined;
}

/** One result inside a results message. */
export type WireResponse =
  | { readonly id: number; readonly ok: true; readonly value: unknown; readonly blobs: boolean }
  | { readonly id: number; readonly ok: false; readonly error: WireError }
  | { readonly id: number; readonly ok: false; readonly reroute: true };

/** The outcome of `run`. */
export interface RunResult {
  /** Rows inserted, updated or deleted by the statement. */
  readonly changes: number;
  /** The rowid of the last inserted row (a bigint with `safeIntegers`). */
  readonly lastInsertRowid: number | bigint;
}

/** A chunk of a streamed result. */
export interface CursorChunk {
  readonly cursor: number;
  readonly rows: unknown[];
  readonly done: boolean;
}

/** Main thread to worker. */
export type ToWorker =
  | {
      readonly type: 'batch';
      readonly items: readonly WireRequest[];
      /** Drop the page cache (reopen the connection) before running: the cache epoch changed. */
      readonly reopen: boolean;
      /** Group commit: run all items in one transaction, each in its own SAVEPOINT. */
      readonly group: boolean;
      /** Set to 1 by the pool when the strategy's hold is lost: run nothing more, commit nothing. */
      readonly abortFlag: Int32Array | undefined;
    }
  | { readonly type: 'close' };

/** Worker to main thread. */
export type FromWorker =
  | { readonly type: 'ready'; readonly sqliteVersion: string }
  | { readonly type: 'open-failed'; readonly error: WireError }
  | { readonly type: 'results'; readonly items: readonly WireResponse[]; readonly retries: number }
  | { readonly type: 'closed' };

/** What a worker needs to open its connection (its `workerData`). */
export interface WorkerConfig {
  readonly filename: string;
  readonly role: ConnectionRole;
  readonly journalMode: JournalMode;
  readonly busyTimeoutMs: number;
  readonly safeIntegers: boolean;
  /** Strategy PRAGMAs first, then the user's. */
  readonly pragmas: Readonly<Record<string, PragmaValue>>;
  readonly iterateChunkRows: number;
  /** Open the connection with the first batch instead of at start (see `Strategy.openUnderHold`). */
  readonly deferOpen: boolean;
}
