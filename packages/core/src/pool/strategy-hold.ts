/** Taking a strategy's hold for a dispatch, within what remains of the caller's acquire time. */
import { channels, traced } from '../diagnostics.js';
import { AcquireTimeoutError } from '../errors.js';
import type { AccessKind, Strategy, StrategyHold } from '../strategy.js';
import { clearTimeout, now, setTimeout } from '../timers.js';

/** Whose hold is taken: a lane's strategy, access kind, acquire limit, and database (for diagnostics). */
export interface HoldTaker {
  readonly strategy: Strategy;
  readonly access: AccessKind;
  readonly acquireTimeoutMs: number;
  readonly database: string;
}

/**
 * Takes the strategy's hold for `access`, racing it against what remains of
 * the acquire time (counted from `since`) when it must be waited for; a wait
 * is traced on `litepool:lock-wait`.
 */
export function takeHold(taker: HoldTaker, since: number): Promise<StrategyHold> | StrategyHold {
  const { strategy, access, database } = taker;
  const pending = strategy.acquire(access);
  if (!(pending instanceof Promise)) return pending;
  return traced(
    channels.lockWait,
    () => ({ database, strategy: strategy.name, access }),
    () => waitForHold(pending, taker.acquireTimeoutMs, since),
  );
}

async function waitForHold(pending: Promise<StrategyHold>, acquireTimeoutMs: number, since: number): Promise<StrategyHold> {
  const remaining = acquireTimeoutMs - (now() - since);
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      pending,
      new Promise<never>((_, reject) => {
        if (Number.isFinite(remaining)) {
          timer = setTimeout(() => reject(new AcquireTimeoutError(acquireTimeoutMs)), Math.max(0, remaining));
        }
      }),
    ]);
  } catch (error) {
    // A hold granted after we gave up is given straight back.
    pending.then(
      (late) => late.release(),
      () => {},
    );
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
