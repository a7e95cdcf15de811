/**
 * Subjects: the drivers compared, each behind one small adapter. Every
 * subject runs in its own child process, so none warms another's caches.
 */
import BetterSqlite3 from 'better-sqlite3';
import { createPool, type Pool, type PreparedStatement, type StrategyConfig } from '@litepool/core';
import knexFactory from 'knex';
import type { StatementSync } from 'node:sqlite';
import sqlite3 from 'sqlite3';
import dropInModule from '@litepool/core/sqlite3';
import { createConnectionPool, sql } from '@matteo.collina/sqlite-pool';
import type { Driver, Value } from './driver.js';
import { COUNTERS, ROWS } from './workloads.js';

export type { Driver } from './driver.js';

/** How a subject opens its driver. */
export interface Subject {
  readonly name: string;
  /** Whether it is a litepool strategy (the targets require 0 errors and 0 lost updates). */
  readonly litepool: boolean;
  /** The workloads it runs (all when absent). */
  readonly workloads?: readonly string[];
  open(filename: string, synchronous: 'FULL' | 'NORMAL', tuning?: Tuning): Promise<Driver>;
}

/** Options of a run that reach litepool's own pools (the strategies; not the drop-in's). */
export interface Tuning {
  /** `workerNice` (undefined: the pool's default). */
  readonly workerNice?: number | undefined;
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function litepool(name: string, strategy: StrategyConfig): Subject {
  return {
    name,
    litepool: true,
    async open(filename, synchronous, tuning) {
      const pool: Pool = createPool({
        filename,
        strategy,
        pragmas: { synchronous },
        procedures: new URL('./procedures.js', import.meta.url),
        ...(tuning?.workerNice === undefined ? {} : { workerNice: tuning.workerNice }),
      });
      const prepared = new Map<string, PreparedStatement>();
      return {
        get: (q, p) => pool.get(q, p),
        getPrepared: (q, p) => {
          let statement = prepared.get(q);
          if (statement === undefined) prepared.set(q, (statement = pool.prepare(q)));
          return statement.get(p);
        },
        incrementInOneCall: (id) => pool.call('increment', id),
        all: (q, p) => pool.all(q, p),
        run: async (q, p) => void (await pool.run(q, p)),
        increment: (id) =>
          pool.transaction(async (tx) => {
            const row = await tx.get<{ n: number }>('SELECT n FROM counter WHERE id = ?', [id]);
            await tick();
            await tx.run('UPDATE counter SET n = ? WHERE id = ?', [row!.n + 1, id]);
          }),
        close: () => pool.close(),
      };
    },
  };
}

function betterSqlite3(filename: string, synchronous: string): BetterSqlite3.Database {
  const db = new BetterSqlite3(filename);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous}`);
  return db;
}

/** better-sqlite3 on the main thread, used as it is meant to be: synchronous transactions. */
const raw: Subject = {
  name: 'better-sqlite3 (raw, main thread)',
  litepool: false,
  async open(filename, synchronous) {
    const db = betterSqlite3(filename, synchronous);
    // Statements cached by SQL text, as an app would keep them (prepared after the workload's setup).
    const statements = new Map<string, BetterSqlite3.Statement>();
    const prepare = (q: string): BetterSqlite3.Statement => {
      let statement = statements.get(q);
      if (statement === undefined) statements.set(q, (statement = db.prepare(q)));
      return statement;
    };
    const increment = db.transaction((id: number) => {
      const { n } = prepare('SELECT n FROM counter WHERE id = ?').get(id) as { n: number };
      prepare('UPDATE counter SET n = ? WHERE id = ?').run(n + 1, id);
    });
    return {
      get: async (q, p) => prepare(q).get(...p),
      all: async (q, p) => prepare(q).all(...p),
      run: async (q, p) => void prepare(q).run(...p),
      increment: async (id) => increment(id),
      close: async () => void db.close(),
    };
  },
};

/**
 * better-sqlite3 in a plain synchronous loop: the same statements as the raw
 * subject, with no promise per operation, on one core. The ceiling a
 * single-threaded app reaches; it blocks the event loop for the whole cell.
 */
const plainLoop: Subject = {
  name: 'better-sqlite3 (plain loop)',
  litepool: false,
  workloads: ['point-read', 'latency', 'point-read-prepared', 'rmw-counter', 'rmw-procedure'],
  async open(filename, synchronous) {
    const driver = await raw.open(filename, synchronous);
    const db = betterSqlite3(filename, synchronous);
    // Prepared on first use: the workload's setup creates the tables after open().
    let read: BetterSqlite3.Statement | undefined;
    let increment: ((id: number) => void) | undefined;
    const pointRead = (random: (n: number) => number): void => {
      read ??= db.prepare('SELECT v FROM kv WHERE id = ?');
      read.get(1 + random(ROWS));
    };
    const rmw = (random: (n: number) => number): void => {
      if (increment === undefined) {
        const select = db.prepare('SELECT n FROM counter WHERE id = ?');
        const update = db.prepare('UPDATE counter SET n = ? WHERE id = ?');
        increment = db.transaction((id: number) => {
          const { n } = select.get(id) as { n: number };
          update.run(n + 1, id);
        });
      }
      increment(1 + random(COUNTERS));
    };
    const loops: Record<string, (random: (n: number) => number) => void> = {
      'point-read': pointRead,
      latency: pointRead,
      'point-read-prepared': pointRead,
      'rmw-counter': rmw,
      'rmw-procedure': rmw,
    };
    return {
      ...driver,
      plain: (workload) => loops[workload],
      close: async () => {
        db.close();
        await driver.close();
      },
    };
  },
};

/**
 * Node's built-in `node:sqlite` (Node >= 22.5), synchronous on the main thread
 * as users would use it: statements cached by SQL text, transactions
 * synchronous. Loaded only when this subject runs.
 */
const nodeSqlite: Subject = {
  name: 'node:sqlite (built-in, main thread)',
  litepool: false,
  async open(filename, synchronous) {
    const { DatabaseSync } = await import('node:sqlite');
    const db = new DatabaseSync(filename);
    db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = ${synchronous}; PRAGMA busy_timeout = 5000`);
    const statements = new Map<string, StatementSync>();
    const prepare = (q: string): StatementSync => {
      let statement = statements.get(q);
      if (statement === undefined) statements.set(q, (statement = db.prepare(q)));
      return statement;
    };
    const increment = (id: number): void => {
      db.exec('BEGIN IMMEDIATE');
      try {
        const { n } = prepare('SELECT n FROM counter WHERE id = ?').get(id) as { n: number };
        prepare('UPDATE counter SET n = ? WHERE id = ?').run(n + 1, id);
        db.exec('COMMIT');
      } catch (error) {
        db.exec('ROLLBACK'); // BEGIN succeeded, so a transaction is open
        throw error;
      }
    };
    return {
      get: async (q, p) => prepare(q).get(...p),
      all: async (q, p) => prepare(q).all(...p),
      run: async (q, p) => void prepare(q).run(...p),
      increment: async (id) => increment(id),
      close: async () => db.close(),
    };
  },
};

