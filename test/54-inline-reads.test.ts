/**
 * Short reads on the calling thread (issue 21, one call at a time): a
 * one-shot read the pool knows only reads is answered on a read-only
 * connection of the calling thread. Its answers and errors must be the same
 * as a reader's, a long statement must not hold the event loop (the read
 * watch interrupts it and a reader answers), a loop of awaited reads must
 * still let timers run, and nothing with state of its own (a transaction, a
 * session, a setup module) may take this path.
 */
import { createPool, OptionsError, PoolClosedError, wal, type Pool, type PoolOptions, type Queryable, type Strategy } from '@litepool/core';
import BetterSqlite3 from 'better-sqlite3';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { tempDir } from './helpers/temp.js';

const LONG_READ = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) SELECT sum(x) AS s FROM c';

/** A pool on a file with a table of 1,000 rows (a text, an integer past 2^53 in some, a BLOB), its reads warmed up. */
async function seeded(t: TestContext, options: Partial<PoolOptions> = {}, file = join(tempDir(t), 'inline.db')): Promise<Pool> {
  const pool = createPool({ filename: file, readers: 1, ...options });
  t.after(() => pool.destroy());
  await pool.exec(`CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, name TEXT, big INTEGER, data BLOB);
    INSERT OR IGNORE INTO t WITH RECURSIVE c(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM c WHERE v < 1000)
      SELECT v, 'row ' || v, 9007199254740993 * (v % 2), randomblob(4) FROM c`);
  if (options.inlineReads !== false) assert.ok(await warm(pool), 'reads run inline once the read watch has started');
  return pool;
}

/** Reads until one is answered on the calling thread (the read watch's thread starts in the background); false if none is within 200 tries. */
async function warm(pool: Pool): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    await pool.get('SELECT 1 AS warm');
    if (pool.stats().inlineReads > 0) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return false;
}

/** `op` of `sql` on `pool`. */
const read = (pool: Queryable, op: 'get' | 'all' | 'values', sql: string, params: number[]): Promise<unknown> =>
  op === 'get' ? pool.get(sql, params) : op === 'all' ? pool.all(sql, params) : pool.values(sql, params);

/** `op` of `sql` on `handle` (the pool or one of its sessions), retried until one is answered on the calling thread (a busy machine can push one past its budget). */
async function answeredInline(
  pool: Pool,
  op: 'get' | 'all' | 'values',
  sql: string,
  params: number[],
  handle: Queryable = pool,
): Promise<unknown> {
  for (let attempt = 0; attempt < 400; attempt++) {
    const before = pool.stats().inlineReads;
    const answer = await read(handle, op, sql, params);
    if (pool.stats().inlineReads > before) return answer;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return assert.fail(`${op} ${sql} was never answered inline`);
}

test('reads are answered on the calling thread with the same rows a reader gives: BLOBs as Buffers, bigints, arrays of values, no row', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'same.db');
  const inline = await seeded(t, { safeIntegers: true }, file);
  const threaded = await seeded(t, { safeIntegers: true, inlineReads: false }, file);
  assert.equal(threaded.stats().inlineReads, 0);
  const queries: [string, number[]][] = [
    ['SELECT * FROM t WHERE id = ?', [7]],
    ['SELECT * FROM t WHERE id = ?', [8]],
    ['SELECT * FROM t WHERE id = ?', [5000]],
    ['SELECT id, name FROM t WHERE id BETWEEN ? AND ? ORDER BY id', [10, 60]],
    ['SELECT a.id, b.id FROM t a JOIN t b ON b.id = a.id + 1 WHERE a.id < ?', [4]],
    ['PRAGMA table_info(t)', []],
  ];
  for (const [sql, params] of queries) {
    for (const op of ['get', 'all', 'values'] as const) {
      assert.deepEqual(await answeredInline(inline, op, sql, params), await read(threaded, op, sql, params), `${op} ${sql}`);
    }
  }
  const row = (await answeredInline(inline, 'get', 'SELECT big, data FROM t WHERE id = 1', [])) as { big: bigint; data: Buffer };
  assert.equal(row.big, 9007199254740993n);
  assert.ok(Buffer.isBuffer(row.data));
});

