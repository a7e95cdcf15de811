/**
 * Concurrency checkers shared by the in-process tests and the child processes:
 * a read-modify-write counter and bank transfers, run by many async handlers.
 */
import { createPool, type Pool, type StrategyConfig } from '@litepool/core';

/** What a workload run saw. */
export interface WorkloadResult {
  /** Codes of every error that reached a caller. */
  readonly errors: string[];
  /** Reads that fell outside [acknowledged, attempted] at the moment of the read. */
  readonly outOfBounds: number;
  /** Operations acknowledged (committed) by this run. */
  readonly acknowledged: number;
}

const pause = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export async function setupCounter(pool: Pool): Promise<void> {
  await pool.exec('CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)');
  await pool.run('INSERT OR IGNORE INTO counter VALUES (1, 0)');
}

/** Creates the counter table in `filename` with a short-lived pool, for child processes to share. */
export async function createCounterDatabase(filename: string, strategy: StrategyConfig | string): Promise<void> {
  const pool = createPool({ filename, strategy });
  try {
    await setupCounter(pool);
  } finally {
    await pool.close();
  }
}

/**
 * `handlers` x `increments` read-modify-write increments with an await between
 * the read and the write. Every read must lie between the increments
 * acknowledged so far and those attempted (excluding the reader's own). With
 * other processes writing too (`exclusive` false) only the lower bound holds.
 */
export async function runCounter(pool: Pool, handlers: number, increments: number, exclusive: boolean): Promise<WorkloadResult> {
  const errors: string[] = [];
  let acknowledged = 0;
  let attempted = 0;
  let outOfBounds = 0;
  const start = (await pool.get<{ n: number }>('SELECT n FROM counter WHERE id = 1'))!.n;
  await Promise.all(
    Array.from({ length: handlers }, async () => {
      for (let i = 0; i < increments; i++) {
        attempted++;
        try {
          await pool.transaction(async (tx) => {
            const { n } = (await tx.get<{ n: number }>('SELECT n FROM counter WHERE id = 1'))!;
            const seen = n - start;
            if (seen < acknowledged || (exclusive && seen > attempted - 1)) outOfBounds++;
            await pause();
            await tx.run('UPDATE counter SET n = ? WHERE id = 1', [n + 1]);
          });
          acknowledged++;
        } catch (error) {
          errors.push((error as { code?: string }).code ?? String(error));
        }
      }
    }),
  );
  return { errors, outOfBounds, acknowledged };
}

export const ACCOUNTS = 10;
export const OPENING_BALANCE = 1000;

export async function setupBank(pool: Pool): Promise<void> {
  await pool.exec('CREATE TABLE IF NOT EXISTS account (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)');
  await pool.transaction(async (tx) => {
    for (let id = 1; id <= ACCOUNTS; id++) await tx.run('INSERT OR IGNORE INTO account VALUES (?, ?)', [id, OPENING_BALANCE]);
  });
}

/**
 * Random transfers between accounts (never overdrawing), plus read-only
 * audits that must always see the whole total in one snapshot.
 */
export async function runBank(
  pool: Pool,
  handlers: number,
  transfers: number,
  seed: number,
): Promise<WorkloadResult & { badAudits: number }> {
  const errors: string[] = [];
  let acknowledged = 0;
  let badAudits = 0;
  let state = seed;
  const random = (n: number): number => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state % n;
  };
  await Promise.all(
    Array.from({ length: handlers }, async (_, handler) => {
      for (let i = 0; i < transfers; i++) {
        try {
          if ((handler + i) % 8 === 0) {
            const total = await pool.transaction(async (tx) => (await tx.get<{ t: number }>('SELECT sum(balance) AS t FROM account'))!.t, {
              mode: 'read',
            });
            if (total !== ACCOUNTS * OPENING_BALANCE) badAudits++;
            continue;
          }
          const from = 1 + random(ACCOUNTS);
          const to = 1 + ((from + random(ACCOUNTS - 1)) % ACCOUNTS);
          const amount = 1 + random(200);
          await pool.transaction(async (tx) => {
            const { balance } = (await tx.get<{ balance: number }>('SELECT balance FROM account WHERE id = ?', [from]))!;
            await pause();
            if (balance < amount) return;
            await tx.run('UPDATE account SET balance = balance - ? WHERE id = ?', [amount, from]);
            await tx.run('UPDATE account SET balance = balance + ? WHERE id = ?', [amount, to]);
          });
          acknowledged++;
        } catch (error) {
          errors.push((error as { code?: string }).code ?? String(error));
        }
      }
    }),
  );
  return { errors, outOfBounds: 0, acknowledged, badAudits };
}
