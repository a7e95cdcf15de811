/**
 * Schema changes through the drop-in as the ORMs make them (issue 20: their
 * own suites alter tables and read the schema back right after): Knex's
 * `alterTable` and Sequelize's query interface copy a table into a new one in
 * a transaction and then read `PRAGMA table_info`, `index_list` and
 * `foreign_key_list`. Each scenario runs on the real sqlite3 and on
 * `@litepool/core/sqlite3`, nothing else changed, and the two traces must be
 * the same; the real trace's key steps are asserted too, so two empty or
 * failing traces cannot pass.
 */
import litepoolSqlite3 from '@litepool/core/sqlite3';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import sqlite3 from 'sqlite3';
import { litepoolKnexClient } from './helpers/orm-scenarios.js';
import { knexSchemaTrace, sequelizeSchemaTrace } from './helpers/schema-traces.js';
import { tempDir } from './helpers/temp.js';

/** What the real driver's Knex trace must show (steps that would fail or be empty if the alterations did not run). */
function assertKnexSaw(trace: [string, unknown][]): void {
  const seen = new Map(trace);
  assert.match(String(seen.get('make a column NOT NULL over a NULL')), /SQLITE_CONSTRAINT.*NOT NULL constraint failed/);
  assert.deepEqual(Object.keys(seen.get('columns') as object), ['id', 'name', 'email', 'age']);
  assert.deepEqual(
    (seen.get('indexes') as { name: string }[]).map((index) => index.name),
    ['u_email'],
  );
  assert.deepEqual(
    (seen.get('foreign keys') as { table: string; from: string }[]).map((key) => [key.table, key.from]),
    [['users', 'user_id']],
  );
  assert.equal((seen.get('rows kept') as unknown[]).length, 3);
  assert.deepEqual(seen.get('batch insert'), [30, 60, 75]);
  assert.equal(seen.get('DDL in a transaction that throws'), 'error : undo it all');
  assert.deepEqual(seen.get('after the rollback'), [false, [{ n: 3 }]]);
}

describe('schema changes through the drop-in are node-sqlite3’s (issue 20)', { timeout: 120_000 }, () => {
  for (const where of ['a file', ':memory:'] as const) {
    test(`Knex's alterTable, unique keys, indexes, foreign keys, views, truncate, DDL rolled back: the same trace, on ${where}`, async (t) => {
      const filename = (name: string): string => (where === ':memory:' ? ':memory:' : join(tempDir(t), name));
      const real = await knexSchemaTrace(filename('real.db'), 'sqlite3');
      const dropIn = await knexSchemaTrace(filename('drop-in.db'), litepoolKnexClient(litepoolSqlite3));
      assert.deepEqual(dropIn, real);
      assertKnexSaw(real);
    });

    test(`Sequelize's query interface (describe, add, change, rename and remove columns, indexes, constraints, sync({ alter })): the same trace, on ${where}`, async (t) => {
      const storage = (name: string): string => (where === ':memory:' ? ':memory:' : join(tempDir(t), name));
      const real = await sequelizeSchemaTrace(storage('real.db'), sqlite3);
      const dropIn = await sequelizeSchemaTrace(storage('drop-in.db'), litepoolSqlite3);
      assert.deepEqual(dropIn, real);
      const seen = new Map(real);
      assert.equal((seen.get('describe after') as { age: { type: string } }).age.type, 'VARCHAR(255)');
      assert.deepEqual(seen.get('rows kept'), [
        { id: 1, name: 'ann', age: '30' },
        { id: 2, name: 'bob', age: '20' },
      ]);
      assert.deepEqual(Object.keys(seen.get('sync({ alter }) with a changed model') as object), ['id', 'name', 'extra']);
      assert.equal((seen.get('constraints') as { constraintName: string }[])[0]?.constraintName, 'one_title');
    });
  }
});
