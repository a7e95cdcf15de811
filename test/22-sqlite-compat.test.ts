/**
 * The `sqlite` (promise wrapper) compatible API (`@litepool/core/sqlite`),
 * checked against its documented methods: open, get/all/run/exec/each,
 * prepare, migrate, close.
 */
import { Database, open, Statement } from '@litepool/core/sqlite';
import sqlite3 from '@litepool/core/sqlite3';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { tempDb, tempDir } from './helpers/temp.js';

async function openDb(t: TestContext, filename = tempDb(t)): Promise<Database> {
  const db = await open({ filename, driver: sqlite3.Database });
  t.after(() => db.close().catch(() => {}));
  return db;
}

describe('sqlite (promise wrapper) compatible API', () => {
  test('open({ filename, driver }); run gives lastID and changes; get, all, exec, each', async (t) => {
    const db = await openDb(t);
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)');
    const result = await db.run('INSERT INTO t (name) VALUES (?)', 'a');
    assert.equal(result.lastID, 1);
    assert.equal(result.changes, 1);
    assert.ok(result.stmt instanceof Statement, "run's result carries the statement behind the call, as sqlite's does");
    await db.run('INSERT INTO t (name) VALUES (:name)', { ':name': 'b' });
    assert.deepEqual(await db.get('SELECT name FROM t WHERE id = ?', [2]), { name: 'b' });
    assert.equal(await db.get('SELECT name FROM t WHERE id = 99'), undefined);
    assert.deepEqual(await db.all('SELECT name FROM t ORDER BY id'), [{ name: 'a' }, { name: 'b' }]);
    const seen: unknown[] = [];
    assert.equal(await db.each('SELECT name FROM t ORDER BY id', (err, row) => seen.push(err ?? row)), 2);
    assert.deepEqual(seen, [{ name: 'a' }, { name: 'b' }]);
    await assert.rejects(db.run('INSERT INTO t (name) VALUES (?)', 'a'), { code: 'SQLITE_CONSTRAINT', errno: 19 });
    assert.equal(db.pool?.strategy.name, 'single-writer');
  });

  test('prepare: statement reuse, get steps, all, finalize; a syntax error rejects', async (t) => {
    const db = await openDb(t);
    await db.exec('CREATE TABLE t (v INTEGER)');
    const insert = await db.prepare('INSERT INTO t VALUES (?)');
    for (const v of [1, 2, 3]) assert.equal((await insert.run(v)).changes, 1);
    await insert.finalize();
    const select = await db.prepare('SELECT v FROM t WHERE v >= ? ORDER BY v', 2);
    assert.deepEqual(await select.get(), { v: 2 });
    assert.deepEqual(await select.get(), { v: 3 });
    await select.reset();
    assert.deepEqual(await select.all(), [{ v: 2 }, { v: 3 }]);
    await assert.rejects(db.prepare('SELEC v FROM t'), { code: 'SQLITE_ERROR' });
  });

  test('migrate: applies NNN.name.sql files in order once, records them, undoes a removed one, force re-applies the last', async (t) => {
    const dir = tempDir(t);
    const migrations = join(dir, 'migrations');
    mkdirSync(migrations);
    writeFileSync(
      join(migrations, '001.initial.sql'),
      '-- Up\nCREATE TABLE a (v INTEGER);\nINSERT INTO a VALUES (1);\n\n-- Down\nDROP TABLE a;\n',
    );
    writeFileSync(join(migrations, '002.second.sql'), '-- Up\nCREATE TABLE b (v INTEGER);\n-- Down\nDROP TABLE b;\n');
    writeFileSync(join(migrations, '003.third.sql'), '-- Up\nINSERT INTO a VALUES (3);\n-- Down\nDELETE FROM a WHERE v = 3;\n');
    writeFileSync(join(migrations, 'README.md'), 'not a migration');
    const db = await openDb(t, join(dir, 'app.db'));
    await db.migrate({ migrationsPath: migrations });
    await db.migrate({ migrationsPath: migrations }); // idempotent
    assert.deepEqual(await db.all('SELECT id, name FROM migrations ORDER BY id'), [
      { id: 1, name: 'initial' },
      { id: 2, name: 'second' },
      { id: 3, name: 'third' },
    ]);
    assert.deepEqual(await db.all('SELECT v FROM a ORDER BY v'), [{ v: 1 }, { v: 3 }]);
    const list = [
      { id: 1, name: 'initial', up: 'CREATE TABLE a (v INTEGER); INSERT INTO a VALUES (1);', down: 'DROP TABLE a;' },
      { id: 2, name: 'second', up: 'CREATE TABLE b (v INTEGER);', down: 'DROP TABLE b;' },
      { id: 4, name: 'fourth', up: 'CREATE TABLE d (v INTEGER); INSERT INTO d VALUES (4);', down: 'DROP TABLE d;' },
    ];
    await db.migrate({ migrations: list });
    assert.deepEqual(await db.all('SELECT id FROM migrations ORDER BY id'), [{ id: 1 }, { id: 2 }, { id: 4 }]);
    assert.deepEqual(await db.all('SELECT v FROM a ORDER BY v'), [{ v: 1 }], 'migration 3 was undone when it left the list');
    await db.run('INSERT INTO d VALUES (5)');
    await db.migrate({ migrations: list, force: true });
    assert.deepEqual(await db.all('SELECT v FROM d'), [{ v: 4 }], 'force undid and re-applied the last migration');
    await assert.rejects(db.migrate({ migrations: [...list, { id: 9, name: 'bad', up: 'CREATE TABLE', down: '' }] }), {
      code: 'SQLITE_ERROR',
    });
    assert.deepEqual(await db.all('SELECT id FROM migrations WHERE id = 9'), [], 'a failed migration is not recorded');
  });

  test('many callers at once through BEGIN/COMMIT on their own Database objects: exact', async (t) => {
    const filename = tempDb(t);
    const setup = await openDb(t, filename);
    await setup.exec('CREATE TABLE c (n INTEGER); INSERT INTO c VALUES (0)');
    const dbs = await Promise.all(Array.from({ length: 4 }, () => openDb(t, filename)));
    await Promise.all(
      dbs.map(async (db) => {
        for (let i = 0; i < 20; i++) {
          await db.exec('BEGIN IMMEDIATE');
          const { n } = (await db.get<{ n: number }>('SELECT n FROM c'))!;
          await new Promise((resolve) => setImmediate(resolve));
          await db.run('UPDATE c SET n = ?', n + 1);
          await db.exec('COMMIT');
        }
      }),
    );
    assert.deepEqual(await setup.get('SELECT n FROM c'), { n: 80 });
  });

  test('open() refuses a missing filename; close() twice rejects', async (t) => {
    await assert.rejects(open({} as never), { code: 'ERR_INVALID_ARGUMENT' });
    const db = await openDb(t);
    await db.close();
    await assert.rejects(db.close(), { code: 'SQLITE_MISUSE' });
  });

  test('new Database({ filename, driver }).open(); query objects { sql, values } (sql-template-strings); configure("busyTimeout")', async (t) => {
    const db = new Database({ filename: tempDb(t), driver: sqlite3.Database });
    assert.throws(() => db.getDatabaseInstance(), /not open/);
    await db.open();
    t.after(() => db.close().catch(() => {}));
    db.configure('busyTimeout', 2000);
    assert.deepEqual(await db.get('PRAGMA busy_timeout'), { timeout: 2000 });
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)');
    const name = "o'brien";
    await db.run({ sql: 'INSERT INTO t (name) VALUES (?)', values: [name] });
    assert.deepEqual(await db.get({ sql: 'SELECT name FROM t WHERE name = ?', values: [name] }), { name });
    assert.deepEqual(await db.all({ sql: 'SELECT count(*) AS n FROM t WHERE id > ?', values: [0] }), [{ n: 1 }]);
    const stmt = await db.prepare({ sql: 'SELECT id FROM t WHERE name = ?', values: [name] });
    assert.deepEqual(await stmt.get(), { id: 1 });
    await stmt.finalize();
    await assert.rejects(
      db.loadExtension('/nowhere/ext.so'),
      /^Error: SQLITE_ERROR: \/nowhere\/ext\.so\.so: cannot open shared object file/,
    );
  });

  test('migrate: file names with any separator (001-initial.sql), an empty Down part; no matching file is an error', async (t) => {
    const db = await openDb(t);
    const dir = tempDir(t);
    writeFileSync(join(dir, '001-initial.sql'), '-- Up\nCREATE TABLE a (v INTEGER);\n-- Down\n');
    writeFileSync(join(dir, '002_second.sql'), '-- Up\nCREATE TABLE b (v INTEGER);\n-- Down\nDROP TABLE b;\n');
    writeFileSync(join(dir, 'notes.txt'), 'not a migration');
    await db.migrate({ migrationsPath: dir });
    assert.deepEqual(await db.all('SELECT id, name, down FROM migrations ORDER BY id'), [
      { id: 1, name: 'initial', down: '' },
      { id: 2, name: 'second', down: 'DROP TABLE b;' },
    ]);
    const empty = tempDir(t);
    mkdirSync(join(empty, 'sub'));
    await assert.rejects(db.migrate({ migrationsPath: empty }), /no migration files/);
  });

  test("the driver option is honoured (a subclass of litepool's Database, a module from withDefaults); anything else is refused", async (t) => {
    const opened: string[] = [];
    class Recording extends sqlite3.Database {
      constructor(...args: ConstructorParameters<typeof sqlite3.Database>) {
        super(...args);
        opened.push(args[0]);
      }
    }
    const filename = tempDb(t);
    const db = await open({ filename, driver: Recording });
    t.after(() => db.close().catch(() => {}));
    assert.deepEqual(opened, [filename]);
    assert.ok(db.getDatabaseInstance() instanceof Recording);
    const immediate = await open({ filename, driver: sqlite3.withDefaults({ transactions: 'immediate' }).Database });
    t.after(() => immediate.close().catch(() => {}));
    assert.deepEqual(await immediate.get('SELECT 1 AS one'), { one: 1 });
    assert.throws(() => new Database({ filename, driver: 'sqlite3' as never }), { code: 'ERR_INVALID_ARGUMENT' });
  });

  test("deliberate differences from sqlite 5: serialize() and parallelize() switch the driver's mode; open() without a driver uses litepool's", async (t) => {
    const db = await open({ filename: tempDb(t) });
    t.after(() => db.close().catch(() => {}));
    assert.ok(db.getDatabaseInstance() instanceof sqlite3.Database);
    await db.exec('CREATE TABLE t (v)');
    // They go to the driver's own methods (`sqlite` 5 throws and points there).
    const instance = db.getDatabaseInstance();
    const modes: string[] = [];
    const serialize = instance.serialize.bind(instance);
    const parallelize = instance.parallelize.bind(instance);
    instance.serialize = (callback?: () => void) => (modes.push('serialize'), serialize(callback));
    instance.parallelize = (callback?: () => void) => (modes.push('parallelize'), parallelize(callback));
    db.serialize();
    await Promise.all([db.run('INSERT INTO t VALUES (1)'), db.run('INSERT INTO t VALUES (2)')]);
    db.parallelize();
    assert.deepEqual(modes, ['serialize', 'parallelize']);
    assert.deepEqual(await db.get('SELECT count(*) AS n FROM t'), { n: 2 });
  });

  test('open() after close() opens again; Statement#each with more values than placeholders settles, its row callback told SQLITE_RANGE', async (t) => {
    const db = new Database({ filename: tempDb(t) });
    await db.open();
    await db.exec('CREATE TABLE t (v); INSERT INTO t VALUES (1), (2)');
    await db.close();
    await db.open();
    t.after(() => db.close().catch(() => {}));
    assert.deepEqual(await db.all('SELECT v FROM t'), [{ v: 1 }, { v: 2 }]);
    const stmt = await db.prepare('SELECT v FROM t WHERE v = ?');
    const rows: unknown[] = [];
    const collect = (err: { code?: string } | null, row: unknown): void => void rows.push(err?.code ?? row);
    // As node-sqlite3 under the real `sqlite`: the row callback gets SQLITE_RANGE, and each settles with no rows.
    assert.equal(await stmt.each(1, 2, collect), 0);
    assert.deepEqual(rows, ['SQLITE_RANGE']);
    assert.equal(await stmt.each(2, collect), 1);
    assert.deepEqual(rows, ['SQLITE_RANGE', { v: 2 }]);
    await stmt.finalize();
  });
  test('each without a row callback, or with a second callback, is refused in the words the sqlite package uses', async (t) => {
    const db = await openDb(t);
    await db.exec("CREATE TABLE t (v); INSERT INTO t VALUES ('a')");
    const stmt = await db.prepare('SELECT v FROM t WHERE v = ?');
    t.after(() => stmt.finalize().catch(() => {}));
    const noop = (): void => {};
    const each = (target: Database | Statement, ...args: unknown[]): Promise<number> =>
      (target.each as (...values: unknown[]) => Promise<number>).call(target, ...args);
    for (const [owner, target, args] of [
      ['Database', db, ['SELECT v FROM t WHERE v = ?', ['a']]],
      ['Statement', stmt, ['a']],
    ] as const) {
      await assert.rejects(each(target, ...args), {
        name: 'ArgumentError',
        message: new RegExp(`^${owner}#each\\(\\).*must be a callback function`),
      });
      await assert.rejects(each(target, ...args, noop, noop), {
        name: 'ArgumentError',
        message: new RegExp(`^${owner}#each\\(\\) should only have a single callback`),
      });
      assert.equal(await each(target, ...args, noop), 1, 'one callback: the row count');
    }
  });
});
