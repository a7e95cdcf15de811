/**
 * One "host" of the network-drive workload: a process with `handlers` async
 * handlers incrementing one counter through its own mount, until `ms` after
 * the parent says go.
 *   node network-host.js '{"subject":…,"op":…,"filename":…,"handlers":…,"ms":…}'
 * Prints `ready`, waits for a line on stdin, runs, prints one JSON line of
 * {@link HostResult}.
 */
import { createPool } from '@litepool/core';
import { Mutex } from 'async-mutex';
import BetterSqlite3 from 'better-sqlite3';
import * as hdr from 'hdr-histogram-js';
import { once } from 'node:events';
import lockfile from 'proper-lockfile';
import { countError } from './errors.js';

/** How each increment is written. */
export type NetworkOp = 'rmw-transaction' | 'increment';
/** Who coordinates the hosts. */
export type NetworkSubject = 'litepool file-lock' | 'litepool file-lock, groupTransactions' | 'one lock per transaction';

/** What the parent passes to a host. */
export interface HostJob {
  readonly subject: NetworkSubject;
  readonly op: NetworkOp;
  readonly filename: string;
  readonly handlers: number;
  readonly ms: number;
}

/** What a host reports. */
export interface HostResult {
  readonly ok: number;
  readonly errors: Record<string, number>;
  readonly p50: number;
  readonly p99: number;
  /** From go until the last handler finished. */
  readonly seconds: number;
}

type Increment = () => Promise<void>;

async function litepool(job: HostJob): Promise<{ increment: Increment; close: () => Promise<void> }> {
  const grouped = job.subject === 'litepool file-lock, groupTransactions';
  const pool = createPool({ filename: job.filename, strategy: { name: 'file-lock', groupTransactions: grouped } });
  await pool.get('SELECT n FROM counter WHERE id = 1'); // opens under the lock before the clock starts
  const increment: Increment =
    job.op === 'increment'
      ? async () => void (await pool.run('UPDATE counter SET n = n + 1 WHERE id = 1'))
      : () =>
          pool.transaction(async (tx) => {
            const row = await tx.get<{ n: number }>('SELECT n FROM counter WHERE id = 1');
            await tx.run('UPDATE counter SET n = ? WHERE id = 1', [row!.n + 1]);
          });
  return { increment, close: () => pool.close() };
}

/**
 * The usual hand-rolled alternative: an in-process mutex so the handlers queue
 * locally, and one proper-lockfile hold around every transaction so the hosts
 * take turns. The connection opens under each hold (rollback journal,
 * synchronous FULL): one kept open across holds serves pages cached before
 * the other host wrote, and loses updates.
 */
function lockPerTransaction(job: HostJob): { increment: Increment; close: () => Promise<void> } {
  const local = new Mutex();
  const increment: Increment = () =>
    local.runExclusive(async () => {
      const release = await lockfile.lock(job.filename, {
        lockfilePath: `${job.filename}.lock`,
        realpath: false,
        stale: 10_000,
        retries: { retries: 10_000, minTimeout: 2, maxTimeout: 20, factor: 1.2 },
      });
      try {
        const db = new BetterSqlite3(job.filename, { timeout: 5000 });
        try {
          db.pragma('synchronous = FULL');
          db.transaction(() => {
            if (job.op === 'increment') db.prepare('UPDATE counter SET n = n + 1 WHERE id = 1').run();
            else {
              const { n } = db.prepare<[], { n: number }>('SELECT n FROM counter WHERE id = 1').get()!;
              db.prepare('UPDATE counter SET n = ? WHERE id = 1').run(n + 1);
            }
          }).immediate();
        } finally {
          db.close();
        }
      } finally {
        await release();
      }
    });
  return { increment, close: async () => {} };
}

const job = JSON.parse(process.argv[2] ?? '{}') as HostJob;
const subject = job.subject === 'one lock per transaction' ? lockPerTransaction(job) : await litepool(job);
process.stdout.write('ready\n');
await once(process.stdin, 'data');

const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
const errors: Record<string, number> = {};
let ok = 0;
const start = performance.now();
const end = start + job.ms;
await Promise.all(
  Array.from({ length: job.handlers }, async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        await subject.increment();
        ok++;
        histogram.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
      } catch (error) {
        countError(errors, error);
      }
    }
  }),
);
const seconds = (performance.now() - start) / 1000;
await subject.close();
const result: HostResult = {
  ok,
  errors,
  seconds,
  p50: histogram.getValueAtPercentile(50) / 1000,
  p99: histogram.getValueAtPercentile(99) / 1000,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
process.stdin.destroy();
