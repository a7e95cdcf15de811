#!/usr/bin/env node
// What an ORM's own integration suite pays through the node-sqlite3 drop-in:
// Knex 3 and Sequelize 6, each on one database for the whole suite (a file,
// as Knex's suite uses, or `:memory:`, as many apps' test configs do), run N
// "tests" of the shape those suites have: drop and create two tables, insert
// rows one by one and in a transaction, query (filter, join, group, count),
// update, delete, and a transaction that fails and rolls back. The same suite
// runs with the real `sqlite3` and with `@litepool/core/sqlite3`
// (the one-line change), alternating, each twice; prints each wall time, the
// calling thread's CPU and the ratio of the medians, as JSON. Build first
// (`pnpm build`).
//   node packages/bench/scripts/orm-suite-proxy.mjs [--tests 40] [--storage file|memory] [--orms knex,sequelize]
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const knexFactory = require('knex');
const { DataTypes, Sequelize } = require('sequelize');

const { values } = parseArgs({
  options: {
    tests: { type: 'string', default: '40' },
    storage: { type: 'string', default: 'file' },
    orms: { type: 'string', default: 'knex,sequelize' },
  },
});
const tests = Number(values.tests);
if (!Number.isInteger(tests) || tests < 1) throw new Error(`--tests must be a positive whole number, got ${values.tests}`);
if (values.storage !== 'file' && values.storage !== 'memory') throw new Error(`--storage must be file or memory, got ${values.storage}`);
const DRIVERS = { real: require('sqlite3'), 'drop-in': require('@litepool/core/sqlite3') };

/** Knex's sqlite3 client, loading `driver` instead of `require('sqlite3')`. */
function knexClient(driver) {
  const Sqlite3Client = require('knex/lib/dialects/sqlite3/index.js');
  return class extends Sqlite3Client {
    _driver() {
      return driver;
    }
  };
}

function check(condition, what) {
  if (!condition) throw new Error(`suite check failed: ${what}`);
}

/** One Knex suite on `filename`. */
async function knexSuite(driver, filename) {
  const knex = knexFactory({ client: knexClient(driver), connection: { filename }, useNullAsDefault: true });
  try {
    for (let i = 0; i < tests; i++) {
      await knex.schema.dropTableIfExists('posts');
      await knex.schema.dropTableIfExists('users');
      await knex.schema.createTable('users', (t) => {
        t.increments('id');
        t.string('name').notNullable();
        t.string('email').unique();
        t.integer('age');
      });
      await knex.schema.createTable('posts', (t) => {
        t.increments('id');
        t.integer('user_id').references('users.id');
        t.string('title');
        t.text('body');
      });
      for (let u = 0; u < 10; u++) await knex('users').insert({ name: `user ${u}`, email: `u${u}@example.com`, age: 20 + u });
      await knex.transaction(async (trx) => {
        for (let p = 0; p < 20; p++) await trx('posts').insert({ user_id: 1 + (p % 10), title: `post ${p}`, body: 'text' });
      });
      const adults = await knex('users').where('age', '>=', 25).orderBy('id');
      check(adults.length === 5, 'filter');
      const perUser = await knex('posts')
        .join('users', 'users.id', 'posts.user_id')
        .groupBy('users.id')
        .select('users.name')
        .count({ n: '*' });
      check(perUser.length === 10, 'join and group');
      await knex('users').where('id', '<=', 5).update({ age: 99 });
      await knex('posts').where('id', '<=', 2).del();
      const failed = await knex
        .transaction(async (trx) => {
          await trx('users').insert({ name: 'doomed', email: 'doomed@example.com' });
          await trx('users').insert({ name: 'twin', email: 'doomed@example.com' });
        })
        .catch(() => 'rolled back');
      check(failed === 'rolled back', 'unique violation');
      const [{ n }] = await knex('users').count({ n: '*' });
      check(Number(n) === 10, 'rollback left nothing');
      check((await knex('users').where({ id: 3 }).first()).age === 99, 'update');
    }
  } finally {
    await knex.destroy();
  }
}

/** One Sequelize suite on `storage`. */
async function sequelizeSuite(driver, storage) {
  const sequelize = new Sequelize({ dialect: 'sqlite', storage, dialectModule: driver, logging: false });
  try {
    const User = sequelize.define('User', {
      name: { type: DataTypes.STRING, allowNull: false },
      email: { type: DataTypes.STRING, unique: true },
      age: DataTypes.INTEGER,
    });
    const Post = sequelize.define('Post', { title: DataTypes.STRING, body: DataTypes.TEXT });
    User.hasMany(Post);
    Post.belongsTo(User);
    for (let i = 0; i < tests; i++) {
      await sequelize.sync({ force: true });
      for (let u = 0; u < 10; u++) await User.create({ name: `user ${u}`, email: `u${u}@example.com`, age: 20 + u });
      await sequelize.transaction(async (transaction) => {
        for (let p = 0; p < 20; p++) await Post.create({ UserId: 1 + (p % 10), title: `post ${p}`, body: 'text' }, { transaction });
      });
      const adults = await User.findAll({ where: { age: { [Sequelize.Op.gte]: 25 } }, order: [['id', 'ASC']] });
      check(adults.length === 5, 'filter');
      const withPosts = await User.findAll({ include: Post });
      check(withPosts.length === 10 && withPosts[0].Posts.length === 2, 'include');
      await User.update({ age: 99 }, { where: { id: { [Sequelize.Op.lte]: 5 } } });
      await Post.destroy({ where: { id: { [Sequelize.Op.lte]: 2 } } });
      const failed = await sequelize
        .transaction(async (transaction) => {
          await User.create({ name: 'doomed', email: 'doomed@example.com' }, { transaction });
          await User.create({ name: 'twin', email: 'doomed@example.com' }, { transaction });
        })
        .catch(() => 'rolled back');
      check(failed === 'rolled back', 'unique violation');
      check((await User.count()) === 10, 'rollback left nothing');
      check((await User.findByPk(3)).age === 99, 'update');
    }
  } finally {
    await sequelize.close();
  }
}

const SUITES = { knex: knexSuite, sequelize: sequelizeSuite };
const orms = values.orms.split(',').filter(Boolean);
for (const orm of orms) if (!(orm in SUITES)) throw new Error(`--orms: unknown ORM ${orm} (knex, sequelize)`);
const median = (list) => [...list].sort((a, b) => a - b)[Math.floor((list.length - 1) / 2)];
const dir = mkdtempSync(join(tmpdir(), 'litepool-orm-suite-'));
const report = { tests, storage: values.storage };
try {
  for (const orm of orms) {
    const runs = { real: [], 'drop-in': [] };
    const cpu = { real: [], 'drop-in': [] };
    for (let round = 0; round < 2; round++) {
      for (const name of ['real', 'drop-in']) {
        const storage = values.storage === 'memory' ? ':memory:' : join(dir, `${orm}-${name}-${round}.db`);
        const cpuBefore = process.threadCpuUsage();
        const started = performance.now();
        await SUITES[orm](DRIVERS[name], storage);
        runs[name].push(Math.round(performance.now() - started));
        const used = process.threadCpuUsage(cpuBefore);
        cpu[name].push(Math.round((used.user + used.system) / 1000));
      }
    }
    report[orm] = {
      realMs: runs.real,
      dropInMs: runs['drop-in'],
      realCpuMs: cpu.real,
      dropInCpuMs: cpu['drop-in'],
      ratio: Number((median(runs['drop-in']) / median(runs.real)).toFixed(2)),
    };
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify(report));
