/**
 * Sessions: statements with connection settings of their own on the pool's
 * shared connections, as if each session had its own connection.
 */
import { ConnectionStateError, OptionsError, PoolClosedError } from '@litepool/core';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { testPool } from './helpers/pool.js';
import { tempDir } from './helpers/temp.js';

const vecPath = (createRequire(import.meta.url)('sqlite-vec') as { getLoadablePath(): string }).getLoadablePath();

const FK_SCHEMA = 'CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (pid INTEGER REFERENCES p(id))';

test("a session's PRAGMAs apply to its statements only, on readers and the writer alike", async (t) => {
  const pool = testPool(t, { readers: 1 }); // one reader: both sessions' reads share it
  await pool.exec(FK_SCHEMA);
  const loose = pool.session({ pragmas: { foreign_keys: false, case_sensitive_like: true } });
  const strict = pool.session();
  for (let i = 0; i < 3; i++) {
    // Interleaved on the same connections: each sees its own settings every time.
    assert.deepEqual(await loose.get('PRAGMA foreign_keys'), { foreign_keys: 0 });
    assert.deepEqual(await strict.get('PRAGMA foreign_keys'), { foreign_keys: 1 });
    assert.deepEqual(await loose.get("SELECT 'A' LIKE 'a' AS m"), { m: 0 });
    assert.deepEqual(await pool.get("SELECT 'A' LIKE 'a' AS m"), { m: 1 });
  }
  await loose.run('INSERT INTO c VALUES (1)');
  await assert.rejects(strict.run('INSERT INTO c VALUES (2)'), { code: 'SQLITE_CONSTRAINT_FOREIGNKEY' });
  await assert.rejects(pool.run('INSERT INTO c VALUES (3)'), { code: 'SQLITE_CONSTRAINT_FOREIGNKEY' });
  await loose.transaction(async (tx) => void (await tx.run('INSERT INTO c VALUES (4)')));
  assert.deepEqual(await pool.all('SELECT pid FROM c ORDER BY pid'), [{ pid: 1 }, { pid: 4 }]);
});

test('sessions with more distinct settings than a connection keeps compiled each see their own, interleaved', async (t) => {
  const pool = testPool(t, { readers: 1 });
  const own = await pool.get('PRAGMA cache_size');
  // 80 cache sizes: more switching statements than a connection keeps compiled (64), so its cache empties and refills.
  const sessions = Array.from({ length: 80 }, (_, i) => pool.session({ pragmas: { cache_size: -(1000 + i) } }));
  for (let round = 0; round < 2; round++) {
    for (const [i, session] of sessions.entries()) assert.deepEqual(await session.get('PRAGMA cache_size'), { cache_size: -(1000 + i) });
  }
  assert.deepEqual(await pool.get('PRAGMA cache_size'), own);
});

test('under group commit, writes of different sessions never share a batch', async (t) => {
  const pool = testPool(t, { strategy: 'single-writer' });
  await pool.exec(FK_SCHEMA);
  const loose = pool.session({ pragmas: { foreign_keys: false } });
  const held = await pool.acquire({ write: true }); // everything below queues, and would batch together
  const calls = [
    pool.run('INSERT INTO c VALUES (10)'),
    loose.run('INSERT INTO c VALUES (11)'),
    pool.run('INSERT INTO c VALUES (12)'),
    loose.run('INSERT INTO c VALUES (13)'),
  ];
  await held.release();
  const outcomes = await Promise.allSettled(calls);
  assert.deepEqual(
    outcomes.map((o) => o.status),
    ['rejected', 'fulfilled', 'rejected', 'fulfilled'],
  );
  assert.deepEqual(await pool.all('SELECT pid FROM c ORDER BY pid'), [{ pid: 11 }, { pid: 13 }]);
});

