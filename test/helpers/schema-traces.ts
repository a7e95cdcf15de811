/**
 * Schema changes as the ORMs make them on SQLite, traced on one driver (the
 * real sqlite3 or litepool's module), so two drivers' traces compare whole.
 * SQLite alters little in place: Knex's `alterTable` and Sequelize's
 * `changeColumn` copy the table into a new one inside a transaction, with
 * `PRAGMA foreign_keys` turned off and on around it, and read the schema back
 * with `PRAGMA table_info`, `index_list` and `foreign_key_list`. Each entry is
 * a step and what it saw (its rows, or its error's code and message).
 */
import knexFactory, { type Knex } from 'knex';
import { DataTypes, Sequelize } from 'sequelize';

type Step = [string, unknown];

/**
 * A step's outcome: its value, or its error's code and message (Knex puts the
 * failing SQL before the message, ` - ` between; its temporary table names
 * are random).
 */
async function outcome(run: () => Promise<unknown>): Promise<unknown> {
  try {
    // As JSON: a value may hold the driver's own objects (Sequelize returns a Statement), of two classes on two drivers.
    return JSON.parse(JSON.stringify((await run()) ?? null)) as unknown;
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    const text = String(message).replace(/_knex_temp_alter\d+/g, '_knex_temp_alter');
    const sqlEnds = text.lastIndexOf(' - ');
    return `error ${code ?? ''}: ${sqlEnds < 0 ? text : text.slice(sqlEnds + 3)}`;
  }
}

/**
 * Knex's schema builder on `filename`: tables with a unique column, an index
 * and a foreign key; columns added, renamed, dropped, retyped and made
 * nullable and not (the last fails on the NULLs it finds); unique keys,
 * indexes and foreign keys dropped and added; the schema read back; a table
 * renamed, a view, a truncate, a batch insert, DDL rolled back with its
 * transaction.
 */
export async function knexSchemaTrace(filename: string, client: string | typeof Knex.Client): Promise<Step[]> {
  const knex = knexFactory({ client, connection: { filename }, useNullAsDefault: true, pool: { min: 1, max: 1 } });
  const trace: Step[] = [];
  const step = async (name: string, run: () => Promise<unknown>): Promise<void> => {
    trace.push([name, await outcome(run)]);
  };
  const schema = () => knex.schema;
  try {
    await step('create users', () =>
      schema().createTable('users', (t) => {
        t.increments('id');
        t.string('name', 100).notNullable();
        t.string('email').unique();
        t.integer('age').defaultTo(18);
        t.index(['name', 'age'], 'name_age');
      }),
    );
    await step('create posts', () =>
      schema().createTable('posts', (t) => {
        t.increments('id');
        t.integer('user_id').unsigned().references('id').inTable('users').onDelete('CASCADE');
        t.text('body');
      }),
    );
    await step('insert users', () =>
      knex('users').insert([
        { name: 'a', email: 'a@x' },
        { name: 'b', email: 'b@x', age: null },
        { name: 'c', email: 'c@x', age: 40 },
      ]),
    );
    await step('insert posts', () =>
      knex('posts').insert([
        { user_id: 1, body: 'x' },
        { user_id: 3, body: 'y' },
      ]),
    );
    await step('add a column', () => schema().alterTable('users', (t) => void t.string('nick')));
    await step('rename it', () => schema().alterTable('users', (t) => void t.renameColumn('nick', 'nickname')));
    await step('drop it', () => schema().alterTable('users', (t) => void t.dropColumn('nickname')));
    await step('retype a column', () => schema().alterTable('users', (t) => void t.text('name').alter()));
    await step('make a column NOT NULL over a NULL', () => schema().alterTable('users', (t) => void t.dropNullable('age')));
    await step('drop the unique key', () => schema().alterTable('users', (t) => void t.dropUnique(['email'])));
    await step('add a named one', () => schema().alterTable('users', (t) => void t.unique(['email'], { indexName: 'u_email' })));
    await step('drop the index', () => schema().alterTable('users', (t) => void t.dropIndex(['name', 'age'], 'name_age')));
    await step('drop the foreign key', () => schema().alterTable('posts', (t) => void t.dropForeign('user_id')));
    await step('add it again', () => schema().alterTable('posts', (t) => void t.foreign('user_id').references('users.id')));
    await step('columns', () => knex('users').columnInfo());
    await step('indexes', () => knex.raw('PRAGMA index_list(users)'));
    await step('foreign keys', () => knex.raw('PRAGMA foreign_key_list(posts)'));
    await step('rows kept', () => knex('users').select('id', 'name', 'email', 'age').orderBy('id'));
    await step('rename a table', () => schema().renameTable('posts', 'articles'));
    await step('a view', async () => {
      await schema().createView('names', (view) => {
        view.columns(['n']);
        view.as(knex('users').select('name'));
      });
      return knex('names').select();
    });
    await step('truncate', async () => {
      await knex('articles').truncate();
      return knex.raw('SELECT name, seq FROM sqlite_sequence ORDER BY name');
    });
    await step('batch insert', () =>
      knex.batchInsert(
        'articles',
        Array.from({ length: 75 }, (_, i) => ({ user_id: 1, body: `b${i}` })),
        30,
      ),
    );
    await step('DDL in a transaction that throws', () =>
      knex.transaction(async (trx) => {
        await trx.schema.createTable('scratch', (t) => void t.increments());
        await trx('users').insert({ name: 'x', email: 'x@x' });
        throw new Error('undo it all');
      }),
    );
    await step('after the rollback', async () => [await schema().hasTable('scratch'), await knex('users').count({ n: '*' })]);
    await step('schema left', () => knex.raw("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name"));
    return trace;
  } finally {
    await knex.destroy();
  }
}