test('a read issued after a write resolved sees it, and reads of a transaction or a lease never run inline', async (t) => {
  const pool = await seeded(t);
  for (let i = 0; i < 20; i++) {
    await pool.run('UPDATE t SET name = ? WHERE id = 1', [`v${i}`]);
    assert.deepEqual(await pool.get('SELECT name FROM t WHERE id = 1'), { name: `v${i}` });
  }
  const before = pool.stats().inlineReads;
  await pool.transaction(async (tx) => {
    await tx.run('UPDATE t SET name = ? WHERE id = 2', ['in tx']);
    // The transaction's own write, which no other connection sees yet.
    assert.deepEqual(await tx.get('SELECT name FROM t WHERE id = 2'), { name: 'in tx' });
  });
  const lease = await pool.acquire();
  assert.deepEqual(await lease.get('SELECT name FROM t WHERE id = 2'), { name: 'in tx' });
  await lease.release();
  assert.equal(pool.stats().inlineReads, before);
});

test("a session's reads run inline with its settings, and the pool's own with the pool's", async (t) => {
  const pool = await seeded(t);
  const quoting = pool.session({ doubleQuotedStrings: true });
  const plain = pool.session({ pragmas: { case_sensitive_like: true } });
  for (let round = 0; round < 3; round++) {
    // With double-quoted strings allowed, "row 1" is a string; without, an unknown column.
    assert.deepEqual(await answeredInline(pool, 'get', 'SELECT id FROM t WHERE name = "row 1"', [], quoting), { id: 1 });
    await assert.rejects(pool.get('SELECT id FROM t WHERE name = "row 1"'), /no such column/);
    assert.deepEqual(await answeredInline(pool, 'get', "SELECT count(*) AS n FROM t WHERE name LIKE 'ROW 1'", [], plain), { n: 0 });
    assert.deepEqual(await answeredInline(pool, 'get', "SELECT count(*) AS n FROM t WHERE name LIKE 'ROW 1'", []), { n: 1 });
  }
  await quoting.close();
  await plain.close();
});

test('a statement never seen runs inline its first time if it reads, and goes straight to the writer if it turns out to write', async (t) => {
  const pool = await seeded(t);
  let checked = 0;
  for (let i = 0; i < 20; i++) {
    const before = pool.stats();
    // A new SQL text each time, as code that builds its SQL makes.
    assert.deepEqual(await pool.get(`SELECT name FROM t WHERE id = ? AND ${i} = ${i}`, [3]), { name: 'row 3' });
    const read = pool.stats();
    // A new turn of the event loop: the time spent inline in this one does not send the write's probe to a reader.
    await new Promise((resolve) => setImmediate(resolve));
    // Fronted by a CTE, so its first word does not say it writes: SQLite's prepare on this thread does.
    const inserted = await pool.get<{ id: number }>(`WITH v(n) AS (VALUES ('new ${i}')) INSERT INTO t (name) SELECT n FROM v RETURNING id`);
    const after = pool.stats();
    assert.ok(inserted !== undefined && inserted.id > 1000);
    if (read.inlineReads === before.inlineReads) continue; // a busy machine pushed it past its budget
    // Neither needed a reader: the read ran here, the write was found to write here and went to the writer.
    assert.equal(after.readBatches.requests, before.readBatches.requests, `round ${i}`);
    assert.equal(after.writeBatches.requests, before.writeBatches.requests + 1, `round ${i}`);
    checked++;
  }
  assert.ok(checked > 0, 'at least one new read ran inline');
  assert.deepEqual(await pool.get("SELECT count(*) AS n FROM t WHERE name LIKE 'new %'"), { n: 20 });
});

