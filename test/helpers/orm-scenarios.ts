/**
 * The same application run through each ORM with its documented setup, the
 * driver being the only difference: litepool's drop-in, or the ORM's usual
 * driver. Each scenario builds its schema the ORM's way (migrations or
 * schema sync), does CRUD, checks that a throw inside a transaction rolls it
 * back, then runs the concurrency part: CALLERS callers x INCREMENTS
 * read-modify-write increments, each in the ORM's transaction API with an
 * await between the read and the write. Used by the ORM suites (which assert
 * litepool's outcome) and by scripts/orm-table.mjs (which records both).
 */
import { createPool } from '@litepool/core';
import { drizzle, migrate } from '@litepool/core/drizzle';
import litepoolSqlite3 from '@litepool/core/sqlite3';
import { connectionPerQueryRunner } from '@litepool/core/typeorm';
import BetterSqlite3 from 'better-sqlite3';
import { eq, relations, sql } from 'drizzle-orm';
import { drizzle as drizzleBetterSqlite3 } from 'drizzle-orm/better-sqlite3';
import { migrate as migrateBetterSqlite3 } from 'drizzle-orm/better-sqlite3/migrator';
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import knexFactory, { type Knex } from 'knex';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { DataTypes, Sequelize, Transaction, type ModelStatic, type Model } from 'sequelize';
import { DataSource, EntitySchema } from 'typeorm';
import type { SqliteConnectionOptions } from 'typeorm/driver/sqlite/SqliteConnectionOptions.js';

const require = createRequire(import.meta.url);

/** Which driver an ORM runs on. */
export type Driver = 'litepool' | 'usual';

/** What one run of a scenario found. */
export interface Outcome {
  /** The counter after the concurrency part (expected: callers x increments). */
  readonly count: number;
  readonly expected: number;
  /** Errors the concurrency part raised (their messages, first few kept). */
  readonly errors: number;
  readonly errorSamples: readonly string[];
  /** Whether shutdown (destroy/close) returned within its bound. */
  readonly shutdownReturned: boolean;
  /** Wall time of the concurrency part, ms. */
  readonly concurrencyMs: number;
}

/** Options of one run. */
export interface RunOptions {
  readonly filename: string;
  readonly driver: Driver;
  readonly callers?: number;
  readonly increments?: number;
  /** Knex's pool size (Knex only). */
  readonly poolSize?: number;
  /** Checks made along the way (schema, CRUD, rollback); throws on a mismatch. */
  readonly check: (ok: boolean, what: string) => void;
}

const SHUTDOWN_BOUND_MS = 30_000;

/** Runs `work` for each of `callers` callers `increments` times, counting failures instead of stopping. */
async function hammer(
  callers: number,
  increments: number,
  work: () => Promise<void>,
): Promise<{ errors: number; samples: string[]; ms: number }> {
  let errors = 0;
  const samples: string[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      for (let i = 0; i < increments; i++) {
        try {
          await work();
        } catch (error) {
          errors++;
          const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
          if (samples.length < 3 && !samples.includes(message)) samples.push(message);
        }
      }
    }),
  );
  return { errors, samples, ms: performance.now() - started };
}

/** Whether `close` settles within the bound. */
async function shutsDown(close: () => Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), SHUTDOWN_BOUND_MS)));
  try {
    return await Promise.race([close().then(() => true as const), bound]);
  } finally {
    clearTimeout(timer);
  }
}

// ── Knex ───────────────────────────────────────────────────────────────────

/**
 * litepool's node-sqlite3 module with every BEGIN taking the writer at once.
 * A plain BEGIN is deferred, as in SQLite: with several connections, a
 * read-modify-write whose snapshot another commit overtook fails with
 * SQLITE_BUSY (no update is lost, but the count is not exact). The ORMs'
 * exact-count runs take the writer at BEGIN, as docs/drop-in.md recommends.
 */
const IMMEDIATE_SQLITE3 = litepoolSqlite3.withDefaults({ transactions: 'immediate' });

/**
 * Knex's own sqlite3 client with litepool's module as its driver (Knex's
 * documented way to supply a client): by default the module that takes the
 * writer at BEGIN, or `driver` (the module as it is, say).
 */
export function litepoolKnexClient(driver: unknown = IMMEDIATE_SQLITE3): typeof Knex.Client {
  const Sqlite3Client = require('knex/lib/dialects/sqlite3/index.js') as typeof Knex.Client;
  return class LitepoolSqlite3Client extends Sqlite3Client {
    _driver(): unknown {
      return driver;
    }
  };
}

