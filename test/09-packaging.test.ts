/** The packages load from import and require, and strategies resolve by instance, name and config. */
import { createPool, isStrategy, FREE_HOLD, wal, WalStrategy, type Strategy } from '@litepool/core';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { dirname } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { testPool } from './helpers/pool.js';
import { tempDb } from './helpers/temp.js';

const here = dirname(fileURLToPath(import.meta.url));

function node(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: here, encoding: 'utf8' }).trim();
}

test('require() loads the package (CommonJS consumers)', (t) => {
  const filename = tempDb(t);
  const script = `
    const { createPool, LitepoolError, wal } = require('@litepool/core');
    const pool = createPool({ filename: ${JSON.stringify(filename)}, strategy: 'wal' });
    pool.get('SELECT 40 + 2 AS n').then(async (row) => {
      console.log(JSON.stringify({ n: row.n, error: typeof LitepoolError, wal: wal().name }));
      await pool.close();
    });`;
  assert.equal(node(['-e', script]), '{"n":42,"error":"function","wal":"wal"}');
});

test('import loads the package (ES module consumers)', () => {
  const script = `
    import { createPool, createStrategy } from '@litepool/core';
    console.log(typeof createPool, createStrategy({ name: 'wal' }).name);`;
  assert.equal(node(['--input-type=module', '-e', script]), 'function wal');
});

test("importing the package loads no strategy's library: async-mutex and proper-lockfile load with the first pool that uses them", (t) => {
  // Every package a module of this process asks for (sync hooks see import() and require() alike), by stage.
  const script = `
    import { isBuiltin, registerHooks } from 'node:module';
    const asked = new Set();
    registerHooks({
      resolve(specifier, context, next) {
        if (!isBuiltin(specifier) && !/^(\\.|\\/|file:)/.test(specifier)) asked.add(specifier.split('/')[0]);
        return next(specifier, context);
      },
    });
    const stages = {};
    const { createPool } = await import('@litepool/core');
    stages.import = [...asked].sort();
    for (const strategy of ['single-writer', 'mutex', 'file-lock']) {
      const pool = createPool({ filename: ${JSON.stringify(tempDb(t))} + '.' + strategy, strategy });
      await pool.run('CREATE TABLE t (x)');
      await pool.get('SELECT count(*) FROM t');
      await pool.close();
      stages[strategy] = [...asked].sort();
    }
    console.log(JSON.stringify(stages));`;
  const stages = JSON.parse(node(['--input-type=module', '-e', script])) as Record<
    'import' | 'single-writer' | 'mutex' | 'file-lock',
    string[]
  >;
  assert.ok(stages.import.includes('@litepool'), 'the hooks saw the import');
  for (const library of ['async-mutex', 'proper-lockfile']) assert.ok(!stages.import.includes(library), `${library} loaded at import`);
  assert.deepEqual(stages['single-writer'], stages.import, 'the default strategy loads no more packages');
  assert.deepEqual(
    stages.mutex.filter((name) => !stages.import.includes(name)),
    ['async-mutex'],
  );
  assert.ok(stages['file-lock'].includes('proper-lockfile'));
});

test('the drop-in entry points load with require() and import, as node-sqlite3 users write them', (t) => {
  const filename = tempDb(t);
  const script = `
    const sqlite3 = require('@litepool/core/sqlite3').verbose();
    const { open } = require('@litepool/core/sqlite');
    const { LitepoolDialect } = require('@litepool/core/kysely');
    const db = new sqlite3.Database(${JSON.stringify(filename)}, (err) => {
      if (err) throw err;
      db.get('SELECT 40 + 2 AS n', (err, row) => {
        console.log(JSON.stringify({ n: row.n, open: typeof open, dialect: typeof LitepoolDialect }));
        db.close();
      });
    });`;
  assert.equal(node(['-e', script]), '{"n":42,"open":"function","dialect":"function"}');
  const esm = `
    import sqlite3 from '@litepool/core/sqlite3';
    import { open } from '@litepool/core/sqlite';
    import { LitepoolDialect } from '@litepool/core/kysely';
    console.log(typeof sqlite3.Database, typeof open, typeof LitepoolDialect);`;
  assert.equal(node(['--input-type=module', '-e', esm]), 'function function function');
});

test('strategy as an instance, a name, a config object, or omitted', (t) => {
  const instance = wal();
  assert.equal(testPool(t, { strategy: instance }).strategy, instance);
  // By name the strategy is built by the registry (a second copy of it under tsx, so no instanceof here).
  assert.equal(testPool(t, { strategy: 'wal' }).strategy.name, 'wal');
  assert.ok(WalStrategy.name === 'WalStrategy');
  const configured = testPool(t, { strategy: { name: 'wal', maxWalBytes: 1024 } }).strategy as WalStrategy;
  assert.equal(configured.options.maxWalBytes, 1024);
  assert.equal(testPool(t).strategy.name, 'single-writer');
});

/** A minimal custom strategy (WAL, SQLite's own locks), with members replaced by `overrides`. */
function customStrategy(overrides: Partial<Strategy> & { name: string }): Strategy {
  return {
    capabilities: { crossProcess: true, networkSafe: false, concurrentReads: true, readsDuringWrite: true },
    journalMode: 'wal',
    writeBatching: undefined,
    pragmas: () => ({}),
    init: async () => {},
    acquire: () => FREE_HOLD,
    close: async () => {},
    ...overrides,
  };
}

test('a custom Strategy object is accepted and consulted around every dispatch', async (t) => {
  let holds = 0;
  const custom = customStrategy({
    name: 'counting',
    acquire: () => {
      holds++;
      return FREE_HOLD;
    },
  });
  assert.ok(isStrategy(custom));
  const pool = createPool({ filename: tempDb(t), strategy: custom });
  t.after(() => pool.close());
  await pool.exec('CREATE TABLE t (v)');
  await pool.transaction(async (tx) => void (await tx.run('INSERT INTO t VALUES (1)')));
  assert.equal(pool.strategy.name, 'counting');
  assert.ok(holds >= 2, `acquire was called ${holds} times`);
});

test('a strategy whose init fails fails every request with that error', async (t) => {
  const refusing = customStrategy({
    name: 'refusing',
    init: async () => {
      throw new Error('not here');
    },
  });
  const pool = createPool({ filename: tempDb(t), strategy: refusing });
  t.after(() => pool.destroy());
  await assert.rejects(pool.get('SELECT 1'), /not here/);
  await assert.rejects(pool.run('CREATE TABLE t (v)'), /not here/);
});