test('a connection-scoped PRAGMA run through a session becomes part of its settings', async (t) => {
  const pool = testPool(t);
  await pool.exec(FK_SCHEMA);
  const session = pool.session();
  assert.deepEqual(await session.run('PRAGMA foreign_keys = OFF'), { changes: 0, lastInsertRowid: 0 });
  assert.deepEqual(session.pragmas, { foreign_keys: false });
  await session.exec('PRAGMA cache_size = -4000; INSERT INTO c VALUES (1); PRAGMA foreign_keys = ON');
  assert.deepEqual(session.pragmas, { foreign_keys: true, cache_size: -4000 });
  await assert.rejects(session.run('INSERT INTO c VALUES (2)'), { code: 'SQLITE_CONSTRAINT_FOREIGNKEY' });
  assert.deepEqual(await session.get('PRAGMA cache_size'), { cache_size: -4000 });
  assert.notDeepEqual(await pool.get('PRAGMA cache_size'), { cache_size: -4000 });
  // The strategy's PRAGMAs and process-wide ones are not a session's.
  await assert.rejects(session.run('PRAGMA journal_mode = DELETE'), (error: unknown) => {
    assert.ok(error instanceof ConnectionStateError);
    assert.match(error.message, /PRAGMA journal_mode cannot be a session's own: the strategy chooses it/);
    return true;
  });
  assert.throws(() => pool.session({ pragmas: { hard_heap_limit: 1 } }), OptionsError);
  assert.throws(() => pool.session({ pragmas: { foreign_key: false } }), /did you mean foreign_keys\?/);
  assert.throws(() => pool.session({ pragma: {} } as never), /Unknown option session\.pragma; did you mean session\.pragmas\?/);
});

test("a session's busy_timeout bounds its wait for a writer another transaction holds, never its wait behind other calls", async (t) => {
  const pool = testPool(t, { readers: 1 });
  await pool.exec('CREATE TABLE t (v)');
  const impatient = pool.session({ pragmas: { busy_timeout: 100 } });
  const patient = pool.session();
  // Asked for rows, a PRAGMA that answers its value when set answers it here too.
  assert.deepEqual(await impatient.all('PRAGMA busy_timeout = 50'), [{ timeout: 50 }]);
  assert.deepEqual(await impatient.get('PRAGMA busy_timeout'), { timeout: 50 });
  assert.deepEqual(await impatient.all('PRAGMA foreign_keys = ON'), []);
  const held = await pool.begin();
  await held.run('INSERT INTO t VALUES (1)');
  const locked = { name: 'SqliteError', code: 'SQLITE_BUSY', message: 'database is locked' };
  await assert.rejects(impatient.run('INSERT INTO t VALUES (2)'), locked);
  await assert.rejects(
    impatient.transaction(async (tx) => void (await tx.run('INSERT INTO t VALUES (3)'))),
    locked,
  );
  await assert.rejects(impatient.begin(), locked);
  // Reads wait for no writer; a session without a busy timeout waits for the commit.
  assert.deepEqual(await impatient.all('SELECT v FROM t'), []);
  // A deferred transaction that has read cannot wait for the writer (SQLite calls no busy handler for the upgrade): busy at once,
  // however long the timeout, and the transaction stays open for its rollback.
  const upgrading = pool.session({ pragmas: { busy_timeout: 600_000 } });
  const deferred = await upgrading.begin({ mode: 'deferred' });
  assert.deepEqual(await deferred.all('SELECT v FROM t'), []);
  const upgrade = deferred.run('INSERT INTO t VALUES (6)').then(
    () => 'ran',
    (error: { code?: string }) => error.code,
  );
  assert.equal(await Promise.race([upgrade, new Promise((resolve) => setTimeout(resolve, 5000, 'still waiting'))]), 'SQLITE_BUSY');
  assert.deepEqual(await deferred.all('SELECT v FROM t'), []);
  await deferred.rollback();
  const waits = patient.run('INSERT INTO t VALUES (4)');
  await new Promise((resolve) => setTimeout(resolve, 150));
  await held.commit();
  await waits;
  // 2,000 writes queued at once, none held across awaits: the impatient session's write waits its turn and runs.
  await impatient.run('PRAGMA busy_timeout = 0');
  const queued = Array.from({ length: 2000 }, (_, i) => pool.run('INSERT INTO t VALUES (?)', [10 + i]));
  await Promise.all([...queued, impatient.run('INSERT INTO t VALUES (5)')]);
  assert.deepEqual(await pool.get('SELECT count(*) AS n, sum(v = 5) AS five FROM t'), { n: 2003, five: 1 });
});

test("a session's extension is loaded by each connection that runs its statements; one that cannot load leaves the session as it was", async (t) => {
  const pool = testPool(t, { readers: 2 });
  const session = pool.session();
  // Two at once, one of which cannot load: the other stays loaded.
  const [missing, loaded] = await Promise.allSettled([session.loadExtension('/nowhere/ext.so'), session.loadExtension(vecPath)]);
  assert.equal(missing.status, 'rejected');
  assert.match(String(missing.reason), /cannot open shared object file/);
  assert.equal(loaded.status, 'fulfilled');
  assert.match((await session.get<{ v: string }>('SELECT vec_version() AS v'))!.v, /^v\d/);
  await assert.rejects(session.loadExtension('/nowhere/ext.so'), { code: 'SQLITE_ERROR', message: /cannot open shared object file/ });
  assert.deepEqual(await session.get('SELECT 1 AS one'), { one: 1 });
  await assert.rejects(session.loadExtension(''), { code: 'ERR_INVALID_ARGUMENT' });
  await session.loadExtension(vecPath);
  await session.loadExtension(vecPath); // once is enough
  // Reads spread over readers (and the calling thread), writes on the writer, a transaction: each loads it first.
  const versions = await Promise.all(Array.from({ length: 20 }, () => session.get<{ v: string }>('SELECT vec_version() AS v')));
  for (const row of versions) assert.match(row!.v, /^v\d/);
  await session.exec("CREATE VIRTUAL TABLE v USING vec0(embedding float[3]); INSERT INTO v (rowid, embedding) VALUES (1, '[1,0,0]')");
  await session.transaction(async (tx) => void (await tx.run("INSERT INTO v (rowid, embedding) VALUES (2, '[0,1,0]')")));
  assert.deepEqual(await session.all("SELECT rowid FROM v WHERE embedding MATCH '[0.1,0.9,0]' AND k = 1"), [{ rowid: 2 }]);
  await session.close();
  await assert.rejects(session.loadExtension(vecPath), { code: 'ERR_POOL_CLOSED' });
});

test('TEMP objects and ATTACHed databases keep a session on the writer, and go when it closes', async (t) => {
  const pool = testPool(t, { readers: 2 });
  const session = pool.session();
  await session.exec('CREATE TEMP TABLE scratch (v); INSERT INTO scratch VALUES (1), (2)');
  assert.equal(session.pinned, true);
  // Reads included: they run where the TEMP table lives.
  for (let i = 0; i < 5; i++) assert.deepEqual(await session.all('SELECT v FROM scratch ORDER BY v'), [{ v: 1 }, { v: 2 }]);
  await session.transaction(async (tx) => void (await tx.run('INSERT INTO scratch VALUES (3)')));
  assert.deepEqual(await session.get('SELECT count(*) AS n FROM scratch'), { n: 3 });
  await session.close();
  const lease = await pool.acquire({ write: true });
  assert.deepEqual(await lease.all("SELECT name FROM temp.sqlite_master WHERE name = 'scratch'"), []);
  await lease.release();
  await assert.rejects(session.get('SELECT 1'), PoolClosedError);
});

test('TEMP tables linked by an enforced foreign key, with rows, go when the session closes, in any order it made them', async (t) => {
  const pool = testPool(t, { pragmas: { foreign_keys: true } });
  const session = pool.session();
  await session.exec(`CREATE TEMP TABLE parent (id INTEGER PRIMARY KEY); CREATE TEMP TABLE child (pid REFERENCES parent(id));
    CREATE TEMP VIEW both_ AS SELECT * FROM parent JOIN child ON pid = id; INSERT INTO parent VALUES (1); INSERT INTO child VALUES (1)`);
  await session.close();
  const lease = await pool.acquire({ write: true });
  assert.deepEqual(await lease.all("SELECT name FROM temp.sqlite_master WHERE name IN ('parent', 'child', 'both_')"), []);
  await lease.release();
});

test("a table made in main (or renamed into it) is found before an ATTACHed database's of the same name, by statements run before too; DETACH after writes", async (t) => {
  const pool = testPool(t, { readers: 2 });
  const session = pool.session();
  const other = join(tempDir(t), 'other.db');
  await session.run('ATTACH ? AS a', [other]);
  await session.exec(
    "CREATE TABLE a.x (v); INSERT INTO a.x VALUES ('attached'); CREATE TABLE a.y (v); INSERT INTO a.y VALUES ('attached')",
  );
  // Compiled (and kept) while `x` and `y` mean a.x and a.y.
  for (let i = 0; i < 3; i++) assert.deepEqual(await session.all('SELECT v FROM x'), [{ v: 'attached' }]);
  assert.deepEqual(await session.all('SELECT v FROM y'), [{ v: 'attached' }]);
  await session.run('CREATE TABLE x (v)');
  await session.exec("CREATE TABLE z (v); INSERT INTO z VALUES ('main')");
  await session.run('ALTER TABLE z RENAME TO y');
  // As SQLite resolves a statement compiled now: main first.
  assert.deepEqual(await session.all('SELECT v FROM x'), []);
  assert.deepEqual(await session.all('SELECT v FROM y'), [{ v: 'main' }]);
  assert.deepEqual(await session.all('SELECT v FROM a.x'), [{ v: 'attached' }]);
  // DETACH after writes into it: as in autocommit (inside the single writer's group transaction it failed, "locked").
  await session.run("INSERT INTO a.x VALUES ('more')");
  await session.run('DETACH a');
  assert.deepEqual(await session.all("SELECT name FROM pragma_database_list WHERE name = 'a'"), []);
});

test("DETACH of a database the session has not attached fails as SQLite fails it, and leaves another session's attached", async (t) => {
  const pool = testPool(t);
  const other = pool.session();
  await other.run('ATTACH ? AS a', [join(tempDir(t), 'a.db')]);
  const session = pool.session();
  await assert.rejects(session.run('DETACH a'), { code: 'SQLITE_ERROR', message: 'no such database: a' });
  await assert.rejects(session.exec('DETACH DATABASE "A"'), { code: 'SQLITE_ERROR', message: 'no such database: A' });
  await assert.rejects(session.run('DETACH main'), { code: 'SQLITE_ERROR', message: 'cannot detach database main' });
  assert.deepEqual(await other.all("SELECT name FROM pragma_database_list WHERE name = 'a'"), [{ name: 'a' }]);
  await other.run('DETACH a');
});

test('last_insert_rowid() and changes() are read where the last write ran: the writer', async (t) => {
  const pool = testPool(t, { readers: 2 });
  const session = pool.session();
  await session.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v)');
  const { lastInsertRowid } = await session.run('INSERT INTO t (v) VALUES (1)');
  assert.deepEqual(await session.get('SELECT last_insert_rowid() AS id, changes() AS n'), { id: lastInsertRowid, n: 1 });
});

