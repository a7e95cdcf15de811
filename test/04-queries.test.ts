/** The query API: run/get/all/exec/iterate, parameters, value round trips, routing. */
import { ArgumentError, QueryError, SqliteError, TransactionError } from '@litepool/core';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { testPool, within } from './helpers/pool.js';
import { tempDb } from './helpers/temp.js';

test('run returns changes and lastInsertRowid; get and all return rows', async (t) => {
  const pool = testPool(t);
  await pool.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)');
  assert.deepEqual(await pool.run('INSERT INTO t (name) VALUES (?)', ['a']), { changes: 1, lastInsertRowid: 1 });
  assert.deepEqual(await pool.run('INSERT INTO t (name) VALUES (?), (?)', ['b', 'c']), { changes: 2, lastInsertRowid: 3 });
  assert.deepEqual(await pool.get('SELECT * FROM t WHERE id = ?', [2]), { id: 2, name: 'b' });
  assert.equal(await pool.get('SELECT * FROM t WHERE id = ?', [99]), undefined);
  assert.deepEqual(await pool.all('SELECT name FROM t ORDER BY id'), [{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
  assert.deepEqual(await pool.run('DELETE FROM t WHERE id > ?', [1]), { changes: 2, lastInsertRowid: 3 });
});

test('parameters: ?, ?NNN, :name, @name, $name', async (t) => {
  const pool = testPool(t);
  assert.deepEqual(await pool.get('SELECT ? AS a, ? AS b', [1, 'x']), { a: 1, b: 'x' });
  // better-sqlite3 binds ?NNN by number keys of an object.
  assert.deepEqual(await pool.get('SELECT ?2 AS a, ?1 AS b', { 1: 1, 2: 2 }), { a: 2, b: 1 });
  assert.deepEqual(await pool.get('SELECT :v AS a', { v: 7 }), { a: 7 });
  assert.deepEqual(await pool.get('SELECT @v AS a', { v: 8 }), { a: 8 });
  assert.deepEqual(await pool.get('SELECT $v AS a', { v: 9 }), { a: 9 });
  assert.deepEqual(await pool.get('SELECT ? AS n', [null]), { n: null });
});

test('BLOBs round trip as Buffer, from Buffer and Uint8Array', async (t) => {
  const pool = testPool(t);
  await pool.exec('CREATE TABLE b (id INTEGER PRIMARY KEY, data BLOB)');
  const bytes = Buffer.from([0, 1, 2, 253, 254, 255]);
  await pool.run('INSERT INTO b (data) VALUES (?)', [bytes]);
  await pool.run('INSERT INTO b (data) VALUES (?)', [new Uint8Array([9, 8, 7])]);
  const rows = await pool.all<{ data: Buffer }>('SELECT data FROM b ORDER BY id');
  assert.ok(Buffer.isBuffer(rows[0]!.data) && Buffer.isBuffer(rows[1]!.data));
  assert.deepEqual(rows[0]!.data, bytes);
  assert.deepEqual([...rows[1]!.data], [9, 8, 7]);
  const one = await pool.get<{ data: Buffer }>('SELECT data FROM b WHERE id = 1');
  assert.ok(Buffer.isBuffer(one!.data));
  let streamed = 0;
  for await (const row of pool.iterate<{ data: Buffer }>('SELECT data FROM b')) {
    assert.ok(Buffer.isBuffer(row.data));
    streamed++;
  }
  assert.equal(streamed, 2);
});

test('bigint parameters bind exactly; safeIntegers returns bigint results', async (t) => {
  const big = 9007199254740993n; // 2^53 + 1: not representable as a number
  const plain = testPool(t);
  await plain.exec('CREATE TABLE n (v INTEGER)');
  await plain.run('INSERT INTO n VALUES (?)', [big]);
  assert.deepEqual(await plain.get('SELECT v = ? AS same FROM n', [big]), { same: 1 });
  const safe = testPool(t, { safeIntegers: true });
  await safe.exec('CREATE TABLE n (v INTEGER)');
  const result = await safe.run('INSERT INTO n VALUES (?)', [big]);
  assert.equal(result.lastInsertRowid, 1n);
  assert.deepEqual(await safe.get('SELECT v FROM n'), { v: big });
});

test('writes are routed to the writer, including get/all with RETURNING', async (t) => {
  const pool = testPool(t, { readers: 2 });
  await pool.exec('CREATE TABLE r (id INTEGER PRIMARY KEY, v TEXT)');
  assert.deepEqual(await pool.get('INSERT INTO r (v) VALUES (?) RETURNING id', ['a']), { id: 1 });
  assert.deepEqual(await pool.all('INSERT INTO r (v) VALUES (?) RETURNING v', ['b']), [{ v: 'b' }]);
  // Second time: the route is cached; still correct.
  assert.deepEqual(await pool.get('INSERT INTO r (v) VALUES (?) RETURNING id', ['c']), { id: 3 });
  const rows = [];
  for await (const row of pool.iterate('INSERT INTO r (v) VALUES (?) RETURNING id', ['d'])) rows.push(row);
  assert.deepEqual(rows, [{ id: 4 }]);
  assert.equal((await pool.all('SELECT * FROM r')).length, 4);
});

test('in a read transaction and on a read lease, a conditional schema change with nothing to do succeeds; one with work fails ERR_READ_ONLY', async (t) => {
  const pool = testPool(t);
  await pool.exec('CREATE TABLE t (v)');
  await pool.transaction(
    async (tx) => {
      await tx.run('CREATE TABLE IF NOT EXISTS t (v)');
      await tx.run('DROP TABLE IF EXISTS nope');
      await tx.run('DROP INDEX IF EXISTS nope');
      await assert.rejects(tx.run('DROP TABLE IF EXISTS t'), { code: 'ERR_READ_ONLY' });
    },
    { mode: 'read' },
  );
  const lease = await pool.acquire();
  try {
    await lease.run('DROP VIEW IF EXISTS nope');
    await assert.rejects(lease.run('CREATE TABLE IF NOT EXISTS q (v)'), { code: 'ERR_READ_ONLY' });
  } finally {
    await lease.release();
  }
  assert.deepEqual(await pool.all("SELECT name FROM sqlite_master WHERE type = 'table'"), [{ name: 't' }]);
});

test('DROP … IF EXISTS and CREATE … IF NOT EXISTS run again after the schema changed between: each does what the schema now asks', async (t) => {
  const pool = testPool(t);
  await pool.exec('CREATE TABLE t (v)');
  const triggers = async (): Promise<unknown[]> => pool.all("SELECT name FROM sqlite_master WHERE type = 'trigger'");
  // Each statement is first compiled where it is a no-op (and may be kept so), then run where it has work to do.
  for (let round = 0; round < 6; round++) {
    for (let i = 0; i < 3; i++) await pool.run('DROP TRIGGER IF EXISTS tr');
    await pool.exec('CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END');
    await pool.run('DROP TRIGGER IF EXISTS tr');
    assert.deepEqual(await triggers(), [], `round ${round}: dropped`);
    await pool.run('CREATE TRIGGER IF NOT EXISTS tr AFTER INSERT ON t BEGIN SELECT 1; END');
    for (let i = 0; i < 3; i++) await pool.run('CREATE TRIGGER IF NOT EXISTS tr AFTER INSERT ON t BEGIN SELECT 1; END');
    await pool.exec('DROP TRIGGER tr');
    await pool.run('CREATE TRIGGER IF NOT EXISTS tr AFTER INSERT ON t BEGIN SELECT 1; END');
    assert.deepEqual(await triggers(), [{ name: 'tr' }], `round ${round}: made again`);
    await pool.exec('DROP TRIGGER tr');
  }
});

test('CREATE … IF NOT EXISTS of what exists and DROP … IF EXISTS of what does not answer while a transaction holds the writer; one with work to do waits for it', async (t) => {
  const pool = testPool(t, { readers: 2 });
  await pool.exec('CREATE TABLE t (v); CREATE INDEX tv ON t (v); CREATE VIEW w AS SELECT 1');
  let release = (): void => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  let began = (): void => {};
  const inside = new Promise<void>((resolve) => (began = resolve));
  const transaction = pool.transaction(async (tx) => {
    await tx.run('INSERT INTO t VALUES (1)');
    began();
    await held;
  });
  await inside;
  let released = false;
  const created = pool.run('CREATE TABLE IF NOT EXISTS n (x)').then(() => released);
  const createdByExec = pool.exec('CREATE TABLE IF NOT EXISTS n2 (x);').then(() => released);
  const noOps = await within(
    10_000,
    Promise.all([
      pool.run('CREATE TABLE IF NOT EXISTS t (v)'),
      pool.get('CREATE INDEX IF NOT EXISTS tv ON t (v)'),
      pool.all('CREATE VIEW IF NOT EXISTS w AS SELECT 2'),
      pool.run('DROP TABLE IF EXISTS nope'),
      pool.run('DROP TRIGGER IF EXISTS nope'),
      pool.run('CREATE TABLE IF NOT EXISTS t (v)'),
      // pool.exec of one such statement too (an app's schema step at start).
      pool.exec('CREATE TABLE IF NOT EXISTS t (v);'),
      pool.exec('DROP VIEW IF EXISTS nope -- gone already'),
    ]),
    'the no-ops, while the transaction holds the writer',
  );
  assert.deepEqual(noOps.slice(1, 3), [undefined, []]);
  assert.deepEqual(noOps.slice(6), [undefined, undefined]);
  // A name another kind of object holds fails at once, as in SQLite.
  await assert.rejects(pool.run('CREATE INDEX IF NOT EXISTS t ON t (v)'), /there is already a table named t/);
  released = true;
  release();
  await transaction;
  assert.equal(await created, true, 'the CREATE with work to do waited for the transaction');
  assert.equal(await createdByExec, true, 'so did the one by exec');
  assert.deepEqual(await pool.all("SELECT name FROM sqlite_schema WHERE name IN ('n', 'n2', 'w') ORDER BY name"), [
    { name: 'n' },
    { name: 'n2' },
    { name: 'w' },
  ]);
});

test('reader connections are read-only', async (t) => {
  const pool = testPool(t, { readers: 1 });
  await pool.exec('CREATE TABLE ro (v INTEGER)');
  const reader = await pool.acquire();
  try {
    await assert.rejects(reader.run('INSERT INTO ro VALUES (1)'), (error: unknown) => {
      assert.ok(error instanceof TransactionError);
      assert.equal(error.code, 'ERR_READ_ONLY');
      return true;
    });
    await assert.rejects(reader.exec('INSERT INTO ro VALUES (1)'), { code: 'SQLITE_READONLY' });
    assert.deepEqual(await reader.get('SELECT count(*) AS n FROM ro'), { n: 0 });
  } finally {
    void reader.release();
  }
});

test('readers: 0 runs everything on the writer', async (t) => {
  const pool = testPool(t, { readers: 0 });
  await pool.exec('CREATE TABLE z (v INTEGER)');
  await pool.run('INSERT INTO z VALUES (1)');
  assert.deepEqual(await pool.all('SELECT v FROM z'), [{ v: 1 }]);
  assert.equal(pool.stats().readers, 0);
});

test('bad SQL rejects that call only; the pool keeps working', async (t) => {
  const pool = testPool(t);
  const results = await Promise.allSettled([
    pool.get('SELECT 1 AS a'),
    pool.get('SELEKT nonsense'),
    pool.get('SELECT * FROM missing_table'),
    pool.get('SELECT 2 AS a'),
  ]);
  assert.equal(results[0].status, 'fulfilled');
  assert.equal(results[3].status, 'fulfilled');
  for (const failed of [results[1], results[2]]) {
    assert.equal(failed.status, 'rejected');
    const error = failed.reason as SqliteError;
    assert.ok(error instanceof SqliteError);
    assert.equal(error.code, 'SQLITE_ERROR');
    assert.ok(error.cause instanceof Error);
  }
  assert.deepEqual(await pool.get('SELECT 3 AS a'), { a: 3 });
});

test('constraint errors keep the extended SQLite code and the original as cause', async (t) => {
  const pool = testPool(t);
  await pool.exec('CREATE TABLE u (k TEXT PRIMARY KEY)');
  await pool.run('INSERT INTO u VALUES (?)', ['x']);
  await assert.rejects(pool.run('INSERT INTO u VALUES (?)', ['x']), (error: unknown) => {
    assert.ok(error instanceof SqliteError);
    assert.equal(error.code, 'SQLITE_CONSTRAINT_PRIMARYKEY');
    assert.match(error.message, /UNIQUE constraint failed/);
    assert.equal((error.cause as { code?: string }).code, 'SQLITE_CONSTRAINT_PRIMARYKEY');
    return true;
  });
});

test('driver usage errors are QueryError; bad arguments are ArgumentError', async (t) => {
  const pool = testPool(t);
  await assert.rejects(pool.get('SELECT ? AS a'), (error: unknown) => error instanceof QueryError && error.code === 'ERR_QUERY');
  await assert.rejects(pool.get('SELECT 1', [1, 2]), QueryError);
  await assert.rejects(pool.get(42 as unknown as string), (error: unknown) => {
    assert.ok(error instanceof ArgumentError);
    assert.equal(error.message, 'sql must be a non-empty string, got 42');
    return true;
  });
  await assert.rejects(pool.get('SELECT ?', 5 as unknown as []), {
    code: 'ERR_INVALID_ARGUMENT',
    message: 'params must be an array (positional) or a plain object (named), got 5',
  });
});

test('many concurrent reads are answered correctly (batched across the thread boundary)', async (t) => {
  const pool = testPool(t);
  await pool.exec('CREATE TABLE k (id INTEGER PRIMARY KEY, v INTEGER)');
  await pool.transaction(async (tx) => {
    for (let i = 1; i <= 500; i++) await tx.run('INSERT INTO k VALUES (?, ?)', [i, i * 3]);
  });
  const ids = Array.from({ length: 2000 }, (_, i) => (i % 500) + 1);
  const rows = await Promise.all(ids.map((id) => pool.get<{ v: number }>('SELECT v FROM k WHERE id = ?', [id])));
  rows.forEach((row, i) => assert.equal(row?.v, ids[i]! * 3));
  assert.ok(pool.stats().waits > 0, 'requests queued behind busy readers and went in batches');
});

test('a batch of reads runs in one snapshot: a failing read rejects alone, acknowledged writes are seen', async (t) => {
  // Reads through the reader alone: on the calling thread, as many as its budget allows run one by one (all of them,
  // on a fast turn: the batch assertion failed once under Bun).
  const pool = testPool(t, { readers: 1, inlineReads: false });
  await pool.exec('CREATE TABLE k (id INTEGER PRIMARY KEY, v INTEGER)');
  await pool.run('INSERT INTO k VALUES (1, 10), (2, 20), (3, 30)');
  await pool.get('SELECT v FROM k WHERE id = ?', [1]); // learn the route
  await pool.get('SELECT v FROM k WHERE id = ? AND v > ?', [1, 0]);
  const before = pool.stats().readBatches;
  const settled = await Promise.allSettled([
    ...Array.from({ length: 20 }, (_, i) => pool.get<{ v: number }>('SELECT v FROM k WHERE id = ?', [(i % 3) + 1])),
    pool.get('SELECT v FROM k WHERE id = ? AND v > ?', [1]), // one parameter short
    ...Array.from({ length: 20 }, (_, i) => pool.all<{ v: number }>('SELECT v FROM k WHERE id = ?', [(i % 3) + 1])),
  ]);
  const after = pool.stats().readBatches;
  assert.ok(after.requests - before.requests > after.batches - before.batches, 'reads went in batches of more than one');
  assert.deepEqual(
    settled.filter((r) => r.status === 'rejected').map((r) => r.reason.code),
    ['ERR_QUERY'],
  );
  assert.equal(settled.filter((r) => r.status === 'fulfilled').length, 40);
  for (let round = 0; round < 20; round++) {
    await pool.run('UPDATE k SET v = ? WHERE id = 3', [round]);
    const reads = await Promise.all(Array.from({ length: 10 }, () => pool.get<{ v: number }>('SELECT v FROM k WHERE id = ?', [3])));
    assert.deepEqual(new Set(reads.map((r) => r?.v)), new Set([round]), 'every read issued after the acknowledged write sees it');
  }
});

test('values(): rows as arrays in column order, so columns that share a name (a self-join) all come back; BLOBs as Buffers', async (t) => {
  const pool = testPool(t);
  await pool.exec("CREATE TABLE a (id INTEGER, b BLOB); INSERT INTO a VALUES (1, x'0102'), (2, NULL)");
  assert.deepEqual(await pool.values('SELECT x.id, y.id, x.b FROM a AS x JOIN a AS y ON y.id = x.id + 1'), [[1, 2, Buffer.from([1, 2])]]);
  assert.deepEqual(await pool.transaction((tx) => tx.values('SELECT ?, ?', [7, 7])), [[7, 7]]);
  assert.deepEqual(await pool.values('CREATE TABLE IF NOT EXISTS z (v)'), [], 'a statement without rows answers with none');
  const lease = await pool.acquire();
  t.after(() => lease.release());
  assert.deepEqual(await lease.values('SELECT count(*) FROM a'), [[2]]);
});

test('many rows come back exactly as better-sqlite3 gives them: odd column names, NULLs, reals, bigints, BLOBs, rows a watched session changed', async (t) => {
  const file = tempDb(t);
  const pool = testPool(t, { filename: file, inlineReads: false });
  await pool.exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, "p q" TEXT, "2" REAL, "a b" TEXT, "é" INTEGER, b BLOB);
    INSERT INTO t (id, "p q", "2", "a b", "é", b)
      WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 40)
      SELECT x, CASE WHEN x % 3 = 0 THEN NULL ELSE 'p' || x END, x / 7.0, 'row ' || x, x * 9007199254740, NULL FROM c`);
  const oracle = new BetterSqlite3(file, { readonly: true });
  t.after(() => oracle.close());
  for (const sql of [
    'SELECT * FROM t ORDER BY id',
    'SELECT id, id AS id, "a b" FROM t ORDER BY id',
    'SELECT 1 AS x FROM t LIMIT 15',
    'SELECT * FROM t WHERE id < 0',
  ]) {
    const rows = await pool.all<Record<string, unknown>>(sql);
    const expected = oracle.prepare(sql).all() as Record<string, unknown>[];
    assert.deepEqual(rows, expected, sql);
    assert.deepEqual(
      rows.map((row) => Object.keys(row)),
      expected.map((row) => Object.keys(row)),
      `${sql}: key order`,
    );
    for (const row of rows) assert.equal(Object.getPrototypeOf(row), Object.prototype, `${sql}: a plain object`);
  }
  await pool.run("UPDATE t SET b = x'00ff' WHERE id = 20");
  const withBlob = await pool.all<{ b: Buffer | null }>('SELECT b FROM t ORDER BY id');
  assert.ok(Buffer.isBuffer(withBlob[19]!.b) && withBlob[19]!.b.equals(Buffer.from([0, 255])), 'a BLOB among many rows is a Buffer');
  const safe = testPool(t, { filename: file, inlineReads: false, safeIntegers: true });
  const big = await safe.all<{ v: bigint }>('SELECT "é" AS v FROM t ORDER BY id');
  assert.equal(big.length, 40);
  assert.equal(big[39]!.v, 40n * 9007199254740n);
  const session = pool.session();
  t.after(() => session.close());
  const changes: unknown[] = [];
  session.watchChanges((change) => changes.push(change));
  const returned = await session.all<{ id: number }>('UPDATE t SET "a b" = \'changed\' WHERE id <= 20 RETURNING id');
  assert.deepEqual(
    returned.map((row) => row.id).sort((a, b) => a - b),
    Array.from({ length: 20 }, (_, i) => i + 1),
  );
  assert.equal(changes.length, 20, 'the rows it changed reached the watcher');
});

test('many rows are rebuilt with any column names (quotes, line breaks, code), and rows of any width, by all and by iterate', async (t) => {
  const file = tempDb(t);
  const names = [
    'x"y',
    'back\\slash',
    'new\nline',
    'sep\u2028arator',
    '',
    '__proto__',
    'constructor',
    'toString',
    '0',
    '1e3',
    '") }; process.exit(9); ({ "',
  ];
  const columns = names.map((name, i) => `${i} AS "${name.replaceAll('"', '""')}"`).join(', ');
  const narrow = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20) SELECT x, ${columns} FROM c`;
  const wide = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20) SELECT ${Array.from({ length: 70 }, (_, i) => `x + ${i} AS c${i}`).join(', ')} FROM c`;
  const oracle = new BetterSqlite3(':memory:');
  t.after(() => oracle.close());
  const pool = testPool(t, { filename: file, inlineReads: false });
  for (const sql of [narrow, wide]) {
    const rows = await pool.all<Record<string, unknown>>(sql);
    const expected = oracle.prepare(sql).all() as Record<string, unknown>[];
    assert.deepEqual(rows, expected);
    assert.deepEqual(Object.keys(rows[0]!), Object.keys(expected[0]!), 'key order');
    assert.equal(Object.getPrototypeOf(rows[0]), Object.prototype);
    // A stream's chunks cross packed the same way.
    const streamed: Record<string, unknown>[] = [];
    for await (const row of pool.iterate<Record<string, unknown>>(sql)) streamed.push(row);
    assert.deepEqual(streamed, expected);
    assert.deepEqual(Object.keys(streamed[0]!), Object.keys(expected[0]!), 'key order of streamed rows');
  }
});
