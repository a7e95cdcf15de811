/**
 * What crosses a port between a pool and a client in another thread
 * (`pool.connectPort()` / `connectClient(port)`): numbered requests, their
 * answers, and errors flattened so the client rebuilds the same classes.
 */
import * as errors from '../errors.js';
import { LitepoolError } from '../errors.js';
import type { Params } from '../types.js';
import type { StatementOp } from './query-methods.js';
import type { TransactionMode } from './transaction-scope.js';

/** Client to server, before the client numbers it. `tx` names the transaction a statement belongs to (none: the pool). */
export type ClientRequest =
  | {
      readonly t: 'q';
      readonly op: StatementOp;
      readonly sql: string;
      readonly params: Params | undefined;
      readonly tx: number | undefined;
      /** The call's `timeoutMs`; its `signal` stays in the client's thread and crosses as an `abort` message. */
      readonly timeoutMs: number | undefined;
      readonly abortable: boolean;
    }
  | { readonly t: 'call'; readonly name: string; readonly args: readonly unknown[]; readonly tx: number | undefined }
  | { readonly t: 'begin'; readonly mode: TransactionMode; readonly tx: number | undefined }
  | { readonly t: 'end'; readonly tx: number; readonly commit: boolean }
  | { readonly t: 'abort'; readonly target: number; readonly tx: undefined };

/** Client to server. */
export type ClientMessage = ClientRequest & { readonly id: number };

/** An error as it crosses the port: enough to rebuild the same class and code. */
export interface PortError {
  readonly name: string;
  readonly message: string;
  readonly code: string | undefined;
}

/** Server to client. */
export type ServerMessage =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: PortError }
  | { readonly t: 'closed' };

export function toPortError(error: unknown): PortError {
  const e = error as { name?: unknown; message?: unknown; code?: unknown };
  return {
    name: typeof e?.name === 'string' ? e.name : 'Error',
    message: typeof e?.message === 'string' ? e.message : String(error),
    code: typeof e?.code === 'string' ? e.code : undefined,
  };
}

/** Rebuilds litepool's error classes by name (so `instanceof SqliteError` holds in the client's thread), and built-in ones. */
export function fromPortError(wire: PortError): Error {
  const known = (errors as Record<string, unknown>)[wire.name];
  if (typeof known === 'function' && (known === LitepoolError || known.prototype instanceof LitepoolError)) {
    return Reflect.construct(LitepoolError, [wire.message, wire.code ?? 'ERR_QUERY'], known) as Error;
  }
  return errors.errorNamed(wire.name, wire.message, wire.code);
}
