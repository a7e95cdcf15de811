/**
 * pool.restore() and session.restore(): a database file copied into the
 * pool's database (or a session's TEMP schema) in one transaction on the
 * writer, under every local strategy and on a shared in-memory database.
 */
import { createPool, type Pool } from '@litepool/core';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { tempDir } from './helpers/temp.js';

/** A source database with what a restore must carry: rowids with gaps, AUTOINCREMENT, an index, a view, a trigger, a generated column, a WITHOUT ROWID table, a foreign key, user_version. */
function makeSource(file: string): void {
  const db = new BetterSqlite3(file);
  db.exec(`
    CREATE TABLE parent (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, doubled INTEGER GENERATED ALWAYS AS (id * 2) STORED);
    CREATE TABLE child (pid INTEGER REFERENCES parent(id), note TEXT);
    CREATE TABLE plain (v);
    CREATE TABLE kv (k TEXT PRIMARY KEY, v) WITHOUT ROWID;
    CREATE INDEX child_pid ON child(pid);
    CREATE VIEW counts AS SELECT (SELECT count(*) FROM parent) AS parents, (SELECT count(*) FROM child) AS children;
    CREATE TABLE log (what TEXT);
    CREATE TRIGGER parent_log AFTER INSERT ON parent BEGIN INSERT INTO log VALUES ('parent ' || new.id); END;
    PRAGMA user_version = 42;
  `);
  for (let i = 1; i <= 30; i++) db.prepare('INSERT INTO parent (name) VALUES (?)').run(`p${i}`);
  db.exec("DELETE FROM parent WHERE id % 5 = 0; INSERT INTO child SELECT id, 'c' || id FROM parent; DELETE FROM log;");
  db.exec("INSERT INTO plain (rowid, v) VALUES (7, 'seven'), (100, 'hundred'); INSERT INTO kv VALUES ('a', 1), ('b', x'00ff')");
  db.close();
}

/** A temp directory with a source database (makeSource) and a pool on another file of it, closed after the test. */
function withSource(
  t: TestContext,
  options: { strategy?: 'single-writer' | 'wal' | 'mutex' | 'file-lock' } = {},
): { dir: string; pool: Pool } {
  const dir = tempDir(t);
  makeSource(join(dir, 'source.db'));
  const pool = createPool({ filename: join(dir, 'pool.db'), ...options });
  t.after(() => pool.close());
  return { dir, pool };
}

async function checkRestored(pool: Pool): Promise<void> {
  const tables = await pool.all("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name");
  assert.deepEqual(
    tables.map((row) => (row as { name: string }).name),
    ['child', 'counts', 'kv', 'log', 'parent', 'plain', 'sqlite_sequence'],
    'the old tables are gone, the source’s are there',
  );
  assert.deepEqual(await pool.get('SELECT * FROM counts'), { parents: 24, children: 24 });
  assert.deepEqual(await pool.get('SELECT count(*) AS n FROM log'), { n: 0 }, 'the trigger did not fire on the copy');
  assert.deepEqual(await pool.all('SELECT rowid, v FROM plain ORDER BY rowid'), [
    { rowid: 7, v: 'seven' },
    { rowid: 100, v: 'hundred' },
  ]);
  assert.deepEqual(await pool.all('SELECT k, v FROM kv ORDER BY k'), [
    { k: 'a', v: 1 },
    { k: 'b', v: Buffer.from([0, 255]) },
  ]);
  assert.deepEqual(await pool.get('SELECT id, doubled FROM parent WHERE name = ?', ['p29']), { id: 29, doubled: 58 });
  assert.deepEqual(await pool.get('PRAGMA user_version'), { user_version: 42 });
  assert.deepEqual(await pool.get("SELECT seq FROM sqlite_sequence WHERE name = 'parent'"), { seq: 30 });
  // AUTOINCREMENT goes on from the source's counter, and the restored trigger fires.
  const { lastInsertRowid } = await pool.run("INSERT INTO parent (name) VALUES ('new')");
  assert.equal(lastInsertRowid, 31);
  assert.deepEqual(await pool.all('SELECT what FROM log'), [{ what: 'parent 31' }]);
  assert.deepEqual(await pool.all("SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'child_pid'"), [{ name: 'child_pid' }]);
  assert.deepEqual(await pool.all('PRAGMA integrity_check'), [{ integrity_check: 'ok' }]);
}

