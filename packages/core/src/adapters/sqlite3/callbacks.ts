/**
 * node-sqlite3's callback rules: a callback runs in the async context it was
 * passed in (request-scoped logging and tracing survive the trip through a
 * worker thread), and what it throws is the application's exception, not a
 * database error: it surfaces as an uncaught exception, as it would from
 * node-sqlite3's native callbacks.
 */
import { AsyncResource } from 'node:async_hooks';
import type { EventEmitter } from 'node:events';
import { clock } from '../../index.js';
import type { Sqlite3Error } from './constants.js';

/** Any callback the API takes. */
export type AnyCallback = (...args: never[]) => unknown;

/**
 * `fn` bound to the current async context (undefined stays undefined). Not
 * `AsyncResource.bind`: on Node 24 each of its bound functions carries two
 * deprecated accessors and objects that outlived young-generation GCs (64
 * `db.get` calls in flight: 11% of allocation promoted, 125k reads/s; this
 * way, 1.5% and 240k+).
 */
export function bindCallback<F extends AnyCallback>(fn: F | undefined): F | undefined {
  if (fn === undefined) return undefined;
  const resource = new AsyncResource('sqlite3.Callback');
  return function (this: unknown, ...args: unknown[]) {
    return resource.runInAsyncScope(fn as unknown as (...values: unknown[]) => unknown, this, ...args);
  } as unknown as F;
}

/**
 * Calls `fn` with `self` as `this`. An exception it throws is the app's: it
 * is rethrown from a microtask of its own, so it surfaces as an uncaught
 * exception at once (in the same turn, before a test runner moves on), not
 * as a rejection of the database's promise chains.
 */
export function invoke(fn: AnyCallback | undefined, self: unknown, ...args: unknown[]): void {
  if (fn === undefined) return;
  try {
    (fn as (...values: unknown[]) => unknown).apply(self, args);
  } catch (error) {
    rethrow(error);
  }
}

/** Throws `error` as an uncaught exception, in this turn (see {@link invoke}). */
export function rethrow(error: unknown): void {
  clock.queueMicrotask(() => {
    throw error;
  });
}

/** Splits `(params…, callback?)`, or with `count` 2 `(params…, rowCallback?, completeCallback?)`; callbacks come bound. */
export function splitCallbacks(args: readonly unknown[], count: 1 | 2): { params: unknown[]; callbacks: (AnyCallback | undefined)[] } {
  const params = [...args];
  const found: (AnyCallback | undefined)[] = [];
  while (found.length < count && typeof params.at(-1) === 'function') found.unshift(bindCallback(params.pop() as AnyCallback));
  while (found.length < count) found.push(undefined);
  return { params, callbacks: found };
}

/**
 * node-sqlite3's rule for an error: to the callback if there is one, else an
 * `error` event of `emitter` (a statement), or of `database` when `emitter`
 * has no listener; with no listener there either, an uncaught exception.
 */
export function deliverError(
  callback: AnyCallback | undefined,
  self: unknown,
  error: Sqlite3Error,
  emitter: EventEmitter,
  database: EventEmitter,
): void {
  if (callback !== undefined) return invoke(callback, self, error);
  const target = emitter !== database && emitter.listenerCount('error') === 0 ? database : emitter;
  try {
    target.emit('error', error);
  } catch (thrown) {
    rethrow(thrown); // no listener: an uncaught exception, as EventEmitter (and node-sqlite3) make it
  }
}
