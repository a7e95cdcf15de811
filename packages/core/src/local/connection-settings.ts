/**
 * A worker connection switching between connection settings: a session's
 * PRAGMAs and double-quoted-string rule before its requests, the pool's own
 * before anyone else's. What a session changed is put back from a baseline
 * read before it was changed.
 */
import type Database from 'better-sqlite3';
import type { Settings } from '../backend.js';
import { KindedError } from './answers.js';

/** PRAGMAs that cannot be read back, with the value a fresh connection has. */
const WRITE_ONLY_DEFAULTS: Readonly<Record<string, number>> = { case_sensitive_like: 0 };

/** A PRAGMA value as SQL text: booleans as 1 and 0, numbers and bare words as they are. */
export function pragmaLiteral(value: unknown): string {
  return typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
}

/** The settings one connection runs with now. */
export class ConnectionSettings {
  /** The id of the settings in force (0: the pool's own). */
  #id = 0;
  /** The PRAGMAs those settings changed, with the values to put back. */
  readonly #baseline = new Map<string, unknown>();
  /** Those settings allowed double-quoted string literals. */
  #doubleQuoted = false;

  /** @param canSetQuotes whether the litepool extension is loaded (it sets the double-quoted-string rule) */
  constructor(private readonly canSetQuotes: boolean) {}

  /** The connection closed: a new one starts with the pool's own settings. */
  forget(): void {
    this.#id = 0;
    this.#baseline.clear();
    this.#doubleQuoted = false;
  }

  /**
   * Switches `db` to `settings` (undefined: the pool's own), first putting
   * back what the previous settings changed. Never inside a transaction.
   */
  use(db: Database.Database, settings: Settings | undefined): void {
    const id = settings?.id ?? 0;
    if (id === this.#id) return;
    // Inside a transaction some PRAGMAs (foreign_keys) do nothing: switching now would leak settings. Only a
    // transaction left open could bring another session's requests here; refuse rather than run them in it.
    if (db.inTransaction)
      throw new KindedError('transaction-control', 'A transaction was left open on this connection; its requests were not run');
    for (const [name, value] of this.#baseline) db.pragma(`${name} = ${pragmaLiteral(value)}`);
    this.#baseline.clear();
    if (this.#doubleQuoted) {
      db.prepare('SELECT litepool_dqs(0)').get();
      this.#doubleQuoted = false;
    }
    this.#id = 0;
    if (settings !== undefined) {
      for (const [name, value] of Object.entries(settings.pragmas)) {
        if (!this.#baseline.has(name)) this.#baseline.set(name, db.pragma(name, { simple: true }) ?? WRITE_ONLY_DEFAULTS[name] ?? 0);
        db.pragma(`${name} = ${pragmaLiteral(value)}`);
      }
      // Without the litepool extension (not built for this platform) the setting cannot be made: SQLite's stays.
      if (settings.doubleQuotedStrings === true && this.canSetQuotes) {
        db.prepare('SELECT litepool_dqs(1)').get();
        this.#doubleQuoted = true;
      }
    }
    this.#id = id;
  }
}
