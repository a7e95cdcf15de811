/**
 * Messages between the pool (main thread) and its worker threads. Requests
 * and results travel in batches: one message carries many of them.
 */
import type { ConnectionRole, JournalMode, PragmaValue } from '../strategy.js';

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

/**
 * Requests as they cross the boundary: 4 slots per request, `[id, op code
 * (| PROBE | READ_ONLY), sql, params or cursor]`. A flat array clones about 3x
 * faster than an array of objects (measured: 1.75 vs 5.4 µs per batch of 13).
 */
export type PackedRequests = readonly unknown[];

/** Results as they cross the boundary: 3 slots per result, `[id, status, value or error]`. */
export type PackedResponses = readonly unknown[];

const OPS: readonly Op[] = ['run', 'get', 'all', 'exec', 'iterate', 'next', 'close-cursor'];
const PROBE = 8;
const READ_ONLY = 16;

/** Packs requests for postMessage. */
export function packRequests(items: readonly WireRequest[]): PackedRequests {
  const packed: unknown[] = new Array(items.length * 4);
  for (let i = 0, j = 0; i < items.length; i++, j += 4) {
    const request = items[i]!;
    packed[j] = request.id;
    packed[j + 1] = OPS.indexOf(request.op) | (request.probe === true ? PROBE : 0) | (request.readOnly === true ? READ_ONLY : 0);
    packed[j + 2] = request.sql;
    packed[j + 3] = request.op === 'next' || request.op === 'close-cursor' ? request.cursor : request.params;
  }
  return packed;
}

/** Unpacks what {@link packRequests} packed. */
export function unpackRequests(packed: PackedRequests): WireRequest[] {
  const items: WireRequest[] = new Array(packed.length / 4);
  for (let i = 0, j = 0; j < packed.length; i++, j += 4) {
    const code = packed[j + 1] as number;
    const op = OPS[code & 7]!;
    const cursored = op === 'next' || op === 'close-cursor';
    items[i] = {
      id: packed[j] as number,
      op,
      sql: packed[j + 2] as string,
      params: cursored ? undefined : (packed[j + 3] as Params | undefined),
      probe: (code & PROBE) !== 0,
      readOnly: (code & READ_ONLY) !== 0,
      cursor: cursored ? (packed[j + 3] as number) : undefined,
    };
  }
  return items;
}

const OK = 0;
const OK_BLOBS = 1;
const FAILED = 2;
const REROUTE = 3;

/** Packs results for postMessage. */
export function packResponses(items: readonly WireResponse[]): PackedResponses {
  const packed: unknown[] = new Array(items.length * 3);
  for (let i = 0, j = 0; i < items.length; i++, j += 3) {
    const item = items[i]!;
    packed[j] = item.id;
    if (item.ok) {
      packed[j + 1] = item.blobs ? OK_BLOBS : OK;
      packed[j + 2] = item.value;
    } else if ('reroute' in item) {
      packed[j + 1] = REROUTE;
    } else {
      packed[j + 1] = FAILED;
      packed[j + 2] = item.error;
    }
  }
  return packed;
}

/** Calls `visit` with each result {@link packResponses} packed, without building objects. */
export function forEachResponse(
  packed: PackedResponses,
  visit: (id: number, outcome: 'ok' | 'blobs' | 'failed' | 'reroute', value: unknown) => void,
): void {
  for (let j = 0; j < packed.length; j += 3) {
    const status = packed[j + 1] as number;
    visit(packed[j] as number, status === OK ? 'ok' : status === OK_BLOBS ? 'blobs' : status === FAILED ? 'failed' : 'reroute', packed[j + 2]);
  }
}

/** Main thread to worker. */
export type ToWorker =
  | {
      readonly type: 'batch';
      readonly items: PackedRequests;
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
  | { readonly type: 'ready' }
  | { readonly type: 'open-failed'; readonly error: WireError }
  | { readonly type: 'results'; readonly items: PackedResponses; readonly retries: number }
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