test("a new pool's first reads, sent before its writer has created the file, go to a reader; reads after them run inline", async (t) => {
  // The read watch already runs (one per process): the first pool started it.
  await seeded(t);
  const dir = tempDir(t);
  for (let round = 0; round < 3; round++) {
    const pool = createPool({ filename: join(dir, `new-${round}.db`), readers: 1 });
    t.after(() => pool.destroy());
    // No connection has opened, the file does not exist yet: the first read starts a reader, the second finds it starting.
    const first = pool.get('SELECT 1 AS one');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(await Promise.all([first, pool.get('SELECT 2 AS two')]), [{ one: 1 }, { two: 2 }]);
    assert.ok(await warm(pool), `round ${round}: reads run inline once the writer has created the file`);
    await pool.close();
  }
});

test('a pool opened on a database file that exists answers its first reads here, without waiting for its writer thread', async (t) => {
  // The read watch already runs (the first pool started it); on the build before, the reads were lent to the writer,
  // which a thread's start (40-100 ms) stands between when no thread is parked.
  const dir = tempDir(t);
  const file = join(dir, 'existing.db');
  await seeded(t, {}, file);
  const walFile = createPool({ filename: file, readers: 1 });
  t.after(() => walFile.destroy());
  assert.deepEqual(await walFile.get('SELECT count(*) AS n FROM t'), { n: 1000 });
  // Not in WAL mode (the writer would switch it, a lock the read could stand in the way of), but opened read-only.
  const rollback = join(dir, 'rollback.db');
  const raw = new BetterSqlite3(rollback);
  raw.exec("CREATE TABLE r (x); INSERT INTO r VALUES ('kept')");
  raw.close();
  const readOnly = createPool({ filename: `file:${rollback}?mode=ro`, readers: 1 });
  t.after(() => readOnly.destroy());
  assert.deepEqual(await readOnly.all('SELECT x FROM r'), [{ x: 'kept' }]);
  // A file in rollback mode opened read-write is switched to WAL by the writer: its first read waits for that.
  const switched = createPool({ filename: rollback, readers: 1 });
  t.after(() => switched.destroy());
  assert.deepEqual(await switched.all('SELECT x FROM r'), [{ x: 'kept' }]);
  for (const [name, pool, inline] of [
    ['wal', walFile, 1],
    ['read-only', readOnly, 1],
    ['switched', switched, 0],
  ] as const) {
    const { inlineReads, readBatches, writeBatches } = pool.stats();
    const sent = readBatches.batches + writeBatches.batches;
    assert.deepEqual({ inlineReads, sent }, { inlineReads: inline, sent: 1 - inline }, name);
  }
});

test('a new pool that writes and reads briefly opens no second connection: its first reads are lent to the idle writer, later ones run here', async (t) => {
  // The read watch already runs (one per process): the first pool started it.
  await seeded(t);
  const dir = tempDir(t);
  let allLent = 0;
  let allInline = 0;
  for (let round = 0; round < 3; round++) {
    const pool = createPool({ filename: join(dir, `writes-${round}.db`), readers: 2 });
    t.after(() => pool.destroy());
    // Statements never seen by this pool: their first word says they write, so no reader is asked (nor started) to find out.
    await pool.run('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)');
    await pool.run('CREATE INDEX t_name ON t (name)');
    for (let i = 0; i < 5; i++) await pool.run(`INSERT INTO t (name) VALUES ('row ${i}')`);
    await pool.run("UPDATE t SET name = 'first' WHERE id = 1");
    await pool.run('DELETE FROM t WHERE id = 5');
    const written = pool.stats();
    assert.equal(written.readers, 0, `round ${round}: no reader opened for writes`);
    assert.equal(written.readBatches.requests, 0, `round ${round}`);
    // A test's few reads, one after another: the writer answers them (a connection here would cost more to open).
    // Not in the turn the last write's answer came in: the writer is still taken by it then (a read issued
    // while a write runs is never lent: it could wait behind a long one), and the read opens the connection here.
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(await pool.get('SELECT count(*) AS n FROM t'), { n: 4 });
    assert.deepEqual(await pool.get('SELECT name FROM t WHERE id = 1'), { name: 'first' });
    const lent = pool.stats();
    assert.equal(lent.readers, 0, `round ${round}: no reader opened for the reads`);
    if (lent.inlineReads === 0 && lent.writeBatches.requests === written.writeBatches.requests + 2) allLent++;
    // Past the first few, reads open the connection here; reads in the turn that opens it run here too (opening it does not use up the turn's budget).
    for (let i = 0; i < 8; i++) await pool.get('SELECT 1 AS lent');
    const before = pool.stats().inlineReads;
    const rows = await Promise.all([
      pool.get('SELECT count(*) AS n FROM t'),
      pool.get('SELECT name FROM t WHERE id = 1'),
      pool.all('SELECT id FROM t ORDER BY id'),
    ]);
    assert.deepEqual(rows, [{ n: 4 }, { name: 'first' }, [{ id: 1 }, { id: 2 }, { id: 3 }, { id: 4 }]]);
    if (pool.stats().inlineReads - before === 3) {
      allInline++;
      assert.equal(pool.stats().readers, 0, `round ${round}: no reader opened for the reads`);
    }
    await pool.close();
  }
  // A busy machine can delay the writer or push a read past its budget now and then; not in every round.
  assert.ok(allLent > 0, 'in some round the first two reads were answered by the writer');
  assert.ok(allInline > 0, 'in some round all three reads ran on the calling thread');
});