/** One shared better-sqlite3 connection used by async handlers the naive way: BEGIN … await … COMMIT. */
const naive: Subject = {
  name: 'better-sqlite3 (shared, naive)',
  litepool: false,
  async open(filename, synchronous) {
    const db = betterSqlite3(filename, synchronous);
    return {
      get: async (q, p) => db.prepare(q).get(...p),
      all: async (q, p) => db.prepare(q).all(...p),
      run: async (q, p) => void db.prepare(q).run(...p),
      increment: async (id) => {
        db.exec('BEGIN');
        try {
          const { n } = db.prepare('SELECT n FROM counter WHERE id = ?').get(id) as { n: number };
          await tick();
          db.prepare('UPDATE counter SET n = ? WHERE id = ?').run(n + 1, id);
          db.exec('COMMIT');
        } catch (error) {
          if (db.inTransaction) db.exec('ROLLBACK');
          throw error;
        }
      },
      close: async () => void db.close(),
    };
  },
};

/**
 * node-sqlite3's API with promise wrappers; transactions the naive way (one
 * connection): the real module, or litepool's drop-in for it (`module`).
 */
const nodeSqlite3Api = (name: string, module: typeof sqlite3, litepool: boolean): Subject => ({
  name,
  litepool,
  async open(filename, synchronous) {
    const db = await new Promise<sqlite3.Database>((resolve, reject) => {
      const opened = new module.Database(filename, (error) => (error ? reject(error) : resolve(opened)));
    });
    const call = <T>(method: 'get' | 'all' | 'run' | 'exec', q: string, p: Value[] = []): Promise<T> =>
      new Promise((resolve, reject) => {
        const done = (error: Error | null, result?: unknown): void => (error ? reject(error) : resolve(result as T));
        if (method === 'exec') db.exec(q, done);
        else db[method](q, p, done);
      });
    await call('exec', `PRAGMA journal_mode = WAL; PRAGMA synchronous = ${synchronous}; PRAGMA busy_timeout = 5000`);
    return {
      get: (q, p) => call('get', q, p),
      all: (q, p) => call('all', q, p),
      run: (q, p) => call('run', q, p),
      increment: async (id) => {
        await call('run', 'BEGIN');
        try {
          const { n } = await call<{ n: number }>('get', 'SELECT n FROM counter WHERE id = ?', [id]);
          await call('run', 'UPDATE counter SET n = ? WHERE id = ?', [n + 1, id]);
          await call('run', 'COMMIT');
        } catch (error) {
          await call('run', 'ROLLBACK').catch(() => {});
          throw error;
        }
      },
      close: () => new Promise((resolve) => db.close(() => resolve())),
    };
  },
});

