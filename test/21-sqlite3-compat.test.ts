/**
 * The node-sqlite3 compatible API (`@litepool/core/sqlite3`), checked against
 * what node-sqlite3's documentation promises: callbacks and their `this`,
 * parameter forms, error shapes, statements, serialize ordering, events.
 */
import sqlite3, { Database, OPEN_READONLY, OPEN_READWRITE, type Sqlite3Error } from '@litepool/core/sqlite3';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { call, openDb } from './helpers/sqlite3.js';
import { tempDb } from './helpers/temp.js';

describe('node-sqlite3 compatible API', () => {
  test('module shape: verbose(), Database, Statement, OPEN_* and error constants', () => {
    assert.equal(sqlite3.verbose(), sqlite3);
    assert.equal(sqlite3.Database, Database);
    assert.equal(typeof sqlite3.Statement, 'function');
    // Their names as node-sqlite3's (util.inspect, stack frames): the bundle once called the statement class `_Statement`.
    assert.deepEqual([sqlite3.Database.name, sqlite3.Statement.name, sqlite3.Backup.name], ['Database', 'Statement', 'Backup']);
    assert.equal(sqlite3.OPEN_READONLY, 1);
    assert.equal(sqlite3.OPEN_READWRITE, 2);
    assert.equal(sqlite3.OPEN_CREATE, 4);
    assert.equal(sqlite3.CONSTRAINT, 19);
    assert.equal(sqlite3.BUSY, 5);
  });

  test("require() gets the copy import gets on this runtime (one Database class, one set of shared pools), its exports replaceable as node-sqlite3's", () => {
    // Node >= 22.12 through the exports map's module-sync condition, Bun through its bun condition, Deno as Node.
    const script = join(import.meta.dirname, 'helpers', 'one-copy.mjs');
    const args = 'deno' in process.versions ? ['run', '-A', script] : [script];
    const output = execFileSync(process.execPath, args, { encoding: 'utf8', timeout: 60_000 });
    assert.deepEqual(JSON.parse(output), { oneCopy: true, replaceable: true });
  });

  test('open: callback and "open" event; a missing file without OPEN_CREATE fails with SQLITE_CANTOPEN', async (t) => {
    const filename = tempDb(t);
    const db = new Database(filename);
    const events: string[] = [];
    db.on('open', () => events.push('open'));
    await new Promise((resolve) => db.once('open', resolve));
    assert.deepEqual(events, ['open']);
    assert.equal(db.open, true);
    await new Promise<void>((resolve) => db.close(() => resolve()));
    const error = await new Promise<Sqlite3Error | null>((resolve) => new Database(tempDb(t, 'missing.db'), OPEN_READWRITE, resolve));
    assert.equal(error?.code, 'SQLITE_CANTOPEN');
    assert.equal(error?.errno, 14);
  });

  test('run: this.lastID and this.changes; parameters spread, as an array, named with $ : @', async (t) => {
    const db = await openDb(t);
    await call((done) => db.run('CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b INTEGER)', done));
    const first = await call((done) => db.run('INSERT INTO t (a, b) VALUES (?, ?)', 'x', 1, done));
    assert.equal(first.self.lastID, 1);
    assert.equal(first.self.changes, 1);
    assert.equal((await call((done) => db.run('INSERT INTO t (a, b) VALUES (?, ?)', ['y', 2], done))).self.lastID, 2);
    assert.equal((await call((done) => db.run('INSERT INTO t (a, b) VALUES ($a, $b)', { $a: 'z', $b: 3 }, done))).self.lastID, 3);
    assert.equal((await call((done) => db.run('INSERT INTO t (a, b) VALUES (:a, @b)', { ':a': 'w', '@b': true }, done))).self.lastID, 4);
    const update = await call((done) => db.run('UPDATE t SET b = b + 10', done));
    assert.equal(update.self.changes, 4);
    const { value: rows } = await call<unknown[]>((done) => db.all('SELECT a, b FROM t ORDER BY id', done));
    assert.deepEqual(rows, [
      { a: 'x', b: 11 },
      { a: 'y', b: 12 },
      { a: 'z', b: 13 },
      { a: 'w', b: 11 },
    ]);
  });

  test('get, all, each (rows streamed, then the count), exec', async (t) => {
    const db = await openDb(t);
    await call((done) => db.exec('CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (1), (2), (3)', done as never));
    assert.deepEqual((await call((done) => db.get('SELECT v FROM t WHERE v > ? ORDER BY v', 1, done))).value, { v: 2 });
    assert.equal((await call((done) => db.get('SELECT v FROM t WHERE v > 99', done))).value, undefined);
    assert.deepEqual((await call((done) => db.all('SELECT v FROM t ORDER BY v', done))).value, [{ v: 1 }, { v: 2 }, { v: 3 }]);
    const seen: unknown[] = [];
    const count = await new Promise((resolve, reject) =>
      db.each(
        'SELECT v FROM t ORDER BY v',
        (err: Sqlite3Error | null, row: unknown) => (err ? reject(err) : seen.push(row)),
        (err: Sqlite3Error | null, n: number) => (err ? reject(err) : resolve(n)),
      ),
    );
    assert.equal(count, 3);
    assert.deepEqual(seen, [{ v: 1 }, { v: 2 }, { v: 3 }]);
  });

  test('errors: node-sqlite3 shape (message "SQLITE_X: …", errno, code); the "error" event without a callback', async (t) => {
    const db = await openDb(t);
    await call((done) => db.run('CREATE TABLE t (name TEXT UNIQUE)', done));
    await call((done) => db.run('INSERT INTO t VALUES (?)', 'a', done));
    const duplicate = await call((done) => db.run('INSERT INTO t VALUES (?)', 'a', done)).catch((error: Sqlite3Error) => error);
    assert.ok(duplicate instanceof Error);
    assert.equal(duplicate.errno, 19);
    assert.equal(duplicate.code, 'SQLITE_CONSTRAINT');
    assert.match((duplicate as Error).message, /^SQLITE_CONSTRAINT: UNIQUE constraint failed: t\.name/);
    const syntax = await call((done) => db.all('SELEC nothing', done)).catch((error: Sqlite3Error) => error);
    assert.equal((syntax as Sqlite3Error).code, 'SQLITE_ERROR');
    const emitted = new Promise<Sqlite3Error>((resolve) => db.once('error', resolve));
    db.run('INSERT INTO missing VALUES (1)');
    assert.match((await emitted).message, /^SQLITE_ERROR: no such table: missing/);
  });

  test('prepare: bind, run reused with new parameters, get steps through rows until reset, all, each, finalize', async (t) => {
    const db = await openDb(t);
    await call((done) => db.run('CREATE TABLE t (v INTEGER)', done));
    const insert = await new Promise<InstanceType<typeof sqlite3.Statement>>((resolve, reject) => {
      const stmt = db.prepare('INSERT INTO t VALUES (?)', (err: Sqlite3Error | null) => (err ? reject(err) : resolve(stmt)));
    });
    for (const v of [10, 20, 30]) {
      const { self } = await call((done) => insert.run(v, done));
      assert.equal(self, insert, 'this is the statement');
      assert.equal(insert.changes, 1);
    }
    assert.equal(insert.lastID, 3);
    insert.finalize();
    const finalized = await call((done) => insert.run(40, done)).catch((error: Sqlite3Error) => error);
    assert.equal((finalized as Sqlite3Error).code, 'SQLITE_MISUSE');
    const select = db.prepare('SELECT v FROM t WHERE v >= ? ORDER BY v');
    await call((done) => select.bind(20, done));
    assert.deepEqual((await call((done) => select.get(done))).value, { v: 20 });
    assert.deepEqual((await call((done) => select.get(done))).value, { v: 30 });
    assert.equal((await call((done) => select.get(done))).value, undefined);
    await new Promise((resolve) => select.reset(resolve));
    assert.deepEqual((await call((done) => select.get(done))).value, { v: 20 });
    assert.deepEqual((await call((done) => select.all(10, done))).value, [{ v: 10 }, { v: 20 }, { v: 30 }]);
    const count = await new Promise((resolve) =>
      select.each(
        30,
        () => {},
        (_err: unknown, n: number) => resolve(n),
      ),
    );
    assert.equal(count, 1);
    const bad = await new Promise<Sqlite3Error | null>((resolve) => db.prepare('SELEC 1', resolve));
    assert.equal(bad?.code, 'SQLITE_ERROR');
  });

  test('serialize keeps issue order; statements between BEGIN and ROLLBACK run in that transaction', async (t) => {
    const db = await openDb(t);
    const order: number[] = [];
    db.serialize(() => {
      db.run('CREATE TABLE t (v INTEGER)');
      for (let i = 0; i < 50; i++) db.run('INSERT INTO t VALUES (?)', i, () => order.push(i));
      db.run('BEGIN');
      db.run('INSERT INTO t VALUES (1000)');
      db.run('ROLLBACK');
    });
    const { value } = await call<{ n: number; top: number }>((done) => db.get('SELECT count(*) AS n, max(v) AS top FROM t', done));
    assert.deepEqual(
      order,
      Array.from({ length: 50 }, (_, i) => i),
    );
    assert.deepEqual(value, { n: 50, top: 49 });
  });

  test('many callers at once: 64 handlers x 10 increments, exact; a read issued after a write sees it', async (t) => {
    const db = await openDb(t);
    await call((done) => db.exec('CREATE TABLE c (n INTEGER); INSERT INTO c VALUES (0)', done as never));
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        for (let i = 0; i < 10; i++) {
          db.run('UPDATE c SET n = n + 1');
          const { value } = await call<{ n: number }>((done) => db.get('SELECT n FROM c', done));
          assert.ok(value.n >= 1);
        }
      }),
    );
    assert.deepEqual((await call((done) => db.get('SELECT n FROM c', done))).value, { n: 640 });
  });

  test("a read issued in a write's callback, or once its callback ran, sees that write", async (t) => {
    const db = await openDb(t);
    await call((done) => db.exec('CREATE TABLE c (n INTEGER); INSERT INTO c VALUES (0)', done as never));
    for (let i = 1; i <= 50; i++) {
      const inCallback = await new Promise<unknown>((resolve, reject) =>
        db.run('UPDATE c SET n = ?', [i], (error: Error | null) =>
          error ? reject(error) : db.get('SELECT n FROM c', (e: Error | null, row: unknown) => (e ? reject(e) : resolve(row))),
        ),
      );
      assert.deepEqual(inCallback, { n: i });
      await call((done) => db.run('UPDATE c SET n = ?', [-i], done));
      assert.deepEqual((await call((done) => db.get('SELECT n FROM c', done))).value, { n: -i });
    }
  });

  test('options in place of mode pick the strategy; LITEPOOL_STRATEGY is the fallback; OPEN_READONLY refuses writes', async (t) => {
    const filename = tempDb(t);
    const db = await openDb(t, filename, { strategy: 'mutex' });
    assert.equal(db.pool?.strategy.name, 'mutex');
    await call((done) => db.run('CREATE TABLE t (v INTEGER)', done));
    process.env.LITEPOOL_STRATEGY = 'single-writer';
    try {
      const fromEnv = await openDb(t, filename);
      assert.equal(fromEnv.pool?.strategy.name, 'single-writer');
    } finally {
      delete process.env.LITEPOOL_STRATEGY;
    }
    const readOnly = await openDb(t, filename, OPEN_READONLY);
    const refused = await call((done) => readOnly.run('INSERT INTO t VALUES (1)', done)).catch((error: Sqlite3Error) => error);
    assert.equal((refused as Sqlite3Error).code, 'SQLITE_READONLY');
  });

  test('configure("busyTimeout") and "limit" accepted before open; close: callback, "close" event, later calls fail with SQLITE_MISUSE', async (t) => {
    const db = new Database(tempDb(t));
    const opened = new Promise((resolve) => db.once('open', resolve));
    db.configure('busyTimeout', 1234);
    db.configure('limit', 4, 1); // SQLITE_LIMIT_COMPOUND_SELECT, applied once open
    const refused = await call((done) => db.all('SELECT 1 UNION ALL SELECT 2', done)).catch((error: Sqlite3Error) => error);
    assert.match((refused as Sqlite3Error).message, /too many terms in compound SELECT/);
    await opened;
    assert.deepEqual((await call((done) => db.get('PRAGMA busy_timeout', done))).value, { timeout: 1234 });
    const closed = new Promise((resolve) => db.once('close', resolve));
    // configure() on every turn while it closes: no turn of it may leave a rejection unhandled.
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    t.after(() => process.off('unhandledRejection', onUnhandled));
    let configuring = true;
    const configure = (): void => {
      if (!configuring) return;
      try {
        db.configure('busyTimeout', 10);
        setImmediate(configure);
      } catch (error) {
        assert.equal((error as Sqlite3Error).code, 'SQLITE_MISUSE'); // once closed
      }
    };
    await new Promise<void>((resolve, reject) => {
      db.close((err) => (err ? reject(err) : resolve()));
      configure();
    });
    configuring = false;
    await closed;
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(unhandled, []);
    assert.equal(db.open, false);
    const after = await call((done) => db.get('SELECT 1', done)).catch((error: Sqlite3Error) => error);
    assert.equal((after as Sqlite3Error).code, 'SQLITE_MISUSE');
  });

  test(':memory: works (a private temporary file)', async (t) => {
    const db = await openDb(t, ':memory:');
    await call((done) => db.exec('CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (7)', done as never));
    assert.deepEqual((await call((done) => db.get('SELECT v FROM t', done))).value, { v: 7 });
  });
});
