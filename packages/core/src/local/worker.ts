/**
 * A worker thread that owns one better-sqlite3 connection. It runs batches of
 * requests in order and answers each batch with one message. The connection
 * never leaves this thread.
 */
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import {
  packResponses,
  unpackRequests,
  type FromWorker,
  type Params,
  type ToWorker,
  type WireError,
  type WireRequest,
  type WireResponse,
  type WorkerConfig,
} from './protocol.js';

type Statement = Database.Statement<unknown[], unknown>;

const config = workerData as WorkerConfig;
const port = parentPort;
if (port === null) throw new Error('litepool worker started outside a worker thread');

const STATEMENT_CACHE_SIZE = 500;
const BUSY_RETRIES = 3;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

let db: Database.Database;
const statements = new Map<string, Statement>();
const cursors = new Map<number, IterableIterator<unknown>>();
let nextCursor = 1;
let retries = 0;

class ReadOnlyViolation extends Error {}
class Aborted extends Error {}

function post(message: FromWorker): void {
  port!.postMessage(message);
}

function open(): void {
  const readonly = config.role === 'reader';
  db = new Database(config.filename, { readonly, fileMustExist: readonly, timeout: config.busyTimeoutMs });
  db.defaultSafeIntegers(config.safeIntegers);
  if (!readonly) {
    const mode = db.pragma(`journal_mode = ${config.journalMode}`, { simple: true });
    if (String(mode).toLowerCase() !== config.journalMode) {
      throw Object.assign(new Error(`SQLite refused journal_mode=${config.journalMode} (it kept ${String(mode)})`), {
        code: 'SQLITE_CANTOPEN',
      });
    }
  }
  for (const [name, value] of Object.entries(config.pragmas)) {
    db.pragma(`${name} = ${typeof value === 'boolean' ? (value ? 1 : 0) : value}`);
  }
}

function closeConnection(): void {
  // db is unset until the first open when opening is deferred.
  for (const iterator of cursors.values()) iterator.return?.();
  cursors.clear();
  statements.clear();
  if (db?.open) db.close();
}

function toWireError(error: unknown): WireError {
  const e = error instanceof Error ? error : new Error(String(error));
  const code = (e as { code?: unknown }).code;
  const kind =
    e instanceof ReadOnlyViolation
      ? 'read-only'
      : e instanceof Aborted
        ? 'aborted'
        : typeof code === 'string' && code.startsWith('SQLITE_')
          ? 'sqlite'
          : 'query';
  return { kind, name: e.name, message: e.message, code: typeof code === 'string' ? code : undefined, stack: e.stack };
}

/** Buffers cross postMessage as Uint8Array: turn them back into Buffers for better-sqlite3. */
function toBuffer(value: unknown): unknown {
  return value instanceof Uint8Array && !Buffer.isBuffer(value)
    ? Buffer.from(value.buffer, value.byteOffset, value.byteLength)
    : value;
}

const NO_ARGS: unknown[] = [];

