/**
 * A worker connection switching between connection settings: a session's
 * PRAGMAs, double-quoted-string rule, run-time limits and change log before
 * its requests, the pool's own before anyone else's. What a session changed
 * is put back from a baseline read before it was changed.
 */
import type Database from 'better-sqlite3';
import type { Settings } from '../backend.js';
import { CONNECTION_PRAGMAS, pragmaAssignment, statements } from '../sql/statements.js';
import { KindedError } from './answers.js';
import { Status, type WireResponse } from './protocol.js';

/** PRAGMAs that cannot be read back, with the value a fresh connection has. */
const WRITE_ONLY_DEFAULTS: Readonly<Record<string, number>> = { case_sensitive_like: 0 };

/** SQL that may set a PRAGMA. */
const PRAGMA_TEXT = /\bPRAGMA\b/i;
/** PRAGMAs the strategy chooses: never a session's. */
const STRATEGY_PRAGMAS = new Set(['journal_mode', 'locking_mode']);

/** Bound on the switching statements a connection keeps compiled. */
const MAX_COMPILED = 64;

/** A PRAGMA value as SQL text: booleans as 1 and 0, numbers and bare words as they are. */
export function pragmaLiteral(value: unknown): string {
  return typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
}

/** Whether two records hold the same keys with the same values. */
function sameEntries(a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => Object.is(a[key], b[key]));
}

/** Whether two sessions' settings set a connection the same way (sessions of drop-in Databases mostly do). */
function sameEffect(a: Settings, b: Settings): boolean {
  return (
    (a.doubleQuotedStrings === true) === (b.doubleQuotedStrings === true) &&
    a.watchChanges === b.watchChanges &&
    sameEntries(a.pragmas, b.pragmas) &&
    sameEntries(a.limits, b.limits) &&
    a.extensions.length === b.extensions.length &&
    a.extensions.every((path, i) => path === b.extensions[i])
  );
}

/** The settings one connection runs with now. */
export class ConnectionSettings {
  /** The settings in force (undefined: the pool's own). */
  #current: Settings | undefined;
  /** The PRAGMAs those settings changed, with the values to put back. */
  readonly #baseline = new Map<string, unknown>();
  /** A statement of those settings' requests set a PRAGMA itself (see {@link noteAssignments}): another's settings switch in full. */
  #assigned = false;
  /** Those settings allowed double-quoted string literals. */
  #doubleQuoted = false;
  /** The run-time limits those settings changed (category → the value to put back). */
  readonly #limits = new Map<number, number>();
  /** Those settings watch changed rows: the extension's update hook is on. */
  #watching = false;
  /** Extensions loaded into this connection (by any settings: SQLite cannot unload one). */
  readonly #loaded = new Set<string>();
  /**
   * The extension's statements, prepared before a session's limits apply (a
   * low `SQLITE_LIMIT_SQL_LENGTH` would refuse to compile them after).
   */
  #extensionStatements: { limit: Database.Statement; changes: Database.Statement } | undefined;
  /**
   * The PRAGMA and extension statements switching runs, compiled once: a
   * statement compiled per switch cost 100-500 µs (SQLite expires every
   * statement of the connection at each flag PRAGMA, and those left for the
   * garbage collector count), a cached one a few µs.
   */
  readonly #compiled = new Map<string, Database.Statement>();

  /**
   * @param extension whether the litepool extension is loaded: it sets the
   * double-quoted-string rule, the limits and the update hook; without it
   * those settings have no effect
   */
  constructor(private readonly extension: boolean) {}

  /** The connection closed: a new one starts with the pool's own settings. */
  forget(): void {
    this.#current = undefined;
    this.#assigned = false;
    this.#baseline.clear();
    this.#doubleQuoted = false;
    this.#limits.clear();
    this.#watching = false;
    this.#loaded.clear();
    this.#extensionStatements = undefined;
    this.#compiled.clear();
  }

  /** Runs `sql` (a PRAGMA or an extension call), compiled once per connection; returns its first value. */
  #run(db: Database.Database, sql: string): unknown {
    let statement = this.#compiled.get(sql);
    if (statement === undefined) {
      // Values come from sessions' settings: a bounded cache, emptied when full.
      if (this.#compiled.size >= MAX_COMPILED) this.#compiled.clear();
      statement = db.prepare(sql);
      if (statement.reader) statement.pluck();
      this.#compiled.set(sql, statement);
    }
    if (!statement.reader) {
      statement.run();
      return undefined;
    }
    return statement.get();
  }

