/**
 * Whether `promise` settles (resolves or rejects) within `ms`. With `unref`,
 * the timer does not keep the process alive on its own.
 */
import { clearTimeout, setTimeout } from './timers.js';
export function settlesWithin(promise: Promise<unknown>, ms: number, unref = false): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
      if (unref) timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}