test('a new pool lends no read to a writer that is running a long write: the read is answered first, here', async (t) => {
  await seeded(t);
  const pool = createPool({ filename: join(tempDir(t), 'long-write.db'), readers: 1 });
  t.after(() => pool.destroy());
  await pool.run('CREATE TABLE t (v)');
  const settled: string[] = [];
  const write = pool
    .run(`CREATE TABLE big AS ${LONG_READ.replace('SELECT sum(x) AS s FROM c', 'SELECT x FROM c')}`)
    .then(() => settled.push('write'));
  await new Promise((resolve) => setTimeout(resolve, 50)); // the write is running on the writer by now
  assert.deepEqual(await pool.get('SELECT count(*) AS n FROM t'), { n: 0 });
  settled.push('read');
  await write;
  assert.deepEqual(settled, ['read', 'write']);
  assert.equal(pool.stats().readBatches.requests + pool.stats().inlineReads, 1, 'a reader or the calling thread answered it');
});

test('a long read does not hold the event loop: it is interrupted on the calling thread and a reader answers it', async (t) => {
  const pool = await seeded(t);
  for (let round = 0; round < 2; round++) {
    await new Promise((resolve) => setImmediate(resolve)); // a new turn: its budget for reads here unspent
    const before = pool.stats().inlineReads;
    const answer = pool.get<{ s: number }>(LONG_READ);
    // Sent on at once, not on the next turn: behind reads issued after it, its answer could hold theirs.
    assert.equal(pool.stats().queued, 1, `round ${round}: the read went to a reader's queue in the turn it ran here`);
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 1);
    const row = await answer;
    clearInterval(ticker);
    assert.deepEqual(row, { s: 4500001500000 });
    assert.equal(pool.stats().inlineReads, before, 'a reader answered');
    // Had it run to its end on the calling thread, no timer could have fired meanwhile.
    assert.ok(ticks > 0, `round ${round}: the event loop ran while the statement ran`);
  }
});