/** Knex 3: migrations, query builder CRUD, knex.transaction(async trx => …). */
export async function knexScenario(options: RunOptions): Promise<Outcome> {
  const { filename, driver, check, callers = 32, increments = 20, poolSize = 1 } = options;
  const knex = knexFactory({
    client: driver === 'litepool' ? litepoolKnexClient() : 'sqlite3',
    connection: { filename },
    useNullAsDefault: true,
    pool: { min: 1, max: poolSize },
  });
  let shutdownReturned = false;
  try {
    await knex.migrate.latest({
      migrationSource: {
        getMigrations: () => Promise.resolve(['001_initial']),
        getMigrationName: (name: string) => name,
        getMigration: () =>
          Promise.resolve({
            up: async (k: Knex) => {
              await k.schema.createTable('notes', (t) => {
                t.increments('id');
                t.string('body').notNullable();
              });
              await k.schema.createTable('counters', (t) => {
                t.integer('id').primary();
                t.integer('n').notNullable();
              });
            },
            down: (k: Knex) => k.schema.dropTable('notes').dropTable('counters'),
          }),
      },
    });
    const [id] = await knex('notes').insert({ body: 'first' });
    await knex('notes').where({ id }).update({ body: 'edited' });
    check((await knex('notes').where({ id }).first())?.body === 'edited', 'Knex CRUD: update then select');
    await knex('notes').where({ id }).del();
    check((await knex('notes').count({ n: '*' }).first())?.n === 0, 'Knex CRUD: delete');
    await knex
      .transaction(async (trx) => {
        await trx('notes').insert({ body: 'rolled back' });
        throw new Error('boom');
      })
      .catch(() => {});
    check((await knex('notes').count({ n: '*' }).first())?.n === 0, 'Knex: a throw in the transaction rolls it back');
    await knex('counters').insert({ id: 1, n: 0 });
    const { errors, samples, ms } = await hammer(callers, increments, () =>
      knex.transaction(async (trx) => {
        const row = (await trx('counters').where({ id: 1 }).first()) as { n: number };
        await yieldToLoop();
        await trx('counters')
          .where({ id: 1 })
          .update({ n: row.n + 1 });
      }),
    );
    const count = ((await knex('counters').where({ id: 1 }).first()) as { n: number }).n;
    shutdownReturned = await shutsDown(() => knex.destroy());
    return { count, expected: callers * increments, errors, errorSamples: samples, shutdownReturned, concurrencyMs: ms };
  } finally {
    if (!shutdownReturned) void knex.destroy().catch(() => {});
  }
}

// ── Sequelize ──────────────────────────────────────────────────────────────

interface NoteAttributes {
  id?: number;
  body: string;
}
interface CounterAttributes {
  id: number;
  n: number;
}

/** Sequelize 6: sync({ alter }), model CRUD, sequelize.transaction(async t => …). */
export async function sequelizeScenario(options: RunOptions): Promise<Outcome> {
  const { filename, driver, check, callers = 32, increments = 20 } = options;
  const sequelize = new Sequelize({
    dialect: 'sqlite',
    storage: filename,
    logging: false,
    // Sequelize's documented option for transactions that take the write lock at BEGIN.
    ...(driver === 'litepool' ? { dialectModule: litepoolSqlite3, transactionType: Transaction.TYPES.IMMEDIATE } : {}),
  });
  let shutdownReturned = false;
  try {
    const Note = sequelize.define<Model<NoteAttributes>>('Note', { body: { type: DataTypes.STRING, allowNull: false } });
    const Counter = sequelize.define<Model<CounterAttributes>>(
      'Counter',
      { id: { type: DataTypes.INTEGER, primaryKey: true }, n: { type: DataTypes.INTEGER, allowNull: false } },
      { timestamps: false },
    );
    await sequelize.sync();
    // A second model version: sync({ alter: true }) rebuilds the table through a backup table.
    sequelize.define<Model<NoteAttributes & { tag?: string }>>('Note', {
      body: { type: DataTypes.STRING, allowNull: false },
      tag: { type: DataTypes.STRING, allowNull: true },
    });
    await sequelize.sync({ alter: true });
    const NoteV2 = sequelize.models.Note as ModelStatic<Model<NoteAttributes & { tag?: string }>>;
    const note = await NoteV2.create({ body: 'first', tag: 't' });
    await note.update({ body: 'edited' });
    check((await NoteV2.findByPk(note.get('id') as number))?.get('body') === 'edited', 'Sequelize CRUD: update then find');
    await note.destroy();
    check((await Note.count()) === 0, 'Sequelize CRUD: destroy');
    await sequelize
      .transaction(async (transaction) => {
        await NoteV2.create({ body: 'rolled back' }, { transaction });
        throw new Error('boom');
      })
      .catch(() => {});
    check((await NoteV2.count()) === 0, 'Sequelize: a throw in the transaction rolls it back');
    await Counter.create({ id: 1, n: 0 });
    const { errors, samples, ms } = await hammer(callers, increments, () =>
      sequelize.transaction(async (transaction) => {
        const counter = await Counter.findByPk(1, { transaction });
        await yieldToLoop();
        await counter!.update({ n: (counter!.get('n') as number) + 1 }, { transaction });
      }),
    );
    const count = (await Counter.findByPk(1))!.get('n') as number;
    shutdownReturned = await shutsDown(() => sequelize.close());
    return { count, expected: callers * increments, errors, errorSamples: samples, shutdownReturned, concurrencyMs: ms };
  } finally {
    if (!shutdownReturned) void sequelize.close().catch(() => {});
  }
}

