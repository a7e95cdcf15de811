/**
 * The short way of `Database#get`, `#all` and `#run`: one small object per
 * call instead of a one-shot `Statement` with its queue. A call with nothing
 * to wait for (open, parallel mode, no transaction, nothing queued before it
 * that it must follow; the usual call of a web app) starts at once on the
 * session, without a chain of promises; any other waits in its database's
 * order as that object (a loop of `db.run(...)` in a transaction, or in
 * serialized mode, queues thousands). Its outcome is the one the statement's
 * way gives (a `Statement` as `this`, the same binding, counters and
 * errors); a call whose values do not bind goes that way.
 */
import type { QueryOptions, Row, RunResult } from '../../index.js';
import { bindCallback, invoke, type AnyCallback } from './callbacks.js';
import type { Sqlite3Error } from './constants.js';
import type { Link } from './link.js';
import { linkOf } from './link-registry.js';
import { bindArguments } from './params.js';
import { Statement } from './statement.js';
import { NO_STATEMENT, textToRun } from './statement-text.js';
import type { QuickWork, Target } from './target.js';

/** The methods that have a short way. */
export type QuickMethod = 'get' | 'all' | 'run';

/** One call of `db[method](sql, ...values, callback?)`. */
class OneShotCall implements QuickWork<Row | Row[] | RunResult | undefined> {
  constructor(
    readonly db: object,
    readonly link: Link,
    readonly method: QuickMethod,
    /** The SQL as given (a `Statement` made for the callback's `this` gets it) and the statement it runs. */
    readonly sql: string,
    readonly text: string,
    readonly bound: ReturnType<typeof bindArguments>,
    readonly callback: AnyCallback | undefined,
  ) {}

  /** Runs it on `target`. */
  query(target: Target, options: QueryOptions): Promise<Row | Row[] | RunResult | undefined> {
    const { sql, params } = this.bound;
    if (this.method === 'run') return target.run(sql, params, options);
    return this.method === 'get' ? target.get<Row>(sql, params, options) : target.all<Row>(sql, params, options);
  }

  /** Its outcome to its callback: `this` the statement with the counters of a `run`, then the row or rows. */
  deliver(result: Row | Row[] | RunResult | undefined): void {
    const { callback, link } = this;
    if (this.method === 'run') {
      if (callback === undefined) return link.counters.record(this.bound.sql, result as RunResult);
      const statement = this.#self();
      link.counters.record(this.bound.sql, result as RunResult, statement);
      return invoke(callback, statement, null);
    }
    if (callback === undefined) return;
    if (result === undefined) invoke(callback, this.#self(), null);
    else invoke(callback, this.#self(), null, result);
  }

  /** {@link Work.perform}: a call queued in its database's order. */
  async perform(target: Target, options: QueryOptions, ran: () => void): Promise<void> {
    const result = await this.query(target, options);
    ran();
    this.deliver(result);
  }

  fail(error: Sqlite3Error): void {
    // A write that failed while it ran zeroes SQLite's count of changes, whichever method ran it.
    this.link.counters.failed(this.text, error);
    this.link.deliverError(this.callback, this.callback === undefined ? undefined : this.#self(), error);
  }

  /** The callback's `this`, made only for a callback. */
  #self(): Statement {
    return Statement.oneShot(this.db, this.sql);
  }
}

/** Runs `db[method](sql, ...args)` the short way and returns true, or returns false (nothing done) when it goes the statement's way. */
export function quickCall(db: object, method: QuickMethod, sql: string, args: readonly unknown[]): boolean {
  if (typeof sql !== 'string') return false;
  const link = linkOf(db);
  const text = textToRun(sql);
  const kind = method === 'run' ? 'write' : 'read';
  if (text === NO_STATEMENT) return false;
  const now = link.startsNow(text, kind);
  const last = args.at(-1);
  const given = typeof last === 'function' ? (last as AnyCallback) : undefined;
  let bound: ReturnType<typeof bindArguments>;
  try {
    bound = bindArguments(text, given === undefined ? args : args.slice(0, -1));
  } catch {
    return false; // a binding error: reported the statement's way
  }
  // A call that starts now answers from a promise reaction made here, in the caller's async context, so
  // AsyncLocalStorage and domains carry over without a resource; a queued one answers later: its callback is bound.
  const call = new OneShotCall(db, link, method, sql, text, bound, now ? given : bindCallback(given));
  if (!now) {
    void link.schedule(text, kind, call);
    return true;
  }
  link.startNow(kind, call);
  return true;
}
