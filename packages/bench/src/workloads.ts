/**
 * The workloads: a table of trials. Add a row to add a workload. Each trial
 * sets up its own database and draws its operations from a seeded generator.
 */
import type { Driver } from './driver.js';

/** One benchmark workload. */
export interface Workload {
  readonly id: string;
  readonly title: string;
  /** `synchronous` the subjects open with. */
  readonly synchronous: 'FULL' | 'NORMAL';
  /** Creates tables and rows (through the subject's driver). */
  setup(driver: Driver): Promise<void>;
  /** One operation; `random` returns an integer in [0, n). */
  op(driver: Driver, random: (n: number) => number): Promise<void>;
  /** Whether it counts lost updates (read-modify-write). */
  readonly rmw?: boolean;
  /** The concurrency levels it runs at, whatever `--levels` says (all of them when absent). */
  readonly levels?: readonly number[];
}

export const ROWS = 10_000;
export const COUNTERS = 100;

async function kv(driver: Driver): Promise<void> {
  await driver.run('CREATE TABLE IF NOT EXISTS kv (id INTEGER PRIMARY KEY, v TEXT NOT NULL)', []);
  const existing = (await driver.get('SELECT count(*) AS n FROM kv', [])) as { n: number };
  if (existing.n > 0) return;
  await driver.run(
    `INSERT INTO kv (id, v) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${ROWS}) SELECT x, hex(randomblob(50)) FROM c`,
    [],
  );
}

async function counters(driver: Driver): Promise<void> {
  await driver.run('CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)', []);
  await driver.run(
    `INSERT OR IGNORE INTO counter (id, n) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${COUNTERS}) SELECT x, 0 FROM c`,
    [],
  );
}

async function log(driver: Driver): Promise<void> {
  await driver.run('CREATE TABLE IF NOT EXISTS log (id INTEGER PRIMARY KEY, v TEXT NOT NULL)', []);
}

const pointRead = (driver: Driver, random: (n: number) => number) => driver.get('SELECT v FROM kv WHERE id = ?', [1 + random(ROWS)]);
const update = (driver: Driver, random: (n: number) => number) =>
  driver.run('UPDATE kv SET v = ? WHERE id = ?', [`u${random(1e9)}`, 1 + random(ROWS)]);

export const WORKLOADS: readonly Workload[] = [
  {
    id: 'point-read',
    title: 'Point reads by primary key (YCSB-C)',
    synchronous: 'NORMAL',
    setup: kv,
    op: async (d, r) => void (await pointRead(d, r)),
  },
  {
    id: 'latency',
    title: 'One call at a time: point reads awaited one after another (p50/p99 per call)',
    synchronous: 'NORMAL',
    setup: kv,
    op: async (d, r) => void (await pointRead(d, r)),
    levels: [1],
  },
  {
    id: 'range-read',
    title: '100-row range reads',
    synchronous: 'NORMAL',
    setup: kv,
    op: async (d, r) => {
      const start = 1 + r(ROWS - 100);
      await d.all('SELECT id, v FROM kv WHERE id BETWEEN ? AND ?', [start, start + 99]);
    },
  },
  {
    id: 'read-heavy',
    title: 'Read-heavy mix 95/5 (YCSB-B)',
    synchronous: 'NORMAL',
    setup: kv,
    op: async (d, r) => void (await (r(100) < 95 ? pointRead(d, r) : update(d, r))),
  },
  {
    id: 'update-heavy',
    title: 'Update-heavy mix 50/50 (YCSB-A)',
    synchronous: 'NORMAL',
    setup: kv,
    op: async (d, r) => void (await (r(100) < 50 ? pointRead(d, r) : update(d, r))),
  },
  {
    id: 'rmw-counter',
    title: 'Read-modify-write counter (YCSB-F)',
    synchronous: 'NORMAL',
    setup: counters,
    op: (d, r) => d.increment(1 + r(COUNTERS)),
    rmw: true,
  },
  {
    id: 'rmw-procedure',
    title: 'Read-modify-write counter in one call next to the data (a litepool procedure)',
    synchronous: 'NORMAL',
    setup: counters,
    op: (d, r) => (d.incrementInOneCall ?? d.increment)(1 + r(COUNTERS)),
    rmw: true,
  },
  {
    id: 'point-read-prepared',
    title: 'Point reads through a prepared statement',
    synchronous: 'NORMAL',
    setup: kv,
    op: async (d, r) => void (await (d.getPrepared ?? d.get)('SELECT v FROM kv WHERE id = ?', [1 + r(ROWS)])),
  },
  {
    id: 'durable-write-full',
    title: 'Small durable writes, synchronous=FULL',
    synchronous: 'FULL',
    setup: log,
    op: (d, r) => d.run('INSERT INTO log (v) VALUES (?)', [`event ${r(1e9)}`]),
  },
  {
    id: 'durable-write-normal',
    title: 'Small durable writes, synchronous=NORMAL',
    synchronous: 'NORMAL',
    setup: log,
    op: (d, r) => d.run('INSERT INTO log (v) VALUES (?)', [`event ${r(1e9)}`]),
  },
  {
    id: 'cpu-heavy',
    title: 'CPU-heavy read (an aggregate of about 1 ms)',
    synchronous: 'NORMAL',
    setup: kv,
    op: async (d, r) => {
      const start = r(100);
      await d.get('WITH RECURSIVE c(x) AS (SELECT ? UNION ALL SELECT x + 1 FROM c WHERE x < ? + 10000) SELECT sum(x) AS s FROM c', [
        start,
        start,
      ]);
    },
  },
];
