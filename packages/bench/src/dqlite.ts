/**
 * `pnpm bench --dqlite`: a 3-node dqlite cluster on loopback (Debian's
 * `dqlite-demo`, started here), one-shot writes and read-modify-write
 * transactions at 1 and 64 in flight, through litepool's pool against the
 * two ways an app would use a dqlite client without it: one connection per
 * caller (each retrying "database is locked", as the leader admits one
 * writer at a time and has no busy timeout) and one shared connection behind
 * a client-side mutex.
 */
import { createPool, type Pool } from '@litepool/core';
import { DqliteClient, NodeFailure, dqlite } from '@litepool/dqlite';
import { Mutex } from 'async-mutex';
import { countError } from './errors.js';

/** The ways of talking to the cluster that are compared. */
export type DqliteSubject = 'litepool pool' | 'one connection per caller' | 'one connection + mutex';
/** The operations. */
export type DqliteOp = 'one-shot write' | 'rmw transaction';

/** One cell. */
export interface DqliteResult {
  readonly subject: DqliteSubject;
  readonly op: DqliteOp;
  readonly concurrency: number;
  readonly ok: number;
  readonly seconds: number;
  readonly throughput: number;
  readonly errors: Record<string, number>;
  /** "database is locked" answers retried (one connection per caller). */
  readonly retries: number;
  /** Acknowledged increments missing from the counter (rmw only). */
  readonly lostUpdates: number | null;
  readonly p50: number;
  readonly p99: number;
}

export const DQLITE_SUBJECTS: readonly DqliteSubject[] = ['litepool pool', 'one connection per caller', 'one connection + mutex'];
export const DQLITE_OPS: readonly DqliteOp[] = ['one-shot write', 'rmw transaction'];

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** What a subject does for one operation. */
interface Driver {
  write(value: number): Promise<void>;
  increment(): Promise<void>;
  total(): Promise<number>;
  close(): Promise<void>;
  retries: number;
}

const isLocked = (error: unknown): boolean => error instanceof NodeFailure && (error.code & 0xff) === 5;

/** One read-modify-write transaction on a bare client, rolled back on failure. */
async function incrementOn(client: DqliteClient): Promise<void> {
  await client.exec('BEGIN', []);
  try {
    const { rows } = await client.query('SELECT n FROM counter WHERE id = 1', [], false);
    await tick();
    await client.exec('UPDATE counter SET n = ? WHERE id = 1', [(rows[0]![0] as number) + 1]);
    await client.exec('COMMIT', []);
  } catch (error) {
    await client.exec('ROLLBACK', []).catch(() => {});
    throw error;
  }
}

async function openDriver(subject: DqliteSubject, servers: readonly string[], database: string, concurrency: number): Promise<Driver> {
  if (subject === 'litepool pool') {
    const pool: Pool = createPool({ backend: dqlite({ servers, database }) });
    return {
      retries: 0,
      write: async (value) => void (await pool.run('INSERT INTO log (v) VALUES (?)', [value])),
      increment: () =>
        pool.transaction(async (tx) => {
          const row = await tx.get<{ n: number }>('SELECT n FROM counter WHERE id = 1');
          await tick();
          await tx.run('UPDATE counter SET n = ? WHERE id = 1', [row!.n + 1]);
        }),
      total: async () => (await pool.get<{ n: number }>('SELECT n FROM counter WHERE id = 1'))!.n,
      close: () => pool.close(),
    };
  }
  if (subject === 'one connection + mutex') {
    const client = await DqliteClient.connect(servers, database, 20_000);
    const mutex = new Mutex();
    return {
      retries: 0,
      write: (value) => mutex.runExclusive(async () => void (await client.exec('INSERT INTO log (v) VALUES (?)', [value]))),
      increment: () => mutex.runExclusive(() => incrementOn(client)),
      total: async () => (await client.query('SELECT n FROM counter WHERE id = 1', [], false)).rows[0]![0] as number,
      close: async () => client.close(),
    };
  }
  // One connection per caller, each retrying "database is locked" with a short backoff, as a dqlite user must.
  const clients = await Promise.all(Array.from({ length: concurrency }, () => DqliteClient.connect(servers, database, 20_000)));
  let next = 0;
  /** Runs `work` on the next caller's connection, retrying "database is locked" (up to 50 times). */
  const retrying = async (work: (client: DqliteClient) => Promise<void>): Promise<void> => {
    const client = clients[next++ % clients.length]!;
    for (let attempt = 0; ; attempt++) {
      try {
        return await work(client);
      } catch (error) {
        if (!isLocked(error) || attempt >= 50) throw error;
        driver.retries++;
        await new Promise((resolve) => setTimeout(resolve, 1 + Math.random() * 5));
      }
    }
  };
  const driver: Driver = {
    retries: 0,
    write: (value) => retrying(async (client) => void (await client.exec('INSERT INTO log (v) VALUES (?)', [value]))),
    increment: () => retrying(incrementOn),
    total: async () => (await clients[0]!.query('SELECT n FROM counter WHERE id = 1', [], false)).rows[0]![0] as number,
    close: async () => {
      for (const client of clients) client.close();
    },
  };
  return driver;
}

