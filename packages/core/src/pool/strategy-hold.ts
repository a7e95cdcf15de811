/** Taking a strategy's hold for a dispatch, within what remains of the caller's acquire time. */
import { AcquireTimeoutError } from '../errors.js';
import type { AccessKind, Strategy, StrategyHold } from '../strategy.js';
import { clearTimeout, now, setTimeout } from '../timers.js';

/** Takes the strategy's hold for `access`, racing it against what remains of the acquire time when it must be waited for. */
export async function takeHold(strategy: Strategy, access: AccessKind, since: number, acquireTimeoutMs: number): Promise<StrategyHold> {
  const pending = strategy.acquire(access);
  if (!(pending instanceof Promise)) return pending;
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