// ── TypeORM ────────────────────────────────────────────────────────────────

interface NoteRow {
  id: number;
  body: string;
}
interface CounterRow {
  id: number;
  n: number;
}
const NoteEntity = new EntitySchema<NoteRow>({
  name: 'Note',
  tableName: 'notes',
  columns: { id: { type: Number, primary: true, generated: true }, body: { type: String } },
});
const CounterEntity = new EntitySchema<CounterRow>({
  name: 'Counter',
  tableName: 'counters',
  columns: { id: { type: Number, primary: true }, n: { type: Number } },
});

/** TypeORM 0.3: synchronize, repository CRUD, dataSource.transaction(async manager => …). */
export async function typeormScenario(options: RunOptions): Promise<Outcome> {
  const { filename, driver, check, callers = 32, increments = 20 } = options;
  const settings: SqliteConnectionOptions = {
    type: 'sqlite',
    database: filename,
    entities: [NoteEntity, CounterEntity],
    synchronize: true,
    logging: false,
  };
  const dataSource =
    driver === 'litepool' ? connectionPerQueryRunner(new DataSource({ ...settings, driver: IMMEDIATE_SQLITE3 })) : new DataSource(settings);
  await dataSource.initialize();
  let shutdownReturned = false;
  try {
    const notes = dataSource.getRepository(NoteEntity);
    const saved = await notes.save({ body: 'first' });
    await notes.update({ id: saved.id }, { body: 'edited' });
    check((await notes.findOneBy({ id: saved.id }))?.body === 'edited', 'TypeORM CRUD: update then find');
    await notes.delete({ id: saved.id });
    check((await notes.count()) === 0, 'TypeORM CRUD: delete');
    await dataSource
      .transaction(async (manager) => {
        await manager.save(NoteEntity, { body: 'rolled back' });
        throw new Error('boom');
      })
      .catch(() => {});
    check((await notes.count()) === 0, 'TypeORM: a throw in the transaction rolls it back');
    await dataSource.getRepository(CounterEntity).save({ id: 1, n: 0 });
    const { errors, samples, ms } = await hammer(callers, increments, () =>
      dataSource.transaction(async (manager) => {
        const counter = await manager.findOneByOrFail(CounterEntity, { id: 1 });
        await yieldToLoop();
        await manager.update(CounterEntity, { id: 1 }, { n: counter.n + 1 });
      }),
    );
    const count = (await dataSource.getRepository(CounterEntity).findOneByOrFail({ id: 1 })).n;
    shutdownReturned = await shutsDown(() => dataSource.destroy());
    return { count, expected: callers * increments, errors, errorSamples: samples, shutdownReturned, concurrencyMs: ms };
  } finally {
    if (!shutdownReturned) void dataSource.destroy().catch(() => {});
  }
}

// ── Drizzle ────────────────────────────────────────────────────────────────

const users = sqliteTable('users', { id: integer('id').primaryKey(), name: text('name').notNull() });
const posts = sqliteTable('posts', {
  id: integer('id').primaryKey(),
  userId: integer('user_id')
    .notNull()
    .references(() => users.id),
  title: text('title').notNull(),
});
const counters = sqliteTable('counters', { id: integer('id').primaryKey(), n: integer('n').notNull() });
const usersRelations = relations(users, ({ many }) => ({ posts: many(posts) }));
const postsRelations = relations(posts, ({ one }) => ({ author: one(users, { fields: [posts.userId], references: [users.id] }) }));
const schema = { users, posts, counters, usersRelations, postsRelations };