/** Runs one cell: `concurrency` callers in a closed loop for `ms`. */
export async function runDqliteCell(
  servers: readonly string[],
  subject: DqliteSubject,
  op: DqliteOp,
  concurrency: number,
  ms: number,
  database: string,
): Promise<DqliteResult> {
  const setup = await DqliteClient.connect(servers, database, 20_000);
  await setup.exec('CREATE TABLE IF NOT EXISTS log (id INTEGER PRIMARY KEY, v INTEGER)', []);
  await setup.exec('CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)', []);
  await setup.exec('INSERT OR IGNORE INTO counter VALUES (1, 0)', []);
  setup.close();
  const driver = await openDriver(subject, servers, database, concurrency);
  const before = op === 'rmw transaction' ? await driver.total() : 0;
  const errors: Record<string, number> = {};
  const latencies: number[] = [];
  let ok = 0;
  const started = performance.now();
  const end = started + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, caller) => {
      let value = caller;
      while (performance.now() < end) {
        const t0 = performance.now();
        try {
          if (op === 'one-shot write') await driver.write(value);
          else await driver.increment();
          value += concurrency;
          ok++;
          latencies.push(performance.now() - t0);
        } catch (error) {
          countError(errors, error);
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const lostUpdates = op === 'rmw transaction' ? ok - ((await driver.total()) - before) : null;
  await driver.close();
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    subject,
    op,
    concurrency,
    ok,
    seconds,
    throughput: ok / seconds,
    errors,
    retries: driver.retries,
    lostUpdates,
    p50: at(0.5),
    p99: at(0.99),
  };
}

/** The target: one-shot writes at 64 in flight, litepool vs one connection per caller. */
export function dqliteTarget(results: readonly DqliteResult[]): { value: number | null; met: boolean | null; clean: boolean } {
  const find = (subject: DqliteSubject): DqliteResult | undefined =>
    results.find((r) => r.subject === subject && r.op === 'one-shot write' && r.concurrency === 64);
  const ours = find('litepool pool');
  const theirs = find('one connection per caller');
  const clean = results
    .filter((r) => r.subject === 'litepool pool')
    .every((r) => Object.keys(r.errors).length === 0 && (r.lostUpdates ?? 0) === 0);
  if (ours === undefined || theirs === undefined || theirs.throughput === 0) return { value: null, met: null, clean };
  const value = ours.throughput / theirs.throughput;
  return { value, met: value >= 10 && clean, clean };
}

/** The report as Markdown. */
export function dqliteMarkdown(results: readonly DqliteResult[], header: string[]): string {
  const target = dqliteTarget(results);
  const lines = [
    ...header,
    '## Target',
    '',
    `One-shot writes at 64 in flight, litepool's pool vs one connection per caller: ${target.value === null ? 'not measured' : `${target.value.toFixed(1)}x`} (goal >= 10x, with 0 errors and 0 lost updates in litepool's cells: ${target.clean ? 'yes' : 'no'}): ${target.met === null ? '-' : target.met ? 'met' : 'MISSED'}`,
    '',
    '## Cells',
    '',
    '| subject | operation | in flight | ops/s | p50 ms | p99 ms | errors | retries | lost |',
    '|---|---|--:|--:|--:|--:|---|--:|--:|',
    ...results.map(
      (r) =>
        `| ${r.subject} | ${r.op} | ${r.concurrency} | ${Math.round(r.throughput).toLocaleString('en-US')} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${
          Object.entries(r.errors)
            .map(([code, n]) => `${code}: ${n}`)
            .join(', ') || '0'
        } | ${r.retries} | ${r.lostUpdates ?? '-'} |`,
    ),
    '',
  ];
  return `${lines.join('\n')}\n`;
}
