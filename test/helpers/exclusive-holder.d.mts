/** A process holding a SQLite file exclusively. */
export interface ExclusiveHolder {
  /** Rolls back, closes and waits for the process to exit. */
  release(): Promise<unknown>;
  /** Kills the process (cleanup after a failed test). */
  kill(): boolean;
}
/** Resolves once `filename` is held by another process. */
export function holdExclusively(filename: string): Promise<ExclusiveHolder>;
