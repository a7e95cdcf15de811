/**
 * Messages between the pool (main thread) and its worker threads, and the
 * shared memory beside them. Requests and results travel in batches: one
 * message carries many of them.
 */
import type { Op, Request, Settings } from '../backend.js';
import type { ConnectionRole, JournalMode, PragmaValue } from '../strategy.js';
import type { Params } from '../types.js';
import { now } from '../timers.js';

/** A request as the worker sees it: numbered by its connection. */
export interface WireRequest {
  /** The connection's sequence number of this request (also its slot in the claim ring). */
  readonly seq: number;
  readonly op: Op;
  readonly sql: string;
  readonly params: Params | undefined;
  readonly probe: boolean;
  readonly readOnly: boolean;
  readonly inTransaction: boolean;
  /** The pool's COMMIT: roll back at once if it fails. */
  readonly final: boolean;
  /** With `final`: if SQLite keeps the transaction open after the COMMIT failed, keep it (no rollback). */
  readonly keepOpen: boolean;
  readonly cursor: number | undefined;
}

/** An error, flattened for the trip between threads. */
export interface WireError {
  /**
   * `sqlite`: SQLite raised it; `query`: the driver refused the call;
   * `read-only`: a write on a read-only connection; `aborted`: the strategy's
   * hold was lost; `interrupted`: the pool interrupted it (a timeout or an
   * abort); `transaction-lost`: SQLite had already ended the transaction;
   * `transaction-control`: a one-shot statement left a transaction open (rolled back).
   */
  readonly kind:
    | 'sqlite'
    | 'query'
    | 'read-only'
    | 'aborted'
    | 'interrupted'
    | 'transaction-lost'
    | 'transaction-control'
    /** The setup or procedures module failed to load, or setup threw. */
    | 'setup'
    /** A procedure threw: `name`, `message`, `code` and `stack` are its error's. */
    | 'procedure';
  readonly name: string;
  readonly message: string;
  readonly code: string | undefined;
  readonly stack: string | undefined;
  /** A write that failed while it ran: SQLite's counters after it (failure-counters.ts). */
  readonly changes?: number;
  readonly lastInsertRowid?: number | bigint;
}

/**
 * Requests as they cross the boundary: 4 slots per request, `[seq, op code |
 * flags, sql, params or cursor]`. A flat array clones about 3x faster than an
 * array of objects (measured: 1.75 vs 5.4 µs per batch of 13).
 */
export type PackedRequests = readonly unknown[];

/** Results as they cross the boundary: 3 slots per result, `[seq, status | TX_OPEN, value or error]`. */
export type PackedResponses = readonly unknown[];

// A backup request carries its destination path as `sql` and `[method, pagesPerStep]` as params.
// A procedure call carries the procedure's name as `sql` and its arguments as params.
const OPS: readonly Op[] = ['run', 'get', 'all', 'exec', 'iterate', 'next', 'close-cursor', 'backup', 'values', 'call'];
const OP_MASK = 15;
const PROBE = 16;
const READ_ONLY = 32;
const IN_TRANSACTION = 64;
/** The sql slot holds a prepared statement's id (`[id, sql]` the first time a connection sees it). */
const PREPARED = 128;
const FINAL = 256;
const KEEP_OPEN = 512;

/**
 * Packs requests for postMessage, numbering them from `firstSeq`. A prepared
 * statement travels as its id once the connection knows it (`known`, which
 * this updates): its SQL text crosses once per connection.
 */
export function packRequests(items: readonly Request[], firstSeq: number, known?: Set<number>): PackedRequests {
  const packed: unknown[] = new Array(items.length * 4);
  for (let i = 0, j = 0; i < items.length; i++, j += 4) {
    const request = items[i]!;
    const id = known === undefined ? undefined : request.statementId;
    packed[j] = firstSeq + i;
    packed[j + 1] =
      OPS.indexOf(request.op) |
      (request.probe === true ? PROBE : 0) |
      (request.readOnly === true ? READ_ONLY : 0) |
      (request.inTransaction === true ? IN_TRANSACTION : 0) |
      (id === undefined ? 0 : PREPARED) |
      (request.final === true ? FINAL : 0) |
      (request.keepOpen === true ? KEEP_OPEN : 0);
    if (id === undefined) packed[j + 2] = request.sql;
    else if (known!.has(id)) packed[j + 2] = id;
    else {
      known!.add(id);
      packed[j + 2] = [id, request.sql];
    }
    packed[j + 3] = request.op === 'next' || request.op === 'close-cursor' ? request.cursor : request.params;
  }
  return packed;
}

