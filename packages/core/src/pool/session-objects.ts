/**
 * The TEMP objects and ATTACHed databases a session's statements made: they
 * live on the connection that ran them (the writer), so the session's
 * statements stay there while it has any, and its close drops them.
 */
const NAME = String.raw`("(?:[^"]|"")+"|\[[^\]]+\]|` + '`[^`]+`' + String.raw`|[^\s(;]+)`;
const CREATE_TEMP = new RegExp(
  String.raw`^CREATE\s+(?:(?:TEMP|TEMPORARY)\s+(TABLE|VIEW|TRIGGER)|(TABLE|VIEW|TRIGGER)\s+(?:IF\s+NOT\s+EXISTS\s+)?temp\s*\.)\s*(?:IF\s+NOT\s+EXISTS\s+)?(?:temp\s*\.\s*)?${NAME}`,
  'i',
);
const DROP = new RegExp(String.raw`^DROP\s+(TABLE|VIEW|TRIGGER)\s+(?:IF\s+EXISTS\s+)?(?:temp\s*\.\s*)?${NAME}`, 'i');
const ATTACH = new RegExp(String.raw`^ATTACH\s+.+\s+AS\s+${NAME}\s*$`, 'is');
const DETACH = new RegExp(String.raw`^DETACH\s+(?:DATABASE\s+)?${NAME}`, 'i');

/** A name as written, its quotes removed. */
function unquoted(name: string): string {
  const quoted = /^["`[](.*)["`\]]$/s.exec(name);
  return quoted === null ? name : quoted[1]!.replace(/""/g, '"');
}

/** A name as SQLite compares it: quotes removed, case folded. */
const bare = (name: string): string => unquoted(name).toLowerCase();

const quote = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** Dropping order: triggers, then views, then tables. */
function order(type: string): number {
  return type === 'TRIGGER' ? 0 : type === 'VIEW' ? 1 : 2;
}

/** One session's TEMP objects (name → TABLE, VIEW or TRIGGER) and ATTACHed databases. */
export class SessionObjects {
  readonly #temp = new Map<string, string>();
  readonly #attached = new Set<string>();

  /** Whether it holds TEMP objects (a DROP then matters). */
  get hasTemp(): boolean {
    return this.#temp.size > 0;
  }

  /**
   * Records what one statement creates or drops: 'made' (a TEMP object or an
   * attached database, which lives on the connection that ran it), 'dropped'
   * (one of them gone), or undefined (neither).
   */
  record(text: string): 'made' | 'dropped' | undefined {
    const created = CREATE_TEMP.exec(text);
    if (created !== null) {
      this.#temp.set(bare(created[3]!), (created[1] ?? created[2]!).toUpperCase());
      return 'made';
    }
    const attached = ATTACH.exec(text);
    if (attached !== null) {
      this.#attached.add(bare(attached[1]!));
      return 'made';
    }
    const detached = DETACH.exec(text);
    if (detached !== null) {
      this.#attached.delete(bare(detached[1]!));
      return 'dropped';
    }
    const dropped = DROP.exec(text);
    return dropped !== null && this.#temp.delete(bare(dropped[2]!)) ? 'dropped' : undefined;
  }

  /**
   * SQLite's message for `text` when it is a DETACH of a database this session
   * has not attached ("no such database: x"; main's: "cannot detach database
   * main"); undefined for any other statement.
   */
  detachRefusal(text: string): string | undefined {
    const detached = DETACH.exec(text);
    if (detached === null || this.#attached.has(bare(detached[1]!))) return undefined;
    const name = unquoted(detached[1]!);
    return name.toLowerCase() === 'main' ? `cannot detach database ${name}` : `no such database: ${name}`;
  }

  /**
   * The statements that drop them all, in an order SQLite accepts, and those
   * that detach the databases. Run the drops with foreign keys deferred: a
   * table's DROP deletes its rows first, which an enforced key of another
   * TEMP table (dropped after it) would refuse.
   */
  cleanup(): { readonly drops: string[]; readonly detaches: string[] } {
    return {
      drops: [...this.#temp]
        .sort(([, a], [, b]) => order(a) - order(b))
        .map(([name, type]) => `DROP ${type} IF EXISTS temp.${quote(name)}`),
      detaches: [...this.#attached].map((name) => `DETACH ${quote(name)}`),
    };
  }

  /** After a restore into temp: its TEMP objects are those it made (type, name), the ones before it dropped. */
  restored(made: ReadonlyArray<readonly [type: string, name: string]>): void {
    this.#temp.clear();
    for (const [type, name] of made) this.#temp.set(name.toLowerCase(), type);
  }
}
