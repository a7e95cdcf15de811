/**
 * The ORMs apps use, each with its documented setup and litepool as the
 * driver (issue 11): schema by migrations or sync, CRUD, a rollback on throw,
 * then 32 callers x 20 read-modify-write increments in the ORM's transaction
 * API with an await between read and write: the count exact, no errors, and a
 * shutdown that returns. The same runs on each ORM's usual driver are
 * recorded by scripts/orm-table.ts (they lose updates, fail or hang: that is
 * the point, so they are measured there, not asserted here).
 */
import FakeTimers from '@sinonjs/fake-timers';
import litepoolSqlite3 from '@litepool/core/sqlite3';
import knexFactory, { type Knex } from 'knex';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DataTypes, Sequelize, Transaction } from 'sequelize';
import { DataSource } from 'typeorm';
import { describe, test, type TestContext } from 'node:test';
import {
  drizzleScenario,
  knexScenario,
  litepoolKnexClient,
  sequelizeScenario,
  typeormScenario,
  type Outcome,
  type RunOptions,
} from './helpers/orm-scenarios.js';
import { knexMigrationTrace } from './helpers/knex-migrations.js';
import { tempDir } from './helpers/temp.js';

const checks =
  (failures: string[]): RunOptions['check'] =>
  (ok, what) => {
    if (!ok) failures.push(what);
  };

/** Sequelize on the file `storage`, with litepool's node-sqlite3 module. */
function litepoolSequelize(storage: string): Sequelize {
  return new Sequelize({ dialect: 'sqlite', storage, logging: false, dialectModule: litepoolSqlite3 });
}

/**
 * What Knex's own transaction tests check, on `client` (the real sqlite3 or
 * litepool's): savepoints rolled back alone, sibling savepoints, queries of a
 * transaction rolled back midway skipped; each entry a step and what it saw.
 */
async function nestedKnexTrace(t: TestContext, client: string | typeof Knex.Client): Promise<[string, unknown][]> {
  const knex = knexFactory({ client, connection: { filename: join(tempDir(t), 'nested.db') }, useNullAsDefault: true });
  try {
    const trace: [string, unknown][] = [];
    let queries = 0;
    knex.on('query', () => ++queries);
    /** Rows left, and the queries the step ran (its BEGIN, SAVEPOINT and ROLLBACK TO too); then a clean table. */
    const settle = async (step: string): Promise<void> => {
      trace.push([`${step}: queries`, queries]);
      trace.push([`${step}: rows`, (await knex('items').select('id')).length]);
      await knex('items').truncate();
      queries = 0;
    };
    await knex.schema.createTable('items', (table) => table.integer('id'));
    queries = 0;
    await knex.transaction(async (trx) => {
      await trx('items').insert({ id: 1 });
      await trx
        .transaction(() => {
          throw new Error('inner rollback');
        })
        .catch(() => undefined);
    });
    await settle('inner rolled back alone');
    await knex.transaction(async (trx) => {
      await trx.transaction((first) => first('items').insert([{ id: 1 }, { id: 2 }]));
      await trx.transaction(async (second) => trace.push(['sibling after a committed one sees its rows', (await second('items')).length]));
    });
    await settle('siblings committed');
    await knex.transaction(async (trx) => {
      await trx.transaction((first) => first('items').insert({ id: 1 }));
      await trx
        .transaction(async (second) => {
          await second('items').insert([{ id: 2 }, { id: 3 }]);
          throw new Error('second rollback');
        })
        .catch(() => undefined);
    });
    await settle('first sibling kept, second rolled back');
    const rolledBack = await knex
      .transaction((trx) => {
        void knex('items')
          .transacting(trx)
          .insert({ id: 1 })
          .then(() => trx.rollback(new Error('rolled back')))
          .then(() => knex('items').transacting(trx).insert({ id: 2 }))
          .catch(() => undefined);
      })
      .then(
        () => 'committed',
        (error: Error) => error.message,
      );
    trace.push(['a transaction rolled back midway', rolledBack]);
    await settle('queries after its rollback skipped');
    await knex.transaction((trx) => trx.transaction((inner) => inner.rollback(), { doNotRejectOnRollback: true }));
    await knex.transaction((trx) =>
      trx.transaction((ddl) => ddl.schema.createTable('ages', (table) => table.string('name').unique().notNullable())),
    );
    trace.push(['DDL in a nested transaction', await knex.schema.hasTable('ages')]);
    return trace;
  } finally {
    await knex.destroy();
  }
}