test('double-quoted string literals, per session (node-sqlite3 allows them; better-sqlite3 does not)', async (t) => {
  const pool = testPool(t);
  const legacy = pool.session({ doubleQuotedStrings: true });
  assert.deepEqual(await legacy.get('SELECT "bob" AS name'), { name: 'bob' });
  await assert.rejects(pool.get('SELECT "bob" AS name'), { code: 'SQLITE_ERROR' });
  assert.deepEqual(await legacy.get('SELECT "bob" AS name'), { name: 'bob' });
});

test("a session's run-time limits apply to its statements only, on readers and the writer, from the call on", async (t) => {
  const pool = testPool(t, { readers: 1 });
  await pool.exec('CREATE TABLE t (v INTEGER)');
  const limited = pool.session();
  const compound = 'SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3';
  assert.equal((await limited.all(compound)).length, 3);
  limited.setLimit(4, 2); // SQLITE_LIMIT_COMPOUND_SELECT
  for (let i = 0; i < 3; i++) {
    // Interleaved with the pool's own statements on the same connections: each runs under its own limits.
    await assert.rejects(limited.all(compound), { code: 'SQLITE_ERROR', message: /too many terms in compound SELECT/ });
    assert.equal((await pool.all(compound)).length, 3);
    await assert.rejects(limited.run('INSERT INTO t SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3'), /too many terms/);
    await pool.run('INSERT INTO t SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3');
  }
  limited.setLimit(4, 500);
  assert.equal((await limited.all(compound)).length, 3);
  limited.setLimit(1, 10); // SQLITE_LIMIT_SQL_LENGTH: the pool's own statements on that connection still compile
  await assert.rejects(limited.get('SELECT 1 AS one'), { code: 'SQLITE_TOOBIG' });
  assert.deepEqual(await pool.get('SELECT count(*) AS n FROM t'), { n: 9 });
  await pool.transaction(async (tx) => void (await tx.run('INSERT INTO t VALUES (0)')));
  for (const bad of [-1, 12, 1.5, Number.NaN]) assert.throws(() => limited.setLimit(bad, 1), { code: 'ERR_INVALID_ARGUMENT' });
  assert.throws(() => limited.setLimit(4, -1), { code: 'ERR_INVALID_ARGUMENT' });
});