test('a read that takes longer than a turn of reads here is not run here again and again: readers answer it', async (t) => {
  const pool = await seeded(t);
  // A recursive sum that takes at least 0.8 ms on this thread (between the turn's 0.5 ms budget and the watch's
  // interrupt, or past it on a slower machine: either way it is no short read).
  const scratch = new BetterSqlite3(':memory:');
  t.after(() => scratch.close());
  const sumTo = (n: number): string =>
    `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${n}) SELECT sum(x) AS s FROM c`;
  const fastest = (n: number): number => {
    const statement = scratch.prepare(sumTo(n));
    let best = Infinity;
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      statement.get();
      best = Math.min(best, performance.now() - started);
    }
    return best;
  };
  let n = 1_000;
  while (fastest(n) < 0.8 && n < 50_000_000) n *= 2;
  const before = pool.stats().inlineReads;
  for (let i = 0; i < 20; i++) {
    await new Promise((resolve) => setImmediate(resolve)); // a new turn each time: its budget for reads here unspent
    assert.deepEqual(await pool.get(sumTo(n)), { s: (n * (n + 1)) / 2 });
  }
  // Three runs here in a row send it to readers for 100 ms, each later run for twice as long.
  assert.ok(pool.stats().inlineReads - before <= 5, `ran here ${pool.stats().inlineReads - before} times of 20`);
});

test('a loop of awaited reads answered inline still lets timers run between them', async (t) => {
  const pool = await seeded(t);
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 1);
  const before = pool.stats().inlineReads;
  for (let i = 0; i < 20_000; i++) await pool.get('SELECT name FROM t WHERE id = ?', [1 + (i % 1000)]);
  clearInterval(ticker);
  assert.ok(pool.stats().inlineReads - before > 0, 'reads ran inline');
  assert.ok(ticks > 0, 'timers fired during the loop');
});

test('one caller reading in a loop sends no read to a reader: the read that finds the turn spent waits for the next turn', async (t) => {
  const pool = await seeded(t);
  // A busy machine can push a read past the watch's budget, and its SQL then goes to readers for a while: each round
  // reads with a new SQL text, and some round must send none.
  const sentToReaders: number[] = [];
  for (let round = 0; round < 6 && sentToReaders.at(-1) !== 0; round++) {
    const before = pool.stats();
    const sql = `SELECT name AS round${round} FROM t WHERE id = ?`;
    for (let i = 0; i < 20_000; i++) await pool.get(sql, [1 + (i % 1000)]);
    const after = pool.stats();
    assert.ok(after.inlineReads - before.inlineReads > 0, 'reads ran inline');
    sentToReaders.push(after.readBatches.requests - before.readBatches.requests);
  }
  // Before, each spent turn (every 0.5 ms of reads) sent its next read to a reader: ~1 per ms, over 100 per round.
  assert.equal(sentToReaders.at(-1), 0, `reads sent to readers per round: ${sentToReaders.join(', ')}`);
});

