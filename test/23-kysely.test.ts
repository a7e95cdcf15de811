/**
 * The Kysely dialect (`@litepool/core/kysely`): CRUD through the pool,
 * transactions mapped onto pool.transaction (held across awaits), rollback on
 * throw, introspection, streaming.
 */
import { LitepoolDialect } from '@litepool/core/kysely';
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { Kysely, sql, type Generated } from 'kysely';
import { STRATEGY_CASES } from './helpers/strategies.js';
import { testPool, tick } from './helpers/pool.js';
import type { PoolOptions } from '@litepool/core';

interface DB {
  person: { id: Generated<number>; name: string; age: number };
  counter: { id: number; n: number };
}

async function kysely(t: TestContext, options: Partial<PoolOptions> = {}): Promise<Kysely<DB>> {
  const pool = testPool(t, options);
  const db = new Kysely<DB>({ dialect: new LitepoolDialect({ pool }) });
  t.after(() => db.destroy());
  await db.schema
    .createTable('person')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('age', 'integer', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('counter')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('n', 'integer', (c) => c.notNull())
    .execute();
  await db.insertInto('counter').values({ id: 1, n: 0 }).execute();
  return db;
}

describe('Kysely dialect', () => {
  test('select, insert (insertId, returning), update and delete (numAffectedRows), typed rows', async (t) => {
    const db = await kysely(t);
    const inserted = await db.insertInto('person').values({ name: 'Ada', age: 36 }).executeTakeFirstOrThrow();
    assert.equal(inserted.insertId, 1n);
    const returned = await db.insertInto('person').values({ name: 'Alan', age: 41 }).returning(['id', 'name']).executeTakeFirstOrThrow();
    assert.deepEqual(returned, { id: 2, name: 'Alan' });
    const people = await db.selectFrom('person').select(['name', 'age']).where('age', '>', 30).orderBy('id').execute();
    assert.deepEqual(people, [
      { name: 'Ada', age: 36 },
      { name: 'Alan', age: 41 },
    ]);
    const updated = await db
      .updateTable('person')
      .set((eb) => ({ age: eb('age', '+', 1) }))
      .where('name', '=', 'Ada')
      .executeTakeFirstOrThrow();
    assert.equal(updated.numUpdatedRows, 1n);
    const deleted = await db.deleteFrom('person').where('name', '=', 'Alan').executeTakeFirstOrThrow();
    assert.equal(deleted.numDeletedRows, 1n);
    assert.deepEqual(await db.selectFrom('person').selectAll().execute(), [{ id: 1, name: 'Ada', age: 37 }]);
    const { rows } = await sql<{ total: number }>`SELECT count(*) AS total FROM person`.execute(db);
    assert.deepEqual(rows, [{ total: 1 }]);
    await assert.rejects(db.insertInto('person').values({ name: 'Ada', age: 1 }).execute(), { code: 'SQLITE_CONSTRAINT_UNIQUE' });
  });

  for (const { label, config } of STRATEGY_CASES) {
    test(`${label}: 32 concurrent callers x 10 transactions spanning awaits end exact`, async (t) => {
      const db = await kysely(t, { strategy: config });
      await Promise.all(
        Array.from({ length: 32 }, async () => {
          for (let i = 0; i < 10; i++) {
            await db.transaction().execute(async (trx) => {
              const { n } = await trx.selectFrom('counter').select('n').where('id', '=', 1).executeTakeFirstOrThrow();
              await tick();
              await trx
                .updateTable('counter')
                .set({ n: n + 1 })
                .where('id', '=', 1)
                .execute();
            });
          }
        }),
      );
      assert.deepEqual(await db.selectFrom('counter').select('n').executeTakeFirstOrThrow(), { n: 320 });
    });
  }

  test('a throw rolls the transaction back; savepoints roll back alone; the writer is free afterwards', async (t) => {
    const db = await kysely(t);
    await assert.rejects(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('person').values({ name: 'Grace', age: 85 }).execute();
        throw new Error('changed my mind');
      }),
      /changed my mind/,
    );
    assert.deepEqual(await db.selectFrom('person').selectAll().execute(), []);
    const trx = await db.startTransaction().execute();
    await trx.insertInto('person').values({ name: 'Edsger', age: 72 }).execute();
    const inner = await trx.savepoint('inner').execute();
    await inner.insertInto('person').values({ name: 'Barbara', age: 84 }).execute();
    await inner.rollbackToSavepoint('inner').execute();
    await trx.commit().execute();
    assert.deepEqual(await db.selectFrom('person').select('name').execute(), [{ name: 'Edsger' }]);
    const controlled = await db.startTransaction().execute();
    await controlled.insertInto('person').values({ name: 'Ken', age: 81 }).execute();
    await controlled.rollback().execute();
    assert.equal((await db.selectFrom('person').select('name').execute()).length, 1);
  });

  test('introspection and streaming', async (t) => {
    const db = await kysely(t);
    const tables = await db.introspection.getTables();
    assert.deepEqual(tables.map((x) => x.name).sort(), ['counter', 'person']);
    for (let i = 0; i < 25; i++)
      await db
        .insertInto('person')
        .values({ name: `p${i}`, age: i })
        .execute();
    let count = 0;
    for await (const row of db.selectFrom('person').select('age').orderBy('age').stream(10)) {
      assert.equal(row.age, count++);
    }
    assert.equal(count, 25);
    assert.throws(() => new LitepoolDialect({} as never), { code: 'ERR_INVALID_ARGUMENT' });
  });
});
