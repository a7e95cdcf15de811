/**
 * What Knex's own migration tests check on SQLite, run on one Knex client (the
 * real sqlite3 or litepool's module): a batch applied and rolled back, a
 * failing migration undone with its transaction and the lock let go, the lock
 * table refusing a second run, migrations without a transaction left half
 * done, and two runs at once on two connections. Each entry is a step and what
 * it saw, so two clients' traces compare whole.
 */
import knexFactory, { type Knex } from 'knex';
import { join } from 'node:path';

type Step = [string, unknown];

interface Migration {
  up(knex: Knex): Promise<unknown>;
  down(knex: Knex): Promise<unknown>;
  config?: { transaction: boolean };
}

const table = (name: string) => (knex: Knex) => knex.schema.createTable(name, (t) => t.increments('id'));
const drop = (name: string) => (knex: Knex) => knex.schema.dropTableIfExists(name);

/** Adds a column, then fails (the table it reads does not exist): with a transaction, the column goes too. */
const failing = (config?: { transaction: boolean }): Migration => ({
  up: async (knex) => {
    await knex.schema.alterTable('first', (t) => t.string('extra'));
    await knex('unknown_table').select('*');
  },
  down: () => Promise.resolve(),
  ...(config === undefined ? {} : { config }),
});

const MIGRATIONS: Record<string, Migration> = {
  '001_first': { up: table('first'), down: drop('first') },
  '002_second': { up: table('second'), down: drop('second') },
  '003_failing': failing(),
  '003_failing_untransacted': failing({ transaction: false }),
};

/** A migration source holding `names` (from MIGRATIONS). */
function source(...names: string[]): Knex.MigratorConfig {
  return {
    migrationSource: {
      getMigrations: () => Promise.resolve(names),
      getMigrationName: (name: string) => name,
      getMigration: (name: string) => Promise.resolve(MIGRATIONS[name]!),
    },
  };
}

/** The error's message, or 'ok'. */
const outcome = (run: Promise<unknown>): Promise<string> =>
  run.then(
    () => 'ok',
    (error: Error) => error.message,
  );

/** Runs the steps on a new file in `dir` with `client`; returns what each saw. */
export async function knexMigrationTrace(dir: string, client: string | typeof Knex.Client): Promise<Step[]> {
  const knex = knexFactory({
    client,
    connection: { filename: join(dir, 'migrations.db') },
    useNullAsDefault: true,
    pool: { min: 0, max: 2 },
    // The failing migrations are meant to fail: Knex's report of each stays out of the test's output.
    log: { error: () => undefined, warn: () => undefined },
  });
  const trace: Step[] = [];
  const columns = async (name: string): Promise<string[]> => Object.keys(await knex(name).columnInfo());
  const locked = async (): Promise<unknown> => (await knex('knex_migrations_lock').first('is_locked'))?.is_locked;
  try {
    const [batch, applied] = (await knex.migrate.latest(source('001_first', '002_second'))) as [number, string[]];
    trace.push(['latest', [batch, applied]]);
    trace.push(['status', await knex.migrate.status(source('001_first', '002_second'))]);
    const failed = await outcome(knex.migrate.latest(source('001_first', '002_second', '003_failing')));
    trace.push(['a failing migration', /unknown_table/.test(failed)]);
    trace.push(['its column, rolled back with it', await columns('first')]);
    trace.push(['the lock let go', await locked()]);
    await knex('knex_migrations_lock').update({ is_locked: 1 });
    trace.push(['latest while locked', await outcome(knex.migrate.latest(source('001_first', '002_second')))]);
    await knex.migrate.forceFreeMigrationsLock(source('001_first', '002_second'));
    const untransacted = await outcome(knex.migrate.latest(source('001_first', '002_second', '003_failing_untransacted')));
    trace.push(['a failing migration without a transaction', /unknown_table/.test(untransacted)]);
    trace.push(['its column stays', await columns('first')]);
    trace.push(['rollback all', (await knex.migrate.rollback(source('001_first', '002_second'), true)) as unknown]);
    trace.push(['tables left', [await knex.schema.hasTable('first'), await knex.schema.hasTable('second')]]);
    // Two runs at once, one per connection: one applies the batch; the other finds it applied or the table locked.
    const both = await Promise.all([0, 1].map(() => outcome(knex.migrate.latest(source('001_first', '002_second')))));
    trace.push([
      'two runs at once: errors other than the lock',
      both.filter((message) => message !== 'ok' && !/already locked/.test(message)),
    ]);
    trace.push(['two runs at once: migrations recorded', (await knex('knex_migrations').count({ n: '*' }))[0]?.n]);
    trace.push(['the lock let go after both', await locked()]);
    return trace;
  } finally {
    await knex.destroy();
  }
}