const nodeSqlite3 = nodeSqlite3Api('sqlite3 (node-sqlite3)', sqlite3, false);
/**
 * litepool's node-sqlite3 drop-in (`require('@litepool/core/sqlite3')`), the
 * same adapter over it. Not counted as a litepool strategy: its increments
 * are node-sqlite3's naive BEGIN on one shared `Database`, which fail on
 * either module once two overlap ("cannot start a transaction within a
 * transaction"), as an app written that way fails.
 */
const dropIn = nodeSqlite3Api('sqlite3 API on litepool (the drop-in)', dropInModule as unknown as typeof sqlite3, false);

/** knex with the sqlite3 client (its pool of one connection serializes transactions). */
const knex: Subject = {
  name: 'knex + sqlite3',
  litepool: false,
  async open(filename, synchronous) {
    const k = knexFactory({
      client: 'sqlite3',
      connection: { filename },
      useNullAsDefault: true,
      pool: {
        afterCreate: (connection: sqlite3.Database, done: (error: Error | null, connection: unknown) => void) =>
          connection.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = ${synchronous}; PRAGMA busy_timeout = 5000`, (error) =>
            done(error, connection),
          ),
      },
    });
    return {
      get: async (q, p) => ((await k.raw(q, p)) as unknown[])[0],
      all: async (q, p) => (await k.raw(q, p)) as unknown[],
      run: async (q, p) => void (await k.raw(q, p)),
      increment: (id) =>
        k.transaction(async (trx) => {
          const [row] = await trx.raw<{ n: number }[]>('SELECT n FROM counter WHERE id = ?', [id]);
          await trx.raw('UPDATE counter SET n = ? WHERE id = ?', [row!.n + 1, id]);
        }),
      close: () => k.destroy(),
    };
  },
};

/** @matteo.collina/sqlite-pool: better-sqlite3 connections on the main thread with an async pool API. */
const sqlitePool: Subject = {
  name: '@matteo.collina/sqlite-pool',
  litepool: false,
  async open(filename, synchronous) {
    const setup = betterSqlite3(filename, synchronous);
    setup.close();
    const db = createConnectionPool(filename);
    const query = (q: string, p: Value[]) => {
      const parts = q.split('?');
      return db.query(sql(Object.assign([...parts], { raw: parts }), ...p));
    };
    return {
      get: async (q, p) => (await query(q, p))[0],
      all: (q, p) => query(q, p),
      run: async (q, p) => void (await query(q, p)),
      increment: (id) =>
        db.tx(async (tx) => {
          const [row] = (await tx.query(sql`SELECT n FROM counter WHERE id = ${id}`)) as { n: number }[];
          await tx.query(sql`UPDATE counter SET n = ${row!.n + 1} WHERE id = ${id}`);
        }),
      close: () => db.dispose(),
    };
  },
};

/** Every subject, in report order. */
export const SUBJECTS: readonly Subject[] = [
  litepool('litepool wal', { name: 'wal' }),
  litepool('litepool mutex', { name: 'mutex' }),
  litepool('litepool single-writer', { name: 'single-writer' }),
  litepool('litepool file-lock', { name: 'file-lock' }),
  raw,
  plainLoop,
  nodeSqlite,
  naive,
  nodeSqlite3,
  dropIn,
  knex,
  sqlitePool,
];