/** Unpacks what {@link packRequests} packed; `statements` maps prepared statement ids to their SQL (and learns new ones). */
export function unpackRequests(packed: PackedRequests, statements: Map<number, string>): WireRequest[] {
  const items: WireRequest[] = new Array(packed.length / 4);
  for (let i = 0, j = 0; j < packed.length; i++, j += 4) {
    const code = packed[j + 1] as number;
    const op = OPS[code & OP_MASK]!;
    const cursored = op === 'next' || op === 'close-cursor';
    let sql = packed[j + 2] as string | number | [number, string];
    if ((code & PREPARED) !== 0) {
      if (typeof sql === 'number') sql = statements.get(sql) ?? '';
      else if (Array.isArray(sql)) {
        statements.set(sql[0], sql[1]);
        sql = sql[1];
      }
    }
    items[i] = {
      seq: packed[j] as number,
      op,
      sql: sql as string,
      params: cursored ? undefined : (packed[j + 3] as Params | undefined),
      probe: (code & PROBE) !== 0,
      readOnly: (code & READ_ONLY) !== 0,
      inTransaction: (code & IN_TRANSACTION) !== 0,
      final: (code & FINAL) !== 0,
      keepOpen: (code & KEEP_OPEN) !== 0,
      cursor: cursored ? (packed[j + 3] as number) : undefined,
    };
  }
  return items;
}

/** How one request ended. */
export const Status = {
  Ok: 0,
  /** Ok, and the value holds BLOBs (Uint8Arrays to turn back into Buffers). */
  OkBlobs: 1,
  Failed: 2,
  /** A probed statement writes: send it to the writer. */
  Reroute: 3,
  /** Cancelled before it started (the pool took it back, or its caller aborted). */
  Skipped: 4,
  /** Ok, with the rows it changed: the value is `[Ok | OkBlobs | OkRows, value, change log]` (see ConnectionSettings.withChanges). */
  Changed: 5,
  /** Ok, and the value is rows packed (packed-rows.ts) to make into objects. */
  OkRows: 6,
  /** Ok, and the value is a cursor's chunk with its rows packed: `[cursor, done, packed rows]`. */
  OkChunk: 7,
} as const;
/** One of {@link Status}. */
export type Status = (typeof Status)[keyof typeof Status];

/** Set on a result's status when the connection is inside a transaction after that request. */
export const TX_OPEN = 8;
/** Set on a probe's result when its statement writes (it ran on the writer). */
export const WRITES = 16;

/** One result as the worker builds it. */
export interface WireResponse {
  readonly seq: number;
  readonly status: Status;
  readonly value: unknown;
  /** A probe that ran: its statement writes. */
  readonly writes?: boolean;
}

/** Packs results for postMessage; `open[i]` says whether a transaction was open after result i. */
export function packResponses(items: readonly WireResponse[], open: readonly boolean[]): PackedResponses {
  const packed: unknown[] = new Array(items.length * 3);
  for (let i = 0, j = 0; i < items.length; i++, j += 3) {
    const item = items[i]!;
    packed[j] = item.seq;
    packed[j + 1] = item.status | (open[i] === true ? TX_OPEN : 0) | (item.writes === true ? WRITES : 0);
    packed[j + 2] = item.value;
  }
  return packed;
}

/** Calls `visit` with each result {@link packResponses} packed, without building objects. */
export function forEachResponse(
  packed: PackedResponses,
  visit: (seq: number, status: Status, transactionOpen: boolean, writes: boolean, value: unknown) => void,
): void {
  for (let j = 0; j < packed.length; j += 3) {
    const code = packed[j + 1] as number;
    visit(packed[j] as number, (code & 7) as Status, (code & TX_OPEN) !== 0, (code & WRITES) !== 0, packed[j + 2]);
  }
}

/** Main thread to worker. */
export type ToWorker =
  | {
      readonly type: 'batch';
      readonly items: PackedRequests;
      /** Drop the page cache and connection state (reopen the connection) before running. */
      readonly reopen: boolean;
      /** Group commit: run all items in one transaction, each in its own SAVEPOINT. */
      readonly group: boolean;
      /** One-shot statements (not a lease's): each must leave the connection in autocommit. */
      readonly oneShot: boolean;
      /** Set to 1 by the pool when the strategy's hold is lost: run nothing more, commit nothing. */
      readonly abortFlag: Int32Array | undefined;
      /** The settings every request of the batch runs with (undefined: the pool's own). */
      readonly settings: Settings | undefined;
    }
  | { readonly type: 'close' }
  /** The connection may open now (sent once, to a worker started with `awaitGo`). */
  | { readonly type: 'go' }
  /** Close the connection but keep the thread, for another connection (see thread-reuse.ts); answered `parked`. */
  | { readonly type: 'park' }
  /** A parked thread's next connection: start again with this config, as a new thread would. */
  | { readonly type: 'rebind'; readonly config: WorkerConfig };