describe('pool.restore', () => {
  for (const strategy of ['single-writer', 'wal', 'mutex', 'file-lock'] as const) {
    test(`replaces the database with the file's, in one transaction (${strategy})`, async (t) => {
      const { dir, pool } = withSource(t, { strategy });
      await pool.exec('CREATE TABLE old (a); INSERT INTO old VALUES (1); CREATE TABLE parent (x); CREATE VIEW oldview AS SELECT 1');
      const prepared = pool.prepare('SELECT count(*) AS n FROM parent');
      assert.deepEqual(await prepared.get(), { n: 0 });
      const result = await pool.restore(join(dir, 'source.db'));
      assert.equal(result.remainingPages, 0);
      assert.ok(result.totalPages > 1, `the source's pages (${result.totalPages})`);
      assert.deepEqual(await prepared.get(), { n: 24 }, 'a statement prepared before reads the new table');
      await checkRestored(pool);
    });
  }

  test('a source in WAL mode, open in another connection with commits still in its WAL: the restore copies what it committed', async (t) => {
    const { dir, pool } = withSource(t);
    const live = new BetterSqlite3(join(dir, 'live.db'));
    t.after(() => live.close());
    live.pragma('journal_mode = WAL');
    live.pragma('wal_autocheckpoint = 0');
    live.exec("CREATE TABLE events (id INTEGER PRIMARY KEY, what TEXT); INSERT INTO events (what) VALUES ('a'), ('b'), ('c')");
    live.exec('BEGIN');
    live.exec("INSERT INTO events (what) VALUES ('not committed')");
    await pool.restore(join(dir, 'live.db'));
    live.exec('ROLLBACK');
    assert.deepEqual(await pool.all('SELECT what FROM events ORDER BY id'), [{ what: 'a' }, { what: 'b' }, { what: 'c' }]);
  });

  test("the writer's last_insert_rowid() is what it was before the restore (SQLite's backup inserts nothing)", async (t) => {
    const { dir, pool } = withSource(t);
    await pool.exec('CREATE TABLE before (a)');
    const { lastInsertRowid } = await pool.run("INSERT INTO before (rowid, a) VALUES (77, 'x')");
    assert.equal(lastInsertRowid, 77);
    await pool.restore(join(dir, 'source.db'));
    // An UPDATE inserts nothing: its lastInsertRowid is the connection's, as the restore found it.
    assert.deepEqual(await pool.run("UPDATE parent SET name = 'renamed' WHERE id = 1"), { changes: 1, lastInsertRowid: 77 });
  });

  test('on a shared in-memory database: every connection sees the restored one', async (t) => {
    const dir = tempDir(t);
    makeSource(join(dir, 'source.db'));
    const pool = createPool({ filename: ':memory:' });
    t.after(() => pool.close());
    await pool.exec('CREATE TABLE old (a)');
    await pool.restore(join(dir, 'source.db'));
    await checkRestored(pool);
  });

  test('a failed restore leaves the database as it was: a missing file, one that is not a database, virtual tables, its own file', async (t) => {
    const dir = tempDir(t);
    const pool = createPool({ filename: join(dir, 'pool.db') });
    t.after(() => pool.close());
    await pool.exec("CREATE TABLE keep (a); INSERT INTO keep VALUES ('kept')");
    await assert.rejects(pool.restore(join(dir, 'missing.db')), { code: 'SQLITE_CANTOPEN' });
    writeFileSync(join(dir, 'text.db'), 'not a database, but long enough to have a header of a hundred bytes. '.repeat(4));
    await assert.rejects(pool.restore(join(dir, 'text.db')), { code: 'SQLITE_NOTADB' });
    const fts = new BetterSqlite3(join(dir, 'fts.db'));
    fts.exec("CREATE TABLE first (a); CREATE VIRTUAL TABLE docs USING fts5(body); INSERT INTO docs VALUES ('hello')");
    fts.close();
    await assert.rejects(pool.restore(join(dir, 'fts.db')), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'SQLITE_ERROR');
      assert.match(error.message, /docs is a virtual table/);
      return true;
    });
    // Its own file: refused (read while it is rewritten, it would copy a half-dropped database).
    await assert.rejects(pool.restore(join(dir, 'pool.db')), /is the database it would replace/);
    assert.deepEqual(await pool.all("SELECT name FROM sqlite_master WHERE type = 'table'"), [{ name: 'keep' }]);
    assert.deepEqual(await pool.all('SELECT a FROM keep'), [{ a: 'kept' }]);
    // The source is detached again after each: the next restore's ATTACH takes the same name.
    makeSource(join(dir, 'source.db'));
    await pool.restore(join(dir, 'source.db'));
    assert.deepEqual(await pool.get('SELECT count(*) AS n FROM parent'), { n: 24 });
  });

  test('a restore waits for a transaction holding the writer, and a signal stops the wait', async (t) => {
    const { dir, pool } = withSource(t);
    await pool.exec('CREATE TABLE t (a)');
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const tx = pool.transaction(async (tx) => {
      await tx.run('INSERT INTO t VALUES (1)');
      await held;
    });
    const controller = new AbortController();
    const stopped = pool.restore(join(dir, 'source.db'), { signal: controller.signal });
    const waiting = pool.restore(join(dir, 'source.db'));
    controller.abort();
    await assert.rejects(stopped, { code: 'ABORT_ERR' });
    release();
    await tx;
    await waiting;
    assert.deepEqual(await pool.get('SELECT count(*) AS n FROM parent'), { n: 24 });
    assert.deepEqual(
      await pool.all("SELECT name FROM sqlite_master WHERE name = 't'"),
      [],
      "the transaction's table went with the restore",
    );
  });

  test('a signal aborted at any moment: either the restore rejects with ABORT_ERR and nothing changed, or it resolves and the copy is there', async (t) => {
    const { dir, pool } = withSource(t);
    const before = new BetterSqlite3(join(dir, 'old.db'));
    before.exec('CREATE TABLE old (a)');
    before.close();
    const outcomes = new Set<string>();
    for (let i = 0; i < 20; i++) {
      await pool.restore(join(dir, 'old.db'));
      const controller = new AbortController();
      const restoring = pool.restore(join(dir, 'source.db'), { signal: controller.signal });
      // Aborted after 0-2 turns of the event loop: before the writer is granted, or once the copy runs.
      for (let turn = 0; turn < i % 3; turn++) await new Promise((resolve) => setImmediate(resolve));
      controller.abort();
      const outcome = await restoring.then(
        () => 'resolved',
        (error: Error & { code?: string }) => error.code ?? error.message,
      );
      outcomes.add(outcome);
      const tables = (await pool.all("SELECT name FROM sqlite_master WHERE name IN ('old', 'parent') ORDER BY name")).map(
        (row) => (row as { name: string }).name,
      );
      assert.deepEqual(tables, outcome === 'resolved' ? ['parent'] : ['old'], `attempt ${i}: ${outcome}`);
      assert.ok(outcome === 'resolved' || outcome === 'ABORT_ERR', outcome);
    }
  });

  test('bad arguments are refused: no path, a schema the pool has not, unknown options', async (t) => {
    const dir = tempDir(t);
    const pool = createPool({ filename: join(dir, 'pool.db') });
    t.after(() => pool.close());
    await assert.rejects(pool.restore(42 as unknown as string), { code: 'ERR_INVALID_ARGUMENT' });
    await assert.rejects(pool.restore(''), { code: 'ERR_INVALID_ARGUMENT' });
    await assert.rejects(pool.restore(join(dir, 'x.db'), { schema: 'temp' }), /belongs to one connection/);
    await assert.rejects(pool.restore(join(dir, 'x.db'), { schemas: 'main' } as never), /Unknown option restore.schemas/);
  });
});