/**
 * Sequelize's query interface on `storage`: a model synced with an index and
 * associations, the schema described, columns added, changed, renamed and
 * removed, an index and a unique constraint added and read back, then
 * `sync({ alter: true })` with a model that changed.
 */
export async function sequelizeSchemaTrace(storage: string, dialectModule: object): Promise<Step[]> {
  const sequelize = new Sequelize({ dialect: 'sqlite', storage, logging: false, dialectModule });
  const queries = sequelize.getQueryInterface();
  const trace: Step[] = [];
  const step = async (name: string, run: () => Promise<unknown>): Promise<void> => {
    trace.push([name, await outcome(run)]);
  };
  try {
    const User = sequelize.define(
      'User',
      { name: { type: DataTypes.STRING, allowNull: false, unique: true }, age: DataTypes.INTEGER },
      {
        indexes: [{ fields: ['age'] }],
        timestamps: false,
      },
    );
    const Task = sequelize.define('Task', { title: DataTypes.STRING }, { timestamps: false });
    User.hasMany(Task);
    Task.belongsTo(User);
    await step('sync', () => sequelize.sync({ force: true }).then(() => 'synced'));
    await step('rows', () =>
      User.bulkCreate([
        { name: 'ann', age: 30 },
        { name: 'bob', age: 20 },
      ]).then((rows) => rows.length),
    );
    await step('describe', () => queries.describeTable('Users'));
    await step('indexes', () => queries.showIndex('Users'));
    await step('foreign keys', () => queries.getForeignKeyReferencesForTable('Tasks'));
    await step('add a column', () => queries.addColumn('Users', 'nick', { type: DataTypes.STRING, defaultValue: 'n' }));
    await step('change a column', () => queries.changeColumn('Users', 'age', { type: DataTypes.STRING, allowNull: true }));
    await step('rename a column', () => queries.renameColumn('Users', 'nick', 'nickname'));
    await step('remove a column', () => queries.removeColumn('Users', 'nickname'));
    await step('add an index', () => queries.addIndex('Users', ['name', 'age'], { name: 'name_age', unique: true }));
    await step('indexes after', () => queries.showIndex('Users'));
    await step('remove it', () => queries.removeIndex('Users', 'name_age'));
    await step('add a unique constraint', () => queries.addConstraint('Tasks', { fields: ['title'], type: 'unique', name: 'one_title' }));
    // Sequelize's SQLite query interface reads a table's constraints back with showConstraint, which its types leave out.
    const constraints = queries as unknown as { showConstraint(table: string): Promise<unknown> };
    await step('constraints', () => constraints.showConstraint('Tasks'));
    await step('describe after', () => queries.describeTable('Users'));
    await step('rows kept', () => User.findAll({ raw: true, order: [['id', 'ASC']] }));
    await step('sync({ alter }) with a changed model', async () => {
      sequelize.define('User', { name: DataTypes.STRING, extra: DataTypes.STRING }, { timestamps: false });
      await sequelize.sync({ alter: true });
      return queries.describeTable('Users');
    });
    await step('tables', () => queries.showAllTables());
    return trace;
  } finally {
    await sequelize.close();
  }
}
