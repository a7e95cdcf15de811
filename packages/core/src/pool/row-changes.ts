/**
 * Changed rows, from the worker that ran a statement to the session that
 * watches them (see `Session.watchChanges`): a session registers its
 * listener under the settings its requests carry, and a result that comes
 * back with a change log (status `Changed`) is delivered to it before the
 * caller gets the result.
 */
import type { Settings } from '../backend.js';
import { queueMicrotask } from '../timers.js';

/** One row an INSERT, UPDATE or DELETE changed, as SQLite's update hook reports it. */
export interface RowChange {
  /** What happened to the row. */
  readonly type: 'insert' | 'update' | 'delete';
  /** The schema the table is in (`main`, or an ATTACHed database's name). */
  readonly database: string;
  /** The table's name. */
  readonly table: string;
  /** The row's rowid (after the change). */
  readonly rowid: number;
}

/** Who hears of the rows changed by requests carrying these settings; keyed by the settings object, gone with it. */
const listeners = new WeakMap<Settings, (change: RowChange) => void>();

/** Delivers the rows changed by requests with `settings` to `listener` (one listener per settings object). */
export function listenForChanges(settings: Settings, listener: (change: RowChange) => void): void {
  listeners.set(settings, listener);
}

/** The rows of a change log (type, schema, table and rowid, each followed by a NUL). */
export function parseChangeLog(log: string): RowChange[] {
  const fields = log.split('\0');
  const changes: RowChange[] = [];
  for (let i = 0; i + 3 < fields.length; i += 4) {
    changes.push({
      type: fields[i] as RowChange['type'],
      database: fields[i + 1]!,
      table: fields[i + 2]!,
      rowid: Number(fields[i + 3]),
    });
  }
  return changes;
}

/**
 * Hands the rows in `log` to the listener of `settings`, in order. A listener
 * that throws does not stop the others or the result: its exception is
 * raised again as the app's own, in a microtask.
 */
export function deliverChanges(settings: Settings | undefined, log: string): void {
  const listener = settings === undefined ? undefined : listeners.get(settings);
  if (listener === undefined) return;
  for (const change of parseChangeLog(log)) {
    try {
      listener(change);
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}
