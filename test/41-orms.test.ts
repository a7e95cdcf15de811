/**
 * The ORMs apps use, each with its documented setup and litepool as the
 * driver (issue 11): schema by migrations or sync, CRUD, a rollback on throw,
 * then 32 callers x 20 read-modify-write increments in the ORM's transaction
 * API with an await between read and write: the count exact, no errors, and a
 * shutdown that returns. The same runs on each ORM's usual driver are
 * recorded by scripts/orm-table.ts (they lose updates, fail or hang: that is
 * the point, so they are measured there, not asserted here).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  drizzleScenario,
  knexScenario,
  sequelizeScenario,
  typeormScenario,
  type Outcome,
  type RunOptions,
} from './helpers/orm-scenarios.js';
import { tempDir } from './helpers/temp.js';

const checks =
  (failures: string[]): RunOptions['check'] =>
  (ok, what) => {
    if (!ok) failures.push(what);
  };

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