/** A migrations folder as drizzle-kit writes it: a journal and one SQL file per migration. */
function writeMigrations(dir: string): void {
  mkdirSync(join(dir, 'meta'), { recursive: true });
  writeFileSync(
    join(dir, 'meta', '_journal.json'),
    JSON.stringify({
      version: '7',
      dialect: 'sqlite',
      entries: [{ idx: 0, version: '6', when: 1_700_000_000_000, tag: '0000_initial', breakpoints: true }],
    }),
  );
  writeFileSync(
    join(dir, '0000_initial.sql'),
    [
      'CREATE TABLE `users` (`id` integer PRIMARY KEY NOT NULL, `name` text NOT NULL);',
      'CREATE TABLE `posts` (`id` integer PRIMARY KEY NOT NULL, `user_id` integer NOT NULL REFERENCES `users`(`id`), `title` text NOT NULL);',
      'CREATE TABLE `counters` (`id` integer PRIMARY KEY NOT NULL, `n` integer NOT NULL);',
    ].join('\n--> statement-breakpoint\n'),
  );
}

/** Drizzle ORM: its migrator, query builder CRUD with a join, relational queries, db.transaction(async tx => …). */
export async function drizzleScenario(options: RunOptions): Promise<Outcome> {
  const { filename, driver, check, callers = 32, increments = 20 } = options;
  const migrationsFolder = `${filename}.migrations`;
  writeMigrations(migrationsFolder);
  const pool = driver === 'litepool' ? createPool({ filename }) : undefined;
  const native = driver === 'usual' ? new BetterSqlite3(filename) : undefined;
  // The same Drizzle code runs on both: better-sqlite3's builders are awaitable too (its transactions are not async).
  type Db = ReturnType<typeof drizzle<typeof schema>>;
  const db: Db = pool !== undefined ? drizzle(pool, { schema }) : (drizzleBetterSqlite3(native!, { schema }) as unknown as Db);
  let shutdownReturned = false;
  try {
    if (pool !== undefined) await migrate(db, { migrationsFolder });
    else migrateBetterSqlite3(db as unknown as ReturnType<typeof drizzleBetterSqlite3<typeof schema>>, { migrationsFolder });
    await db.insert(users).values([
      { id: 1, name: 'ada' },
      { id: 2, name: 'bob' },
    ]);
    await db.insert(posts).values([
      { id: 1, userId: 1, title: 'hello' },
      { id: 2, userId: 1, title: 'again' },
    ]);
    await db.update(users).set({ name: 'ada l.' }).where(eq(users.id, 1));
    const joined = await db
      .select({ user: users, post: posts })
      .from(users)
      .innerJoin(posts, eq(posts.userId, users.id))
      .where(eq(posts.id, 2));
    check(joined.length === 1 && joined[0]!.user.id === 1 && joined[0]!.post.id === 2, 'Drizzle: a join keeps both tables’ id columns');
    const withPosts = await db.query.users.findFirst({ where: eq(users.id, 1), with: { posts: true } });
    check(withPosts?.name === 'ada l.' && withPosts.posts.length === 2, 'Drizzle relational query: a user with posts');
    await db.delete(users).where(eq(users.id, 2));
    check((await db.select({ n: sql<number>`count(*)` }).from(users))[0]?.n === 1, 'Drizzle CRUD: delete');
    try {
      await db.transaction(async (tx) => {
        await tx.insert(users).values({ id: 3, name: 'rolled back' });
        throw new Error('boom');
      });
    } catch {
      // expected
    }
    check((await db.select().from(users).where(eq(users.id, 3))).length === 0, 'Drizzle: a throw in the transaction rolls it back');
    try {
      await db.transaction(async (tx) => {
        await tx.insert(users).values({ id: 4, name: 'outer' });
        await tx
          .transaction(async (inner) => {
            await inner.insert(users).values({ id: 5, name: 'inner' });
            inner.rollback();
          })
          .catch(() => {});
      });
    } catch {
      // the usual driver refuses async transactions
    }
    const kept = (
      await db
        .select({ id: users.id })
        .from(users)
        .where(sql`${users.id} in (4, 5)`)
    ).map((row) => row.id);
    check(kept.length === 1 && kept[0] === 4, 'Drizzle: a nested transaction rolls back alone (a savepoint)');
    await db.insert(counters).values({ id: 1, n: 0 });
    const { errors, samples, ms } = await hammer(callers, increments, async () => {
      await db.transaction(async (tx) => {
        const [row] = await tx.select().from(counters).where(eq(counters.id, 1));
        await yieldToLoop();
        await tx
          .update(counters)
          .set({ n: row!.n + 1 })
          .where(eq(counters.id, 1));
      });
    });
    const [final] = await db.select().from(counters).where(eq(counters.id, 1));
    shutdownReturned = await shutsDown(async () => {
      if (pool !== undefined) await pool.close();
      native?.close();
    });
    return { count: final!.n, expected: callers * increments, errors, errorSamples: samples, shutdownReturned, concurrencyMs: ms };
  } finally {
    if (!shutdownReturned) {
      void pool?.destroy();
      if (native?.open === true) native.close();
    }
  }
}
