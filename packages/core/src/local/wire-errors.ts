/** Errors as they come back from a worker thread, rebuilt as litepool's typed errors. */
import { errorNamed, LockCompromisedError, QueryError, SetupError, SqliteError, TransactionError } from '../errors.js';
import type { WireError } from './protocol.js';

/** Rebuilds a typed error from its wire form; the worker's original becomes `cause`. */
export function fromWireError(wire: WireError): Error {
  const original = Object.assign(new Error(wire.message), { name: wire.name, code: wire.code });
  if (wire.stack !== undefined) original.stack = wire.stack;
  switch (wire.kind) {
    case 'sqlite':
    case 'interrupted':
      return new SqliteError(wire.message, wire.code ?? 'SQLITE_ERROR', {
        cause: original,
        changes: wire.changes,
        lastInsertRowid: wire.lastInsertRowid,
      });
    case 'read-only':
      return new TransactionError(wire.message, 'ERR_READ_ONLY', { cause: original });
    case 'transaction-lost':
      return new TransactionError(wire.message, 'ERR_TRANSACTION_ABORTED', { cause: original });
    case 'transaction-control':
      return new TransactionError(wire.message, 'ERR_TRANSACTION_CONTROL', { cause: original });
    case 'aborted':
      return new LockCompromisedError(wire.message, { cause: original });
    case 'query':
      return new QueryError(wire.message, { cause: original });
    case 'setup':
      return new SetupError(wire.message, { cause: original });
    case 'procedure':
      // A procedure's error, as close to the original as a thread boundary allows.
      return errorNamed(wire.name, wire.message, wire.code, wire.stack);
  }
}
