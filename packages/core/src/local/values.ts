/** Conversions of values that cross the thread boundary. */
import { LitepoolError, QueryError, SqliteError, TransactionError, LockCompromisedError } from '../errors.js';
import type { WireError } from './protocol.js';

/** BLOBs arrive as Uint8Array (postMessage drops the Buffer class): view them as Buffers again, without copying. */
export function blobsToBuffers(value: unknown): unknown {
  if (value instanceof Uint8Array) {
    return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = blobsToBuffers(value[i]);
    return value;
  }
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const field = record[key];
      if (typeof field === 'object' && field !== null) record[key] = blobsToBuffers(field);
    }
  }
  return value;
}

/** Rebuilds a typed error from its wire form; the worker's original becomes `cause`. */
export function fromWireError(wire: WireError): LitepoolError {
  const original = Object.assign(new Error(wire.message), { name: wire.name, code: wire.code });
  if (wire.stack !== undefined) original.stack = wire.stack;
  switch (wire.kind) {
    case 'sqlite':
      return new SqliteError(wire.message, wire.code ?? 'SQLITE_ERROR', { cause: original });
    case 'read-only':
      return new TransactionError(wire.message, 'ERR_READ_ONLY', { cause: original });
    case 'aborted':
      return new LockCompromisedError(wire.message, { cause: original });
    case 'query':
      return new QueryError(wire.message, { cause: original });
  }
}