test('a session watching changes hears of each row its own statements change, before their callers get the result (a listener that throws: test/39)', async (t) => {
  const pool = testPool(t, { readers: 1 });
  await pool.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE); CREATE TABLE k (k PRIMARY KEY) WITHOUT ROWID');
  const watched = pool.session();
  const heard: unknown[] = [];
  watched.watchChanges((change) => heard.push(change));
  const other = pool.session();
  await Promise.all([other.run("INSERT INTO t VALUES (100, 'other')"), pool.run("INSERT INTO t VALUES (101, 'pool')")]);
  const result = watched.run("INSERT INTO t VALUES (1, 'a'), (2, 'b')").then(() => heard.length);
  assert.equal(await result, 2, 'both rows were heard of before the result');
  await watched.exec("UPDATE t SET v = 'bb' WHERE id = 2; DELETE FROM t WHERE id = 1; INSERT INTO k VALUES (1)");
  await watched.transaction(async (tx) => {
    await tx.run("INSERT INTO t VALUES (3, 'c')");
    await tx.all("INSERT INTO t (v) VALUES ('d') RETURNING id");
  });
  await assert.rejects(watched.run("INSERT INTO t VALUES (4, 'e'), (5, 'bb')"), { code: 'SQLITE_CONSTRAINT_UNIQUE' });
  const rows = (type: string, table: string, rowid: number): unknown => ({ type, database: 'main', table, rowid });
  assert.deepEqual(heard, [
    rows('insert', 't', 1),
    rows('insert', 't', 2),
    rows('update', 't', 2),
    rows('delete', 't', 1),
    rows('insert', 't', 3),
    rows('insert', 't', 102),
  ]);
  watched.watchChanges(undefined);
  await watched.run("INSERT INTO t VALUES (6, 'f')");
  assert.equal(heard.length, 6, 'nothing heard once stopped');
  assert.throws(() => watched.watchChanges('no' as never), { code: 'ERR_INVALID_ARGUMENT' });
});

test('a query_only session reads on every strategy (its statements run outside group commits) and its writes fail', async (t) => {
  for (const strategy of ['single-writer', 'wal'] as const) {
    const pool = testPool(t, { strategy, readers: 0 }); // no readers: its reads go to the writer
    await pool.exec('CREATE TABLE t (v INTEGER)');
    const reading = pool.session({ pragmas: { query_only: true } });
    assert.deepEqual(await reading.get('SELECT 3 AS three'), { three: 3 }, strategy);
    await assert.rejects(reading.run('INSERT INTO t VALUES (1)'), { code: 'SQLITE_READONLY' });
    await pool.run('INSERT INTO t VALUES (2)');
    assert.deepEqual(await reading.all('SELECT v FROM t'), [{ v: 2 }]);
  }
});