describe('session.restore', () => {
  test("into temp: the session's TEMP objects are replaced, another session's stay, and closing drops them", async (t) => {
    const { dir, pool } = withSource(t);
    await pool.exec("CREATE TABLE parent (x); INSERT INTO parent VALUES ('main')");
    const mine = pool.session();
    const other = pool.session();
    await mine.exec('CREATE TEMP TABLE scratch (a)');
    await other.exec("CREATE TEMP TABLE theirs (a); INSERT INTO theirs VALUES ('theirs')");
    assert.equal(mine.pinned, true);
    await mine.restore(join(dir, 'source.db'), { schema: 'temp' });
    assert.deepEqual(await mine.get('SELECT count(*) AS n FROM temp.parent'), { n: 24 });
    assert.deepEqual(await mine.get('SELECT count(*) AS n FROM main.parent'), { n: 1 }, 'main is untouched');
    assert.deepEqual(await mine.all("SELECT name FROM temp.sqlite_master WHERE name IN ('scratch', 'theirs')"), [{ name: 'theirs' }]);
    assert.deepEqual(await other.all('SELECT a FROM theirs'), [{ a: 'theirs' }]);
    // A session with nothing on the writer yet is pinned there by its restore.
    const fresh = pool.session();
    await other.close();
    await mine.close();
    assert.equal(fresh.pinned, false);
    await fresh.restore(join(dir, 'source.db'), { schema: 'temp' });
    assert.equal(fresh.pinned, true);
    assert.deepEqual(await fresh.get('SELECT parents FROM temp.counts'), { parents: 24 });
    await fresh.close();
    // Read on the writer, where TEMP objects live (sqlite_sequence, once made, stays until the connection closes).
    const writer = await pool.acquire({ write: true });
    const left = await writer.all("SELECT name FROM temp.sqlite_master WHERE name NOT LIKE 'sqlite%'");
    await writer.release();
    assert.deepEqual(left, [], 'closing the sessions dropped every TEMP object they made');
  });
});

