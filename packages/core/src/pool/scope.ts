/**
 * Whose call it is: the pool's own, or a session's, with its connection
 * settings, and whether its state keeps it on the writer.
 */
import type { Settings } from '../backend.js';
import type { StateTracker } from './lease.js';

/** Where a call runs: with a session's settings, pinned to the writer when the session keeps state there, and who tracks that state. */
export interface Scope {
  /** The connection settings its statements run with (undefined: the pool's own). */
  readonly settings: Settings | undefined;
  /** Its TEMP objects or ATTACHed databases live on the writer: every statement runs there. */
  readonly pinned: boolean;
  /** Who records the state its statements create, if anyone. */
  readonly tracker: StateTracker | undefined;
}

/** The pool's own scope: its own settings, routed by what statements do. */
export const POOL_SCOPE: Scope = Object.freeze({ settings: undefined, pinned: false, tracker: undefined });
