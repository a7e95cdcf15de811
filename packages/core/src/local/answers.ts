/**
 * The worker's answers: results and errors as they cross back to the pool
 * (errors flattened and typed by kind), and parameters as better-sqlite3
 * takes them (Buffers restored).
 */
import { packRows } from './packed-rows.js';
import { Status, type WireError, type WireResponse } from './protocol.js';
import type { CursorChunk, Params } from '../types.js';

/** An error that reaches the pool as a typed error of `kind`. */
export class KindedError extends Error {
  constructor(
    readonly kind: WireError['kind'],
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** The `code` of an error, if it is a string. */
export function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** SQLITE_BUSY or one of its extended codes. */
export const isBusy = (error: unknown): boolean => codeOf(error)?.startsWith('SQLITE_BUSY') === true;

/** SQLITE_INTERRUPT. */
export const isInterrupt = (error: unknown): boolean => codeOf(error) === 'SQLITE_INTERRUPT';

/** SQLite result codes after which a connection's state is unknown: it is closed and reopened before the next statement. */
export function leavesStateUnknown(code: string | undefined): boolean {
  return (
    code !== undefined && /^SQLITE_(IOERR|FULL|CORRUPT|NOTADB|CANTOPEN|NOMEM|PROTOCOL|READONLY_(ROLLBACK|RECOVERY|DBMOVED))/.test(code)
  );
}

/** The error of a request, flattened for the trip to the main thread. */
export function toWireError(error: unknown): WireError {
  const e = error instanceof Error ? error : new Error(String(error));
  const code = codeOf(e);
  const kind = e instanceof KindedError ? e.kind : code?.startsWith('SQLITE_') === true ? 'sqlite' : 'query';
  return { kind, name: e.name, message: e.message, code, stack: e.stack };
}

/** A result; `blobs`: it holds Uint8Arrays the pool turns back into Buffers; `writes`: a probe found it writes. */
export const ok = (seq: number, value: unknown, blobs: boolean, writes = false): WireResponse => ({
  seq,
  status: blobs ? Status.OkBlobs : Status.Ok,
  value,
  writes,
});

/** What get, all, values or iterate answer for a statement without rows (DDL, a write): none, as node-sqlite3 answers. */
export const noRows = (op: string): unknown =>
  op === 'get' || op === 'exec' ? undefined : op === 'iterate' ? { cursor: 0, rows: [], done: true } : [];

/** A failure. */
export const failed = (seq: number, error: unknown): WireResponse => ({ seq, status: Status.Failed, value: toWireError(error) });

/** A request cancelled before it started. */
export const skipped = (seq: number): WireResponse => ({ seq, status: Status.Skipped, value: undefined });

/** A probe that found its statement writes (the pool sends it to the writer), or a one-shot stream longer than a chunk (to a reader). */
export const reroute = (seq: number): WireResponse => ({ seq, status: Status.Reroute, value: undefined });

const NO_ARGS: unknown[] = [];

/** Buffers cross postMessage as Uint8Array: turn them back into Buffers for better-sqlite3. */
function toBuffer(value: unknown): unknown {
  return value instanceof Uint8Array && !Buffer.isBuffer(value) ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : value;
}

/** A request's parameters as better-sqlite3's arguments. */
export function bindArgs(params: Params | undefined): readonly unknown[] {
  if (params === undefined) return NO_ARGS;
  if (Array.isArray(params)) {
    // Copy only when a BLOB needs converting: most parameter lists are scalars.
    for (const value of params) if (value instanceof Uint8Array) return params.map(toBuffer);
    return params;
  }
  const named: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(params)) named[key] = toBuffer(value);
  return [named];
}

/** Whether a row holds a BLOB (any object value). */
export function hasBlob(row: unknown): boolean {
  if (row === null || typeof row !== 'object') return false;
  const record = row as Record<string, unknown>;
  for (const key in record) {
    const value = record[key];
    if (typeof value === 'object' && value !== null) return true;
  }
  return false;
}

/** Whether any of `rows` holds a BLOB. */
export function rowsHaveBlob(rows: readonly unknown[]): boolean {
  for (const row of rows) if (hasBlob(row)) return true;
  return false;
}

/**
 * The rows of an `all`: packed when `pack` and they can be (packed-rows.ts:
 * for the calling thread to make into objects), else as objects, BLOBs flagged.
 */
export function rowsOk(seq: number, rows: readonly unknown[], writes: boolean, pack: boolean): WireResponse {
  const packed = pack ? packRows(rows) : undefined;
  return packed === undefined ? ok(seq, rows, rowsHaveBlob(rows), writes) : { seq, status: Status.OkRows, value: packed, writes };
}

/** A cursor's chunk (`iterate`, `next`): its rows packed when `pack` and they can be, as {@link rowsOk}'s. */
export function chunkOk(seq: number, chunk: CursorChunk, pack: boolean): WireResponse {
  const packed = pack ? packRows(chunk.rows) : undefined;
  if (packed === undefined) return ok(seq, chunk, rowsHaveBlob(chunk.rows));
  return { seq, status: Status.OkChunk, value: [chunk.cursor, chunk.done, packed], writes: false };
}

/** The cursor of an `iterate` answer and whether it is done; undefined for a failure (or a reroute). */
export function chunkOf({ status, value }: WireResponse): Pick<CursorChunk, 'cursor' | 'done'> | undefined {
  if (status === Status.OkChunk) {
    const [cursor, done] = value as [number, boolean];
    return { cursor, done };
  }
  return status === Status.Ok || status === Status.OkBlobs ? (value as CursorChunk) : undefined;
}
