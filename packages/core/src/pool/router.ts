/**
 * Routing: whether a statement runs on a reader or the writer, decided once
 * here for one-shot calls, streams, transactions and procedures. A statement
 * known to write goes to the writer; one known to read goes to a reader;
 * one whose first word says it writes (INSERT, CREATE, …) goes to the
 * writer; any other never seen is sent to a reader as a probe, which
 * prepares it and either runs it (a read) or sends it back (a write). What
 * was learnt is kept per SQL text. The writer also answers what a reader cannot: a read that meets
 * a hot journal, a table only the writer has, or a reader that cannot open.
 */
import type { Pending } from '../backend.js';
import { mayBeNoOp } from '../sql/conditional-ddl.js';
import { summarize } from '../sql/statements.js';

/** Where a statement goes. */
export type Route = 'write' | 'read' | 'probe';

/** Error codes after which the writer runs what a reader could not. */
const WRITER_ANSWERS = new Set([
  // A reader cannot roll back a killed writer's hot journal; the writer can.
  'SQLITE_READONLY_ROLLBACK',
  // A reader whose setup module fails (or that cannot open) must not take every read down with it.
  'ERR_SETUP',
]);

/**
 * Reads out to readers below which the pool counts as lightly loaded. Not 1:
 * with two callers, one read always out would keep the other off the calling
 * thread for good; and not 4: with 8 or 16 callers the reads a turn's budget
 * sent to readers kept 4 out for good, and those callers got 73-84k reads/s
 * through readers instead of 116-172k here (64 callers: the same either way).
 */
const QUIET_READS_OUT = 16;

/** Bound on the routes kept: an app that builds SQL text dynamically must not grow the table forever. */
const MAX_ROUTES = 10_000;

/** The pool's routing table. */
export class Router {
  readonly #routes = new Map<string, boolean>();
  /** One-shot reads sent to readers and not answered yet. */
  #readsOut = 0;
  /** Open sessions pinned to the writer: while there are none, no table lives on the writer alone. */
  #writerSchemas = 0;

  /**
   * @param readers whether the pool has readers at all
   * @param readsOnly the backend's own answer from the text alone (see `BackendBinding.readsOnly`), if it has one
   */
  constructor(
    private readonly readers: boolean,
    private readonly readsOnly: ((sql: string) => boolean | undefined) | undefined,
  ) {}

  /** Where `sql` goes for `op`; `pinned`: the caller's state lives on the writer. */
  route(op: string, sql: string, pinned: boolean): Route {
    const summary = summarize(sql);
    // A CREATE … IF NOT EXISTS or DROP … IF EXISTS may be a no-op, which a reader answers (sql/conditional-ddl.ts),
    // while nothing lives on the writer alone (a TEMP table of the name, an ATTACHed schema).
    if (summary.writes && this.readers && !pinned && this.#writerSchemas === 0 && !summary.script && mayBeNoOp(sql)) return 'probe';
    // Known from its first word to write (INSERT, CREATE, …): a probe would only send it back from a reader.
    if (op === 'exec' || !this.readers || pinned || summary.writerState || summary.writes) return 'write';
    const writes = this.#routes.get(sql);
    if (writes !== undefined) return writes ? 'write' : 'read';
    const reads = this.readsOnly?.(sql);
    if (reads === undefined) return 'probe';
    this.remember(sql, !reads);
    return reads ? 'read' : 'write';
  }

  /**
   * Whether few one-shot reads sent to readers wait for their answers: reads
   * may then be answered on the calling thread (see read-now.ts).
   */
  get readersQuiet(): boolean {
    return this.#readsOut < QUIET_READS_OUT;
  }

  /** Whether the route of `sql` is known (it has run, or the backend could tell from its text). */
  knows(sql: string): boolean {
    return this.#routes.has(sql);
  }

  /** What is now known of `sql`. */
  remember(sql: string, writes: boolean): void {
    // Whether such a statement writes depends on the schema it meets each time.
    if (mayBeNoOp(sql)) return;
    if (this.#routes.size >= MAX_ROUTES) this.#routes.clear();
    this.#routes.set(sql, writes);
  }

  /** Counts a session that pinned itself to the writer (`1`) or closed pinned (`-1`). */
  writerSchemas(delta: 1 | -1): void {
    this.#writerSchemas += delta;
  }

  /**
   * The waiter for `caller`'s statement sent to a reader (`route` read or
   * probe): a probe learns the route, or goes to the writer when the reader
   * finds it writes; `toWriter` runs it on the writer when the reader cannot.
   */
  readerWaiter(route: 'read' | 'probe', sql: string, caller: Pending, toWriter: () => void): Pending {
    this.#readsOut++;
    let out = true;
    const answered = (): void => {
      if (out) this.#readsOut--;
      out = false;
    };
    const fallBack = (error: Error): void => {
      answered();
      const code = (error as { code?: unknown }).code;
      // A table only the writer has (a session's TEMP table, an ATTACHed database) fails to prepare on a reader.
      // Only then is the writer asked: it may be held by a transaction, and a missing table must fail at once.
      const writerOnly = route === 'probe' && code === 'SQLITE_ERROR' && this.#writerSchemas > 0;
      if (writerOnly || (typeof code === 'string' && WRITER_ANSWERS.has(code))) toWriter();
      else caller.reject(error);
    };
    const resolve = (value: unknown): void => {
      answered();
      caller.resolve(value);
    };
    if (route === 'read') return { resolve, reject: fallBack, timeoutMs: caller.timeoutMs, signal: caller.signal };
    return {
      resolve,
      learn: (writes) => this.remember(sql, writes),
      reject: fallBack,
      reroute: () => {
        answered();
        this.remember(sql, true);
        toWriter();
      },
      timeoutMs: caller.timeoutMs,
      signal: caller.signal,
    };
  }
}