function assertExact(outcome: Outcome, failures: readonly string[]): void {
  assert.deepEqual(failures, [], 'schema, CRUD and rollback checks');
  assert.deepEqual(outcome.errorSamples, []);
  assert.equal(outcome.errors, 0);
  assert.equal(outcome.count, outcome.expected, 'every increment counted');
  assert.equal(outcome.shutdownReturned, true, 'shutdown returned');
}

describe('ORMs on litepool (32 callers x 20 read-modify-write transactions each)', { timeout: 120_000 }, () => {
  for (const poolSize of [1, 4]) {
    test(`Knex 3, client sqlite3 with litepool's module, pool of ${poolSize}: migrations, CRUD, rollback, exact count`, async (t) => {
      const failures: string[] = [];
      const outcome = await knexScenario({ filename: join(tempDir(t), 'app.db'), driver: 'litepool', poolSize, check: checks(failures) });
      assertExact(outcome, failures);
    });
  }

  test('Sequelize 6, dialectModule: sync and sync({ alter }), CRUD, rollback, exact count', async (t) => {
    const failures: string[] = [];
    const outcome = await sequelizeScenario({ filename: join(tempDir(t), 'app.db'), driver: 'litepool', check: checks(failures) });
    assertExact(outcome, failures);
  });

  test('TypeORM 0.3, driver + connectionPerQueryRunner: synchronize, CRUD, rollback, exact count', async (t) => {
    const failures: string[] = [];
    const outcome = await typeormScenario({ filename: join(tempDir(t), 'app.db'), driver: 'litepool', check: checks(failures) });
    assertExact(outcome, failures);
  });

  test('Drizzle ORM, @litepool/core/drizzle: migrator, joins, relational queries, rollback, async transactions, exact count', async (t) => {
    const failures: string[] = [];
    const outcome = await drizzleScenario({ filename: join(tempDir(t), 'app.db'), driver: 'litepool', check: checks(failures) });
    assertExact(outcome, failures);
  });
});

