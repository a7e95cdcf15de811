/**
 * The short way of `Database#get`, `#all` and `#run`: a call with nothing to
 * wait for (open, parallel mode, no transaction, nothing queued before it
 * that it must follow; the usual call of a web app) starts at once on the
 * session, without a statement's queue and its chain of promises. Its
 * outcome is the one the statement's way gives (a `Statement` as `this`, the
 * same binding, counters and errors); any other call goes that way.
 */
import type { Row, RunResult } from '../../index.js';
import { invoke, type AnyCallback } from './callbacks.js';
import type { Sqlite3Error } from './constants.js';
import { linkOf } from './link-registry.js';
import { bindArguments } from './params.js';
import { Statement } from './statement.js';
import { NO_STATEMENT, textToRun } from './statement-text.js';

/** The methods that have a short way. */
export type QuickMethod = 'get' | 'all' | 'run';

/** Runs `db[method](sql, ...args)` the short way and returns true, or returns false (nothing done) when it must be queued. */
export function quickCall(db: object, method: QuickMethod, sql: string, args: readonly unknown[]): boolean {
  if (typeof sql !== 'string') return false;
  const link = linkOf(db);
  const text = textToRun(sql);
  const kind = method === 'run' ? 'write' : 'read';
  if (text === NO_STATEMENT || !link.startsNow(text, kind)) return false;
  const last = args.at(-1);
  // Not bound to the caller's async context, as the statement's way binds each callback: the promise reaction that
  // answers is made here, in the caller's context, so AsyncLocalStorage and domains carry over without a resource.
  const callback = typeof last === 'function' ? (last as AnyCallback) : undefined;
  let bound: ReturnType<typeof bindArguments>;
  try {
    bound = bindArguments(text, callback === undefined ? args : args.slice(0, -1));
  } catch {
    return false; // a binding error: reported the statement's way
  }
  const { sql: query, params } = bound;
  // The callback's `this`, made only for a callback.
  const self = (): Statement => Statement.oneShot(db, sql);
  const answer = (...results: unknown[]): void => {
    if (callback !== undefined) invoke(callback, self(), null, ...results);
  };
  const onError = (error: Sqlite3Error): void => {
    // A write that failed while it ran zeroes SQLite's count of changes, whichever method ran it.
    link.counters.failed(text, error);
    link.deliverError(callback, callback === undefined ? undefined : self(), error);
  };
  if (method === 'get') {
    const deliver = (row: Row | undefined): void => (row === undefined ? answer() : answer(row));
    link.startNow(kind, (target, options) => target.get<Row>(query, params, options), deliver, onError);
  } else if (method === 'all') {
    link.startNow(kind, (target, options) => target.all<Row>(query, params, options), answer, onError);
  } else {
    const deliver = (result: RunResult): void => {
      if (callback === undefined) return link.counters.record(query, result);
      const statement = self();
      link.counters.record(query, result, statement);
      invoke(callback, statement, null);
    };
    link.startNow(kind, (target, options) => target.run(query, params, options), deliver, onError);
  }
  return true;
}
