/** Pools that close themselves when the test ends. */
import { createPool, type Pool, type PoolOptions } from '@litepool/core';
import type { TestContext } from 'node:test';
import { tempDb } from './temp.js';

/** A pool on a fresh database, destroyed after the test. */
export function testPool(t: TestContext, options: Partial<PoolOptions> = {}): Pool {
  const pool = createPool({ filename: tempDb(t), ...options });
  t.after(() => pool.destroy());
  return pool;
}

/** Resolves after the event loop turns once (an `await` that really yields to other handlers). */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Rejects if `promise` has not settled after `ms`: turns a hang into a failure with a message. */
export async function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