/** Worker to main thread. */
export type FromWorker =
  | { readonly type: 'ready'; readonly procedures: readonly (readonly [name: string, readOnly: boolean])[] }
  | { readonly type: 'open-failed'; readonly error: WireError }
  | { readonly type: 'results'; readonly items: PackedResponses; readonly retries: number }
  | { readonly type: 'progress'; readonly seq: number; readonly totalPages: number; readonly remainingPages: number }
  /** The connection is closed and the thread waits for a `rebind`. */
  | { readonly type: 'parked' };

/**
 * Slots of a connection's control block, an Int32Array on shared memory that
 * both threads read: what runs now, since when, and where to interrupt it.
 */
export const Control = {
  /** The sequence number of the request running now; 0 when none. */
  Running: 0,
  /** When it started: milliseconds since the connection's `origin`. */
  Since: 1,
  /** The request the pool asked to interrupt (so the worker can tell a stray interrupt from a wanted one). */
  Target: 2,
  /** The connection's token for the interrupt extension; 0 when it is not loaded. */
  Token: 3,
  /**
   * 1 from the moment a group's COMMIT starts until the worker takes its next
   * batch: if the worker dies meanwhile, that group may have committed.
   */
  Committing: 4,
  /**
   * Counts batches sent to the worker: the pool adds one and wakes a worker
   * that waits on it (looking for a transaction's next statement) after each.
   */
  Doorbell: 5,
  /** 1 while the worker waits on the doorbell: the pool rings (a system call) only then. */
  Waiting: 6,
  Length: 7,
} as const;

/**
 * The claim ring: one slot per request in flight (indexed by sequence number).
 * The worker writes `seq` when it starts a request (and `seq | WROTE` once it
 * has written), the pool writes `-seq` to cancel one that has not started;
 * compare-and-swap decides which won. If the worker dies, the ring tells the
 * pool which requests had started and which had written.
 */
export function ringSize(maxInFlight: number): number {
  let size = 64;
  while (size < maxInFlight * 2) size *= 2;
  return size;
}

/** Milliseconds since `origin` (wall-clock ms), as both threads measure it. */
export function sinceOrigin(origin: number): number {
  return Math.floor(performance.timeOrigin + now() - origin);
}

/**
 * The `workerData` of a thread started ahead of its first connection (see
 * `startSpareSoon`): it loads its code and (`preload`) better-sqlite3's
 * addon, says `parked`, and waits for a `rebind`, as a parked thread does.
 */
export interface SpareConfig {
  readonly spare: true;
  readonly nice: number;
  readonly nativeBinding: string | undefined;
  /** The interrupt extension its first connection will most likely load (loaded once here to warm it; a failure is the open's to report). */
  readonly interruptExtension: string | undefined;
  /** Load the addon and the extension now (false: at its first connection's open, so the process may end while it starts). */
  readonly preload: boolean;
}

/** Whether a thread's `workerData` is a {@link SpareConfig}. */
export function isSpareConfig(data: unknown): data is SpareConfig {
  return typeof data === 'object' && data !== null && (data as { spare?: unknown }).spare === true;
}

/** What a worker needs to open its connection (its `workerData`). */
export interface WorkerConfig {
  /** The database: an absolute path, or `:memory:`. */
  readonly filename: string;
  /** Open it read-only (the writer too: writes fail with SQLITE_READONLY). */
  readonly readOnly: boolean;
  /** Create the file if it is missing. */
  readonly create: boolean;
  readonly role: ConnectionRole;
  readonly journalMode: JournalMode;
  readonly busyTimeoutMs: number;
  readonly safeIntegers: boolean;
  /** Strategy PRAGMAs first, then the user's. */
  readonly pragmas: Readonly<Record<string, PragmaValue>>;
  readonly iterateChunkRows: number;
  /** Open the connection with the first batch instead of at start (see `Strategy.openUnderHold`). */
  readonly deferOpen: boolean;
  /**
   * Start (load the code) at once, but open the connection only on a `go`
   * message: the thread starts while the pool's gate is still closed (a
   * reader waits for the writer to create the file).
   */
  readonly awaitGo: boolean;
  /** The interrupt extension to load on the connection, or undefined. */
  readonly interruptExtension: string | undefined;
  /** better-sqlite3's native binding (a path), when it is not where better-sqlite3 looks itself. */
  readonly nativeBinding: string | undefined;
  /** Control block (see {@link Control}) and claim ring, on shared memory. */
  readonly control: Int32Array;
  readonly claims: Int32Array;
  /** Wall-clock ms that `Control.Since` counts from. */
  readonly origin: number;
  /** The setup module (a file URL): its setup function runs on every connection after it opens. */
  readonly setup: string | undefined;
  /** The procedures module (a file URL): its exported functions, callable by name. */
  readonly procedures: string | undefined;
  /** Runs on the calling thread (see inline-reads.ts): a statement that meets SQLITE_BUSY fails at once, never sleeps. */
  readonly onCallingThread?: boolean;
  /** How far below the thread that starts it this thread runs (the `workerNice` option; see thread-priority.ts). */
  readonly nice: number;
}