describe('ORMs on litepool: what their own suites rely on (issue 20)', { timeout: 120_000 }, () => {
  test('Knex, pool.max 2: a deferred transaction on one connection awaits writes on the other, and ends as SQLite ends it', async (t) => {
    const knex = knexFactory({
      client: litepoolKnexClient(),
      connection: { filename: join(tempDir(t), 'two.db') },
      useNullAsDefault: true,
      pool: { min: 0, max: 2 },
    });
    t.after(() => knex.destroy());
    await knex.schema.createTable('a', (table) => table.integer('v'));
    await knex.schema.createTable('b', (table) => table.integer('v'));
    // A deferred transaction takes no lock before its first write: the other connection writes meanwhile (the real
    // driver in WAL does the same); the transaction's own write then finds its snapshot overtaken: SQLITE_BUSY.
    const outcome = await knex
      .transaction(async (trx) => {
        assert.deepEqual(await trx('a').count({ n: '*' }), [{ n: 0 }]);
        await knex('b').insert({ v: 1 }); // the second connection, outside the transaction
        assert.deepEqual(await knex('b').count({ n: '*' }), [{ n: 1 }]);
        await trx('a').insert({ v: 2 });
      })
      .then(
        () => 'committed',
        (error: { code?: string }) => error.code,
      );
    assert.equal(outcome, 'SQLITE_BUSY');
    assert.deepEqual(await knex('a').count({ n: '*' }), [{ n: 0 }], 'the failed transaction left nothing');
    // Reads outside a deferred transaction that has not written yet go on too, and a transaction nobody overtook commits.
    await knex.transaction(async (trx) => {
      await trx('a').count({ n: '*' });
      await knex('b').count({ n: '*' });
      await trx('a').insert({ v: 3 });
    });
    assert.deepEqual(await knex('a').select('v'), [{ v: 3 }]);
  });

  test("Knex's nested transactions (savepoints) end as with node-sqlite3: siblings commit or roll back alone, the same queries run", async (t) => {
    const real = await nestedKnexTrace(t, 'sqlite3');
    const dropIn = await nestedKnexTrace(t, litepoolKnexClient());
    assert.deepEqual(dropIn, real);
    // What node-sqlite3 gives, so the comparison above cannot pass on two empty traces.
    assert.deepEqual(real.slice(0, 3), [
      ['inner rolled back alone: queries', 5],
      ['inner rolled back alone: rows', 1],
      ['sibling after a committed one sees its rows', 2],
    ]);
  });

  test("Knex's migrations end as with node-sqlite3: a failing one undone, the lock table, none half applied but those without a transaction, two runs at once", async (t) => {
    const real = await knexMigrationTrace(tempDir(t), 'sqlite3');
    // The module swapped and nothing else: BEGIN as node-sqlite3 runs it (deferred).
    const dropIn = await knexMigrationTrace(tempDir(t), litepoolKnexClient(litepoolSqlite3));
    assert.deepEqual(dropIn, real);
    // What node-sqlite3 gives, so the comparison above cannot pass on two empty traces.
    assert.deepEqual(Object.fromEntries(real), {
      latest: [1, ['001_first', '002_second']],
      status: 0,
      'a failing migration': true,
      'its column, rolled back with it': ['id'],
      'the lock let go': 0,
      'latest while locked': 'Migration table is already locked',
      'a failing migration without a transaction': true,
      'its column stays': ['id', 'extra'],
      'rollback all': [1, ['002_second', '001_first']],
      'tables left': [false, false],
      'two runs at once: errors other than the lock': [],
      'two runs at once: migrations recorded': 2,
      'the lock let go after both': 0,
    });
  });

  test('Sequelize with fake timers installed (as its model tests do): open, sync, queries and close all answer', async (t) => {
    // The timers an app's tests fake; a fake setImmediate or queueMicrotask would also freeze node:test's own reporting of
    // the rest of this file (test/46's fake-timers scenario fakes every timer, in a process of its own).
    const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    // Uninstalled here, not in t.after: Deno's node:test runs a test's after hooks only once its suite ends.
    try {
      const sequelize = litepoolSequelize(join(tempDir(t), 'fake.db'));
      const Item = sequelize.define('Item', { name: DataTypes.STRING });
      await sequelize.sync();
      await Item.create({ name: 'under fake timers' });
      assert.equal(await Item.count(), 1);
      await sequelize.transaction(async (transaction) => {
        await Item.create({ name: 'in a transaction' }, { transaction });
      });
      assert.equal(await Item.count(), 2);
      await sequelize.close();
      assert.equal(clock.now, 0, 'the fake clock never moved: nothing waited on it');
    } finally {
      clock.uninstall();
    }
  });

  test("Sequelize's close closes every connection (a transaction's own too): the -wal and -shm files go, as its connection-manager test expects", async (t) => {
    const storage = join(tempDir(t), 'wal.db');
    const sequelize = litepoolSequelize(storage);
    let closed = false;
    t.after(() => (closed ? undefined : sequelize.close()));
    const User = sequelize.define('User', { username: DataTypes.STRING });
    await User.sync({ force: true });
    await sequelize.query('PRAGMA journal_mode = WAL');
    await User.create({ username: 'user1' });
    await sequelize.transaction((transaction) => User.create({ username: 'user2' }, { transaction }));
    const present = (): boolean[] => ['', '-wal', '-shm'].map((suffix) => existsSync(`${storage}${suffix}`));
    assert.deepEqual(present(), [true, true, true]);
    await sequelize.query('PRAGMA wal_checkpoint');
    assert.deepEqual(present(), [true, true, true], 'a checkpoint leaves the files');
    await sequelize.close();
    closed = true;
    assert.deepEqual(present(), [true, false, false], 'the last connection closed removed them');
  });

  test('Sequelize isolation levels (PRAGMA read_uncommitted after BEGIN DEFERRED): the transaction takes no lock until it writes', async (t) => {
    const sequelize = litepoolSequelize(join(tempDir(t), 'levels.db'));
    t.after(() => sequelize.close());
    const Item = sequelize.define('Item', { name: DataTypes.STRING });
    await sequelize.sync();
    for (const isolationLevel of [Transaction.ISOLATION_LEVELS.READ_UNCOMMITTED, Transaction.ISOLATION_LEVELS.READ_COMMITTED]) {
      await sequelize.transaction({ isolationLevel }, async (transaction) => {
        // Outside the transaction, on Sequelize's other connection: it would wait for the writer if the PRAGMA had taken it.
        await Item.create({ name: `outside, ${isolationLevel}` });
        await Item.create({ name: `inside, ${isolationLevel}` }, { transaction });
      });
    }
    assert.equal(await Item.count(), 4);
  });

  test('Sequelize, two EXCLUSIVE transactions at once: the second waits and runs; held past the busy timeout, it fails with SQLITE_BUSY', async (t) => {
    const sequelize = litepoolSequelize(join(tempDir(t), 'busy.db'));
    t.after(() => sequelize.close());
    const User = sequelize.define('User', { id: { type: DataTypes.INTEGER, primaryKey: true }, name: DataTypes.STRING });
    await User.sync({ force: true });
    const quick = async (): Promise<void> => {
      const transaction = await sequelize.transaction({ type: Transaction.TYPES.EXCLUSIVE });
      await User.create({ name: 'quick' }, { transaction });
      await transaction.commit();
    };
    await Promise.all([quick(), quick()]);
    assert.equal(await User.count(), 2);
    // Each transaction is a connection of its own, opened with node-sqlite3's busy timeout (1000 ms): the one that
    // waits gives up on a lock held longer than that, and Sequelize does not retry an error that matches nothing.
    const slow = async (): Promise<void> => {
      // `retry` is Sequelize's (its retry-as-promised options), missing from its types: passed as a variable.
      const options = { type: Transaction.TYPES.EXCLUSIVE, retry: { match: ['NO_MATCH'] } };
      const transaction = await sequelize.transaction(options);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await User.create({ name: 'slow' }, { transaction });
      await transaction.commit();
    };
    const outcomes = await Promise.allSettled([slow(), slow()]);
    const failed = outcomes.filter((outcome) => outcome.status === 'rejected');
    assert.equal(failed.length, 1, 'one transaction ran, the other gave up');
    assert.match(String((failed[0] as PromiseRejectedResult).reason), /SQLITE_BUSY: database is locked/);
    assert.equal(await User.count(), 3);
  });

  test("TypeORM's busyTimeout option is the connection's: PRAGMA busy_timeout reads it back", async (t) => {
    const dataSource = new DataSource({
      type: 'sqlite',
      database: join(tempDir(t), 'busy.db'),
      driver: litepoolSqlite3,
      busyTimeout: 2000,
    });
    await dataSource.initialize();
    t.after(() => dataSource.destroy());
    assert.deepEqual(await dataSource.query('PRAGMA busy_timeout'), [{ timeout: 2000 }]);
  });
});