function bindArgs(params: Params | undefined): readonly unknown[] {
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

function prepare(sql: string): Statement {
  let statement = statements.get(sql);
  if (statement !== undefined) {
    if (!statement.busy) return statement;
    // An open cursor is using the cached statement: give this call its own.
    return db.prepare(sql) as Statement;
  }
  statement = db.prepare(sql) as Statement;
  statements.set(sql, statement);
  // Evict the oldest prepared (insertion order): cheap, and hot statements are re-prepared at most once per cycle.
  if (statements.size > STATEMENT_CACHE_SIZE) {
    const oldest = statements.keys().next().value;
    if (oldest !== undefined) statements.delete(oldest);
  }
  return statement;
}

function hasBlob(row: unknown): boolean {
  if (row === null || typeof row !== 'object') return false;
  const record = row as Record<string, unknown>;
  for (const key in record) {
    const value = record[key];
    if (typeof value === 'object' && value !== null) return true;
  }
  return false;
}

function rowsHaveBlob(rows: readonly unknown[]): boolean {
  for (const row of rows) if (hasBlob(row)) return true;
  return false;
}

function nextChunk(cursor: number, iterator: IterableIterator<unknown>): { cursor: number; rows: unknown[]; done: boolean } {
  const rows: unknown[] = [];
  while (rows.length < config.iterateChunkRows) {
    const step = iterator.next();
    if (step.done === true) {
      cursors.delete(cursor);
      return { cursor, rows, done: true };
    }
    rows.push(step.value);
  }
  return { cursor, rows, done: false };
}

function execute(request: WireRequest): WireResponse {
  const { id, op, sql } = request;
  if (op === 'exec') {
    if (request.readOnly === true && config.role === 'writer') {
      db.pragma('query_only = 1');
      try {
        db.exec(sql);
      } finally {
        db.pragma('query_only = 0');
      }
    } else {
      db.exec(sql);
    }
    return { id, ok: true, value: undefined, blobs: false };
  }
  if (op === 'next' || op === 'close-cursor') {
    const cursor = request.cursor ?? 0;
    const iterator = cursors.get(cursor);
    if (op === 'close-cursor' || iterator === undefined) {
      iterator?.return?.();
      cursors.delete(cursor);
      return { id, ok: true, value: { cursor, rows: [], done: true }, blobs: false };
    }
    const chunk = nextChunk(cursor, iterator);
    return { id, ok: true, value: chunk, blobs: rowsHaveBlob(chunk.rows) };
  }
  const statement = prepare(sql);
  if (!statement.readonly && (config.role === 'reader' || request.readOnly === true)) {
    if (request.probe === true) return { id, ok: false, reroute: true };
    throw new ReadOnlyViolation(
      'This statement writes, but it ran on a read-only connection (a read transaction or a read lease)',
    );
  }
  const args = bindArgs(request.params);
  switch (op) {
    case 'run': {
      const { changes, lastInsertRowid } = statement.run(...args);
      return { id, ok: true, value: { changes, lastInsertRowid }, blobs: false };
    }
    case 'get': {
      const row = statement.get(...args);
      return { id, ok: true, value: row, blobs: hasBlob(row) };
    }
    case 'all': {
      const rows = statement.all(...args);
      return { id, ok: true, value: rows, blobs: rowsHaveBlob(rows) };
    }
    case 'iterate': {
      const cursor = nextCursor++;
      const iterator = statement.iterate(...args) as IterableIterator<unknown>;
      cursors.set(cursor, iterator);
      const chunk = nextChunk(cursor, iterator);
      return { id, ok: true, value: chunk, blobs: rowsHaveBlob(chunk.rows) };
    }
  }
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/**
 * Runs one request. SQLITE_BUSY is retried (after the busy timeout already
 * waited) only where a retry is safe: an autocommit statement that changed
 * nothing, or a COMMIT, which SQLite documents as retryable.
 */
function runWithRetry(request: WireRequest): WireResponse {
  const retryable = !db.inTransaction || /^\s*(COMMIT|END)\b/i.test(request.sql);
  for (let attempt = 0; ; attempt++) {
    try {
      return execute(request);
    } catch (error) {
      if (!retryable || attempt >= BUSY_RETRIES || !isBusy(error)) throw error;
      retries++;
      Atomics.wait(sleeper, 0, 0, 5 * 2 ** attempt);
    }
  }
}

function aborted(flag: Int32Array | undefined): boolean {
  return flag !== undefined && Atomics.load(flag, 0) !== 0;
}

function fail(id: number, error: unknown): WireResponse {
  return { id, ok: false, error: toWireError(error) };
}

/** The answer to a request that did not run because the strategy's hold was lost first. */
function lostHold(id: number): WireResponse {
  return fail(id, new Aborted('The strategy hold was lost before this request ran'));
}

function runEach(items: readonly WireRequest[], flag: Int32Array | undefined): WireResponse[] {
  return items.map((request) => {
    if (aborted(flag)) return lostHold(request.id);
    try {
      return runWithRetry(request);
    } catch (error) {
      return fail(request.id, error);
    }
  });
}

/** Whether a reader may run this batch in one read transaction: plain one-shot reads, nothing open. */
function snapshotable(items: readonly WireRequest[]): boolean {
  if (config.role !== 'reader' || items.length < 2 || db.inTransaction || cursors.size > 0) return false;
  for (const request of items) if (request.op !== 'get' && request.op !== 'all') return false;
  return true;
}

/**
 * A reader's batch in one read transaction: the requests were all in flight
 * at once, so one snapshot answers them as truly as several, and SQLite takes
 * its read lock once instead of once per statement (about 3x fewer ns per
 * point read). A SQLITE_BUSY ends the snapshot; the rest run alone, with retries.
 */
function runSnapshot(items: readonly WireRequest[], flag: Int32Array | undefined): WireResponse[] {
  const results: WireResponse[] = [];
  let next = 0;
  prepare('BEGIN').run(); // the statement cache keeps BEGIN and COMMIT prepared
  try {
    for (; next < items.length; next++) {
      const request = items[next]!;
      if (aborted(flag)) {
        results.push(lostHold(request.id));
        continue;
      }
      try {
        results.push(execute(request));
      } catch (error) {
        if (isBusy(error)) break;
        results.push(fail(request.id, error));
      }
    }
  } finally {
    if (db.inTransaction) prepare('COMMIT').run();
  }
  if (next < items.length) results.push(...runEach(items.slice(next), flag));
  return results;
}

/**
 * Group commit: one transaction, each request inside its own SAVEPOINT so a
 * failing one rolls back alone. Nothing is acknowledged before COMMIT succeeds.
 */
function runGroup(items: readonly WireRequest[], flag: Int32Array | undefined): WireResponse[] {
  try {
    runWithRetry({ id: 0, op: 'exec', sql: 'BEGIN IMMEDIATE', params: undefined });
  } catch (error) {
    return items.map((request) => fail(request.id, error));
  }
  const results = items.map((request) => {
    if (aborted(flag)) return lostHold(request.id);
    prepare('SAVEPOINT litepool_group').run(); // prepared once, not parsed per write
    try {
      const response = execute(request);
      prepare('RELEASE litepool_group').run();
      return response;
    } catch (error) {
      db.exec('ROLLBACK TO litepool_group; RELEASE litepool_group');
      return fail(request.id, error);
    }
  });
  try {
    if (aborted(flag)) throw new Aborted('The strategy hold was lost before COMMIT: the batch was rolled back');
    runWithRetry({ id: 0, op: 'exec', sql: 'COMMIT', params: undefined });
    return results;
  } catch (error) {
    if (db.inTransaction) db.exec('ROLLBACK');
    return items.map((request) => fail(request.id, error));
  }
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'close') {
    closeConnection();
    post({ type: 'closed' });
    port.close();
    return;
  }
  if (message.reopen || db?.open !== true) {
    try {
      closeConnection();
      open();
    } catch (error) {
      // Every request of the batch fails with the open error; the next batch tries again.
      closeConnection();
      post({ type: 'results', items: packResponses(unpackRequests(message.items).map((request) => fail(request.id, openError(error)))), retries: 0 });
      return;
    }
  }
  const before = retries;
  const requests = unpackRequests(message.items);
  const items = message.group
    ? runGroup(requests, message.abortFlag)
    : snapshotable(requests)
      ? runSnapshot(requests, message.abortFlag)
      : runEach(requests, message.abortFlag);
  post({ type: 'results', items: packResponses(items), retries: retries - before });
});

/** better-sqlite3 checks the directory itself and throws without a code: that is SQLite's CANTOPEN. */
function openError(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? error : Object.assign(error as object, { code: 'SQLITE_CANTOPEN' });
}

try {
  if (!config.deferOpen) open();
  post({ type: 'ready' });
} catch (error) {
  post({ type: 'open-failed', error: toWireError(openError(error)) });
  port.close();
}