  /**
   * Switches `db` to `settings` (undefined: the pool's own), first putting
   * back what the previous settings changed. Never inside a transaction.
   * True when run-time limits changed: SQLite checks most of them when a
   * statement compiles, so statements compiled before must be compiled again.
   * Settings that set the connection as those in force do change nothing.
   */
  use(db: Database.Database, settings: Settings | undefined): boolean {
    const current = this.#current;
    if (settings?.id === current?.id) return false;
    if (settings !== undefined && current !== undefined && !this.#assigned && sameEffect(settings, current)) {
      this.#current = settings;
      return false;
    }
    // Inside a transaction some PRAGMAs (foreign_keys) do nothing: switching now would leak settings. Only a
    // transaction left open could bring another session's requests here; refuse rather than run them in it.
    if (db.inTransaction)
      throw new KindedError('transaction-control', 'A transaction was left open on this connection; its requests were not run');
    // The limits first: what follows compiles statements a limit could refuse.
    let limitsChanged = this.#limits.size > 0;
    for (const [category, value] of this.#limits) this.#extensionStatements!.limit.get(category, value);
    this.#limits.clear();
    for (const [name, value] of this.#baseline) this.#run(db, `PRAGMA ${name} = ${pragmaLiteral(value)}`);
    this.#baseline.clear();
    if (this.#doubleQuoted) {
      this.#run(db, 'SELECT litepool_dqs(0)');
      this.#doubleQuoted = false;
    }
    if (this.#watching) {
      this.#run(db, 'SELECT litepool_watch(0)');
      this.#watching = false;
    }
    this.#current = undefined;
    this.#assigned = false;
    if (settings !== undefined) {
      for (const path of settings.extensions) {
        if (this.#loaded.has(path)) continue;
        db.loadExtension(path);
        this.#loaded.add(path);
      }
      for (const [name, value] of Object.entries(settings.pragmas)) {
        this.#noteBaseline(db, name);
        this.#run(db, `PRAGMA ${name} = ${pragmaLiteral(value)}`);
      }
      // Without the litepool extension (not built for this platform) these cannot be set: SQLite's defaults stay.
      if (this.extension) this.#useExtension(db, settings);
      if (this.#limits.size > 0) limitsChanged = true;
    }
    this.#current = settings;
    return limitsChanged;
  }

  /**
   * Before `sql` runs as a session's request (a statement inside its
   * transaction or on its lease, which the session also takes as its setting):
   * the connection-scoped PRAGMAs it sets get their values noted, to be put
   * back when another's settings come, as the session's own are. The pool's
   * own requests keep what they set, as before.
   */
  noteAssignments(db: Database.Database, sql: string): void {
    if (this.#current === undefined || !PRAGMA_TEXT.test(sql)) return;
    for (const { text } of statements(sql)) {
      const name = pragmaAssignment(text)?.name;
      if (name === undefined || !CONNECTION_PRAGMAS.has(name) || STRATEGY_PRAGMAS.has(name)) continue;
      this.#noteBaseline(db, name);
      this.#assigned = true;
    }
  }

  /** Notes PRAGMA `name`'s value before it first changes under the settings in force, to be put back after them. */
  #noteBaseline(db: Database.Database, name: string): void {
    if (!this.#baseline.has(name)) this.#baseline.set(name, this.#run(db, `PRAGMA ${name}`) ?? WRITE_ONLY_DEFAULTS[name] ?? 0);
  }

  /** The settings the extension makes: the limits last, once nothing more is to be compiled. */
  #useExtension(db: Database.Database, settings: Settings): void {
    const statements = (this.#extensionStatements ??= {
      limit: db.prepare('SELECT litepool_limit(?, ?)').pluck(),
      changes: db.prepare('SELECT litepool_changes()').pluck(),
    });
    if (settings.doubleQuotedStrings === true) {
      this.#run(db, 'SELECT litepool_dqs(1)');
      this.#doubleQuoted = true;
    }
    if (settings.watchChanges) {
      this.#run(db, 'SELECT litepool_watch(1)');
      this.#watching = true;
    }
    for (const [category, value] of Object.entries(settings.limits)) {
      const before = statements.limit.get(Number(category), value) as number;
      if (!this.#limits.has(Number(category))) this.#limits.set(Number(category), before);
    }
  }

  /**
   * `response`, carrying the rows its statement changed when the settings in
   * force watch them: the status `Changed` and `[status, value, log]`, the log
   * as the extension writes it (type, schema, table and rowid of each row,
   * each followed by a NUL). A failed statement's log is dropped.
   */
  withChanges(response: WireResponse): WireResponse {
    if (!this.#watching) return response;
    const log = this.#extensionStatements!.changes.get() as string | null;
    if (log === null || response.status === Status.Failed || response.status === Status.Skipped) return response;
    return { ...response, status: Status.Changed, value: [response.status, response.value, log] };
  }
}
