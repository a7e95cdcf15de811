/**
 * pool.backup(): SQLite's online backup API from one snapshot (writers go on
 * beside it), in steps with progress, or VACUUM INTO; stopped by a signal.
 */
import { createPool } from '@litepool/core';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { holdExclusively } from './helpers/exclusive-holder.mjs';
import { tempDir } from './helpers/temp.js';

const rowsIn = (file: string): number => {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n;
  } finally {
    db.close();
  }
};

describe('pool.backup', () => {
  test('the backup API in steps reports progress, copies one snapshot while a writer goes on, and -1 copies all at once', async (t) => {
    const dir = tempDir(t);
    const pool = createPool({ filename: join(dir, 'source.db'), strategy: 'wal' });
    t.after(() => pool.close());
    await pool.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, pad TEXT)');
    await pool.transaction(async (tx) => {
      for (let i = 0; i < 2000; i++) await tx.run('INSERT INTO t (pad) VALUES (?)', ['x'.repeat(500)]);
    });
    const steps: number[] = [];
    let writes = 0;
    const writing = (async () => {
      while (steps.length === 0 || steps.at(-1)! > 0) {
        await pool.run('INSERT INTO t (pad) VALUES (?)', ['late']);
        writes++;
        if (writes > 5000) break;
      }
    })();
    const result = await pool.backup(join(dir, 'stepped.db'), { pagesPerStep: 5, progress: (p) => steps.push(p.remainingPages) });
    await writing;
    assert.equal(result.remainingPages, 0);
    assert.ok(result.totalPages > 100);
    assert.ok(steps.length > 10, `progress after each step (${steps.length} reports)`);
    assert.ok(writes > 0, 'the writer went on during the backup');
    assert.ok(
      steps.every((remaining, i) => i === 0 || remaining <= steps[i - 1]!),
      'the copy never restarted (remaining pages only went down)',
    );
    const copied = rowsIn(join(dir, 'stepped.db'));
    assert.ok(copied >= 2000 && copied < 2000 + writes, `one snapshot, taken when the backup started (${copied} rows)`);

    const whole = await pool.backup(join(dir, 'whole.db'), { pagesPerStep: -1 });
    assert.equal(whole.remainingPages, 0);
    assert.equal(rowsIn(join(dir, 'whole.db')), 2000 + writes);
    // Restored: a pool on the copy holds exactly what the source holds.
    const restored = createPool({ filename: join(dir, 'whole.db') });
    t.after(() => restored.close());
    assert.deepEqual(await restored.all('PRAGMA integrity_check'), [{ integrity_check: 'ok' }]);
    assert.deepEqual(await restored.all('SELECT id, pad FROM t ORDER BY id'), await pool.all('SELECT id, pad FROM t ORDER BY id'));
  });

  test('a small database’s one-step backup runs on the idle writer while no reader is open (no reader starts); a backup in steps opens a reader', async (t) => {
    const dir = tempDir(t);
    const pool = createPool({ filename: join(dir, 'young.db'), readers: 2 });
    t.after(() => pool.close());
    await pool.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, pad TEXT); INSERT INTO t (pad) VALUES ('a'), ('b'), ('c')");
    assert.equal(pool.stats().readers, 0, 'writes opened no reader');
    const whole = await pool.backup(join(dir, 'whole.db'), { pagesPerStep: -1 });
    assert.equal(whole.remainingPages, 0);
    assert.equal(rowsIn(join(dir, 'whole.db')), 3);
    assert.equal(pool.stats().readers, 0, 'the one-step backup ran on the writer');
    // In steps, writers go on between them: on a reader.
    await pool.backup(join(dir, 'stepped.db'), { pagesPerStep: 1 });
    assert.equal(rowsIn(join(dir, 'stepped.db')), 3);
    assert.ok(pool.stats().readers >= 1, 'the stepped backup opened a reader');
  });

  test('VACUUM INTO makes a compacted copy; it refuses an existing destination; a bad pagesPerStep is refused', async (t) => {
    const dir = tempDir(t);
    const pool = createPool({ filename: join(dir, 'source.db') });
    t.after(() => pool.close());
    await pool.exec('CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (1), (2), (3)');
    const destination = join(dir, 'vacuumed.db');
    await pool.backup(destination, { method: 'vacuum' });
    assert.equal(rowsIn(destination), 3);
    await assert.rejects(pool.backup(destination, { method: 'vacuum' }), { code: 'SQLITE_ERROR' });
    await assert.rejects(pool.backup(join(dir, 'x.db'), { pagesPerStep: 0 }), { code: 'ERR_INVALID_OPTIONS' });
    assert.equal(existsSync(join(dir, 'x.db')), false);
  });

  test("a session's TEMP objects and ATTACHed databases: session.backup copies them (schema) from the writer; the pool refuses such a schema", async (t) => {
    const dir = tempDir(t);
    const pool = createPool({ filename: join(dir, 'source.db'), strategy: 'wal' });
    t.after(() => pool.close());
    await pool.exec("CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('main')");
    const session = pool.session();
    await session.exec("CREATE TEMP TABLE t (v TEXT); INSERT INTO temp.t VALUES ('temp 1'), ('temp 2')");
    const other = join(dir, 'other.db');
    const seed = new BetterSqlite3(other);
    seed.exec("CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('a'), ('b'), ('c')");
    seed.close();
    await session.exec(`ATTACH '${other}' AS other`);
    const copied = (schema: string): Promise<unknown> => session.backup(join(dir, `copy-${schema}.db`), { schema, pagesPerStep: 1 });
    for (const schema of ['temp', 'other', 'main']) await copied(schema);
    assert.equal(rowsIn(join(dir, 'copy-temp.db')), 2);
    assert.equal(rowsIn(join(dir, 'copy-other.db')), 3);
    assert.equal(rowsIn(join(dir, 'copy-main.db')), 1);
    // SQLite's VACUUM of temp does nothing (INTO a file too): refused rather than leaving no copy.
    await assert.rejects(session.backup(join(dir, 'temp-vacuum.db'), { schema: 'temp', method: 'vacuum' }), {
      code: 'ERR_INVALID_ARGUMENT',
    });
    await session.backup(join(dir, 'other-vacuum.db'), { schema: 'other', method: 'vacuum' });
    assert.equal(rowsIn(join(dir, 'other-vacuum.db')), 3);
    await assert.rejects(pool.backup(join(dir, 'x.db'), { schema: 'temp' }), {
      code: 'ERR_INVALID_ARGUMENT',
      message: /session that made it/,
    });
    await assert.rejects(pool.session().backup(join(dir, 'y.db'), { schema: 'other' }), { code: 'ERR_INVALID_ARGUMENT' });
    await assert.rejects(pool.backup(join(dir, 'z.db'), { schema: '' }), { code: 'ERR_INVALID_OPTIONS' });
    assert.equal(existsSync(join(dir, 'x.db')) || existsSync(join(dir, 'y.db')), false);
  });

  test('a backup on the writer queued behind a transaction runs after its COMMIT, alone', async (t) => {
    const dir = tempDir(t);
    const pool = createPool({ filename: join(dir, 'source.db'), strategy: 'wal' });
    t.after(() => pool.close());
    await pool.exec('CREATE TABLE t (v INTEGER)');
    // A session with a TEMP table runs on the writer: its backup waits there for its transaction.
    const session = pool.session();
    await session.exec('CREATE TEMP TABLE scratch (v)');
    for (let i = 0; i < 3; i++) {
      const tx = session.transaction(async (tx) => void (await tx.run('INSERT INTO t VALUES (?)', [i])));
      const copy = session.backup(join(dir, `copy-${i}.db`), { pagesPerStep: -1 });
      await tx;
      assert.equal((await copy).remainingPages, 0);
      assert.equal(rowsIn(join(dir, `copy-${i}.db`)), i + 1);
    }
  });

  test('an aborted signal stops it with ABORT_ERR', async (t) => {
    const dir = tempDir(t);
    const pool = createPool({ filename: join(dir, 'source.db') });
    t.after(() => pool.close());
    await pool.exec('CREATE TABLE t (v INTEGER)');
    await assert.rejects(pool.backup(join(dir, 'copy.db'), { signal: AbortSignal.abort() }), { code: 'ABORT_ERR' });
    assert.equal(existsSync(join(dir, 'copy.db')), false);
    // Aborted at any later moment: either nothing was written, or the copy ran to its end and the backup resolved.
    await pool.run('INSERT INTO t VALUES (1)');
    for (let i = 0; i < 9; i++) {
      const file = join(dir, `copy-${i}.db`);
      const controller = new AbortController();
      const copying = pool.backup(file, { pagesPerStep: 1, signal: controller.signal });
      for (let turn = 0; turn < i % 3; turn++) await new Promise((resolve) => setImmediate(resolve));
      controller.abort();
      const outcome = await copying.then(
        () => 'resolved',
        (error: Error & { code?: string }) => error.code,
      );
      if (outcome === 'resolved') assert.equal(rowsIn(file), 1, `attempt ${i}`);
      else assert.equal(outcome, 'ABORT_ERR', `attempt ${i}`);
    }
  });

  test('a signal aborted once the copy has started (at its first step) does not stop it: the backup resolves with the whole copy', async (t) => {
    const dir = tempDir(t);
    const pool = createPool({ filename: join(dir, 'source.db') });
    t.after(() => pool.close());
    await pool.exec(
      "CREATE TABLE t (v TEXT); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) INSERT INTO t SELECT printf('%0400d', i) FROM n",
    );
    for (let i = 0; i < 3; i++) {
      const controller = new AbortController();
      const file = join(dir, `copy-${i}.db`);
      // The signal stops only the wait for a connection (BackupOptions.signal): once stepping, the copy goes to its end.
      const done = await pool.backup(file, { pagesPerStep: 1, signal: controller.signal, progress: () => controller.abort() });
      assert.equal(done.remainingPages, 0);
      assert.equal(rowsIn(file), 200, `attempt ${i}`);
    }
  });
});

test('a destination another process holds exclusively: the backup fails with SQLITE_BUSY after busyTimeoutMs and writes nothing; once released it succeeds', async (t) => {
  const dir = tempDir(t);
  const pool = createPool({ filename: join(dir, 'source.db') });
  t.after(() => pool.close());
  await pool.exec("CREATE TABLE t (v); INSERT INTO t VALUES ('a'), ('b')");
  const destination = join(dir, 'dest.db');
  const holder = await holdExclusively(destination);
  t.after(() => holder.kill());
  await assert.rejects(pool.backup(destination, { busyTimeoutMs: 50 }), { code: 'SQLITE_BUSY' });
  await holder.release();
  const copyBefore = new BetterSqlite3(destination, { readonly: true });
  assert.deepEqual(copyBefore.prepare("SELECT name FROM sqlite_master WHERE name = 't'").all(), [], 'the failed backup wrote nothing');
  copyBefore.close();
  await pool.backup(destination);
  const copy = new BetterSqlite3(destination, { readonly: true });
  t.after(() => copy.close());
  assert.deepEqual(copy.prepare('SELECT v FROM t ORDER BY v').all(), [{ v: 'a' }, { v: 'b' }]);
});
