/** Warnings: what the application should know about, as `warning` events of the pool. */

/** Something the application should know about; a pool emits it as a `warning` event. */
export class LitepoolWarning extends Error {
  /**
   * A stable code: `LITEPOOL_LEASE_HELD`, `LITEPOOL_LEASE_ROLLED_BACK`,
   * `LITEPOOL_NO_INTERRUPT`, `LITEPOOL_STATEMENT_ABANDONED`,
   * `LITEPOOL_CONNECTION_ABANDONED`, `LITEPOOL_LEADER_CHANGED` (dqlite).
   */
  readonly code: string;

  /** @param code the stable code @param message what happened, for people */
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }

  /** `LitepoolWarning` (the warning's type, as process.emitWarning prints it). */
  override get name(): string {
    return 'LitepoolWarning';
  }
}