test('a read waiting for the next turn is answered before close() settles, and fails when the pool is destroyed', async (t) => {
  for (const end of ['close', 'destroy'] as const) {
    const pool = await seeded(t);
    // Issued in one turn: reads run here until the turn's budget is spent, one waits for the next turn, the rest go to readers.
    const reads = Array.from({ length: 300 }, (_, i) => pool.get<{ name: string }>('SELECT name FROM t WHERE id = ?', [1 + i]));
    const ended = end === 'close' ? pool.close() : pool.destroy();
    const outcomes = await Promise.race([
      Promise.allSettled(reads),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${end}: a read never settled`)), 10_000)),
    ]);
    await ended;
    if (end === 'close') {
      assert.deepEqual(
        outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : outcome.reason)),
        Array.from({ length: 300 }, (_, i) => ({ name: `row ${1 + i}` })),
      );
    } else {
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected') assert.ok(outcome.reason instanceof PoolClosedError, String(outcome.reason));
        else assert.match(outcome.value?.name ?? '', /^row \d+$/);
      }
    }
    assert.equal(pool.stats().state, 'closed');
  }
});

test('an error is the one a reader gives, and the statement then goes to readers', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'errors.db');
  const inline = await seeded(t, {}, file);
  const threaded = await seeded(t, { inlineReads: false }, file);
  const cases: [string, number[]][] = [
    ['SELECT * FROM t WHERE id = ? AND name = ?', [1]],
    ['SELECT * FROM missing_table', []],
    ['SELECT * FROM t WHERE id = :id', [1, 2]],
  ];
  for (const [sql, params] of cases) {
    const expected = await threaded.get(sql, params).then(
      () => assert.fail(`${sql} should fail`),
      (error: unknown) => error as Error,
    );
    for (let i = 0; i < 2; i++) {
      await assert.rejects(inline.get(sql, params), (error: Error) => {
        assert.equal(error.constructor, expected.constructor, sql);
        assert.equal(error.message, expected.message, sql);
        assert.equal((error as { code?: unknown }).code, (expected as { code?: unknown }).code, sql);
        return true;
      });
    }
  }
});

test('pools that cannot read inline never do: the option off, a setup module, the mutex strategy, holds with a cache epoch', async (t) => {
  const dir = tempDir(t);
  const setup = join(dir, 'setup.mjs');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(setup, 'export function setup(db) { db.function("twice", (x) => 2 * x); }\n');
  // A custom strategy whose holds carry a cache epoch (as a cross-host lock's do): its reads need a reader.
  const base = wal();
  const epochs: Strategy = {
    name: 'wal-with-epochs',
    capabilities: base.capabilities,
    journalMode: base.journalMode,
    writeBatching: base.writeBatching,
    pragmas: () => base.pragmas(),
    init: (context) => base.init(context),
    acquire: () => ({ epoch: 1, signal: undefined, release() {} }),
    close: () => base.close(),
  };
  const variants: Partial<PoolOptions>[] = [{ inlineReads: false }, { setup }, { strategy: 'mutex' }, { strategy: epochs }];
  for (const [i, options] of variants.entries()) {
    const pool = createPool({ filename: join(dir, `off${i}.db`), readers: 1, ...options });
    t.after(() => pool.destroy());
    await pool.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
    for (let n = 0; n < 50; n++) assert.deepEqual(await pool.get('SELECT x FROM t'), { x: 1 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (let n = 0; n < 50; n++) assert.deepEqual(await pool.get('SELECT x FROM t'), { x: 1 });
    assert.equal(pool.stats().inlineReads, 0, String(i));
  }
  assert.throws(() => createPool({ filename: join(dir, 'bad.db'), inlineReads: 'yes' as unknown as boolean }), OptionsError);
});

test('a process whose pool read inline exits once the pool is closed (the read watch does not keep it alive), also while the watch starts', (t) => {
  const script = join(import.meta.dirname, 'helpers', 'inline-exit.mjs');
  // A process kept alive would be killed by the timeout: the status is then null.
  const result = spawnSync(process.execPath, [script, tempDir(t)], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(result.status, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout), { inline: true });
  // Ended while the watch's thread starts: terminating a thread inside better-sqlite3's addon setup aborted the process.
  for (let run = 0; run < 6; run++) {
    const early = spawnSync(process.execPath, [script, tempDir(t), 'early'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(early.status, 0, `run ${run}: ${early.stderr}`);
  }
});

test('eight callers reading in a loop keep reading on the calling thread: the reads one turn sends to readers do not turn inline reads off', async (t) => {
  const pool = await seeded(t, { readers: 2 });
  const seen: string[] = [];
  // A loaded machine can push a read past the watch's budget, and its SQL then goes to readers for a while: a new
  // SQL text per round, and a round where most reads ran here is enough (with the old threshold none did: 0-10 of 2,000).
  for (let round = 0; round < 4; round++) {
    const before = pool.stats().inlineReads;
    let reads = 0;
    const loop = async (): Promise<void> => {
      for (let i = 0; i < 250; i++) {
        await pool.get(`SELECT name FROM t WHERE id = ? AND ${round} = ${round}`, [1 + ((reads * 7) % 1000)]);
        reads++;
      }
    };
    await Promise.all(Array.from({ length: 8 }, loop));
    const inline = pool.stats().inlineReads - before;
    seen.push(`${inline} of ${reads}`);
    // A turn's 0.5 ms budget sends some reads to readers; with fewer than 16 out, the next reads run here again.
    if (inline > reads / 4) return;
  }
  assert.fail(`reads that ran on the calling thread, per round: ${seen.join(', ')}`);
});