test('session.restore into an ATTACHed database replaces that database only', async (t) => {
  const { dir, pool } = withSource(t);
  await pool.exec("CREATE TABLE parent (x); INSERT INTO parent VALUES ('main')");
  const session = pool.session();
  await session.exec(`ATTACH '${join(dir, 'other.db')}' AS o`);
  await session.exec('CREATE TABLE o.old (a); INSERT INTO o.old VALUES (1)');
  await session.restore(join(dir, 'source.db'), { schema: 'o' });
  assert.deepEqual(await session.get('SELECT count(*) AS n FROM o.parent'), { n: 24 });
  assert.deepEqual(await session.all("SELECT name FROM o.sqlite_master WHERE name = 'old'"), []);
  assert.deepEqual(await session.all('SELECT x FROM main.parent'), [{ x: 'main' }]);
  await session.close();
  const copy = new BetterSqlite3(join(dir, 'other.db'), { readonly: true });
  t.after(() => copy.close());
  assert.deepEqual(copy.prepare('SELECT parents, children FROM counts').get(), { parents: 24, children: 24 });
});

/** The node-sqlite3 drop-in's Database on `file`, opened, closed after the test; with promises for its calls. */
async function dropIn(t: TestContext, file: string) {
  const sqlite3 = (await import('@litepool/core/sqlite3')).default;
  const db = await new Promise<InstanceType<typeof sqlite3.Database>>((resolve, reject) => {
    const opened = new sqlite3.Database(file, (err) => (err ? reject(err) : resolve(opened)));
  });
  t.after(() => new Promise<void>((resolve) => db.close(() => resolve())));
  type Backup = ReturnType<typeof db.backup>;
  return {
    db,
    exec: (sql: string): Promise<void> => new Promise((resolve, reject) => db.exec(sql, (err) => (err ? reject(err) : resolve()))),
    all: (sql: string): Promise<unknown> =>
      new Promise((resolve, reject) => db.all(sql, (error: Error | null, rows: unknown) => (error ? reject(error) : resolve(rows)))),
    /** `step(-1)`, then `finish()`: the step's error. */
    stepAll: async (backup: Backup): Promise<(Error & { code?: string }) | null> => {
      const error = await new Promise<(Error & { code?: string }) | null>((resolve) => backup.step(-1, (err) => resolve(err)));
      await new Promise<void>((resolve) => backup.finish(() => resolve()));
      return error;
    },
  };
}

test('the node-sqlite3 drop-in: a restore from a file that does not exist fails with SQLITE_CANTOPEN and leaves the database', async (t) => {
  const dir = tempDir(t);
  const { db, exec, all, stepAll } = await dropIn(t, join(dir, 'db.db'));
  await exec("CREATE TABLE kept (a); INSERT INTO kept VALUES ('here')");
  const backup = db.backup(join(dir, 'missing.db'), 'main', 'main', false);
  assert.equal((await stepAll(backup))?.code, 'SQLITE_CANTOPEN');
  assert.equal(backup.failed, true);
  assert.deepEqual(await all('SELECT a FROM kept'), [{ a: 'here' }]);
});

test('the node-sqlite3 drop-in inside its own open transaction: a backup copies what was committed, a restore fails with SQLITE_BUSY and the transaction goes on', async (t) => {
  const dir = tempDir(t);
  makeSource(join(dir, 'source.db'));
  const { db, exec, all, stepAll } = await dropIn(t, join(dir, 'db.db'));
  await exec('CREATE TABLE t (v); INSERT INTO t VALUES (1); BEGIN; INSERT INTO t VALUES (2)');
  assert.equal(await stepAll(db.backup(join(dir, 'copy.db'))), null);
  const copied = new BetterSqlite3(join(dir, 'copy.db'), { readonly: true });
  t.after(() => copied.close());
  assert.deepEqual(copied.prepare('SELECT v FROM t').all(), [{ v: 1 }]);
  for (const schema of ['temp', 'main']) {
    assert.equal((await stepAll(db.backup(join(dir, 'source.db'), 'main', schema, false)))?.code, 'SQLITE_BUSY', schema);
  }
  await exec('COMMIT');
  assert.deepEqual(await all('SELECT v FROM t'), [{ v: 1 }, { v: 2 }]);
});
