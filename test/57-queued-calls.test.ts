/**
 * Calls queued at once through the node-sqlite3 drop-in, as bulk-insert code
 * and node-sqlite3's own test setup queue them (a loop of `stmt.run` without
 * waiting): they all run, in order, and each holds little until it does.
 * Node only (not a core suite): the memory check reads V8's heap.
 */
import { type Sqlite3Error } from '@litepool/core/sqlite3';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { get, openDb, run } from './helpers/sqlite3.js';

describe('node-sqlite3 drop-in: calls queued at once', () => {
  for (const via of ['a prepared statement', 'db.run'] as const) {
    test(`a queued call is a small record with its text flat: 20,000 inserts through ${via} in a transaction, 60 characters appended one by one, hold under 1.1 KB each until they run`, async (t) => {
      // V8 keeps a string built by appending as a chain of pieces (~25 bytes a character); node-sqlite3 copies a call's
      // values at once, the drop-in holds them until the call runs (3.1 KB a call here before they were flattened), and
      // each call was a link of promises and closures until it reached the front (2.0 KB a call before it was a
      // record; 2.4 KB through db.run, with a one-shot Statement besides).
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as () => void;
      const db = await openDb(t);
      await run(db, 'CREATE TABLE t (id INTEGER, txt TEXT)');
      await run(db, 'BEGIN');
      const insert = db.prepare('INSERT INTO t VALUES (?, ?)');
      const count = 20_000;
      const letters = 'abcdefghijklmnopqrstuvwxyz';
      gc();
      const before = process.memoryUsage().heapUsed;
      for (let i = 0; i < count; i++) {
        let text = '';
        for (let k = 0; k < 60; k++) text += letters[(i + k) % 26];
        if (via === 'db.run') db.run('INSERT INTO t VALUES (?, ?)', i, text);
        else insert.run(i, text);
      }
      gc();
      const perCall = (process.memoryUsage().heapUsed - before) / count;
      await new Promise<void>((resolve) => insert.finalize(() => resolve()));
      await run(db, 'COMMIT');
      assert.ok(perCall < 1_100, `${Math.round(perCall)} bytes per queued call`);
      assert.deepEqual(await get(db, 'SELECT count(*) AS n, max(length(txt)) AS len, min(length(txt)) AS least FROM t'), {
        n: count,
        len: 60,
        least: 60,
      });
    });
  }

  test('a parallel loop past the calls a Database keeps started: every call answers, reads see the writes issued before them, and the rest wait as small records', async (t) => {
    // Every parallel call once started at once, each holding ~1.9 KB of promises and closures while it waited in the
    // pool: a loop of a million ran the process out of heap. Past 10,000 unanswered, calls wait as records.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const db = await openDb(t);
    await run(db, 'CREATE TABLE t (v INTEGER)');
    const insert = db.prepare('INSERT INTO t VALUES (?)');
    const lookup = db.prepare('SELECT v FROM t WHERE v = ?');
    const count = 60_000;
    let answered = 0;
    const failures: Sqlite3Error[] = [];
    const seen: { index: number; n: number }[] = [];
    const done = new Promise<void>((resolve) => {
      const answer = (err: Sqlite3Error | null): void => {
        if (err) failures.push(err);
        if (++answered === count + (2 * count) / 1000 + 2_000) resolve();
      };
      gc();
      const before = process.memoryUsage().heapUsed;
      for (let i = 0; i < count; i++) {
        if (i % 2 === 0) insert.run(i, answer);
        else db.run('INSERT INTO t VALUES (?)', i, answer);
        if (i % 1000 === 999) {
          db.get('SELECT count(*) AS n FROM t', (err: Sqlite3Error | null, row: { n: number }) => {
            if (!err) seen.push({ index: i, n: row.n });
            answer(err);
          });
          // A prepared statement's reads, each with new values: one after another, as its own calls always run.
          lookup.get(i, (err: Sqlite3Error | null, row?: { v: number }) => {
            if (!err && row?.v !== i) failures.push(new Error(`lookup of ${i} answered ${JSON.stringify(row)}`) as Sqlite3Error);
            answer(err);
          });
        }
      }
      // Then a burst of one statement's reads in a row, past the cap too.
      for (let k = 0; k < 2_000; k++) {
        lookup.get(k, (err: Sqlite3Error | null, row?: { v: number }) => {
          if (!err && row?.v !== k) failures.push(new Error(`lookup of ${k} answered ${JSON.stringify(row)}`) as Sqlite3Error);
          answer(err);
        });
      }
      gc();
      const perCall = (process.memoryUsage().heapUsed - before) / count;
      assert.ok(perCall < 1_200, `${Math.round(perCall)} bytes per call queued (1.9 KB each when every call started at once)`);
    });
    await done;
    await new Promise<void>((resolve) => insert.finalize(() => resolve()));
    await new Promise<void>((resolve) => lookup.finalize(() => resolve()));
    assert.deepEqual(failures, []);
    assert.equal(seen.length, count / 1000);
    assert.ok(
      seen.every(({ index, n }) => n >= index + 1),
      'each read sees the writes issued before it',
    );
    assert.equal((await get<{ n: number }>(db, 'SELECT count(*) AS n FROM t')).n, count);
  });

  test('thousands of calls queued at once run in order: serialized writes, then parallel reads each after the writes before it', async (t) => {
    // Each serialized call once waited for every call in flight, and each read for every write: 10,000 calls queued in
    // one loop made 50 million waits and ran the process out of memory.
    const db = await openDb(t);
    await run(db, 'CREATE TABLE t (v INTEGER)');
    const count = 12_000;
    const insert = db.prepare('INSERT INTO t VALUES (?)');
    const order: number[] = [];
    db.serialize(() => {
      for (let i = 0; i < count; i++) insert.run(i, (err: Sqlite3Error | null) => (err ? assert.fail(err) : order.push(i)));
    });
    const seen: number[] = [];
    const reads: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      db.run('INSERT INTO t VALUES (?)', count + i);
      reads.push(
        new Promise((resolve, reject) =>
          db.get('SELECT count(*) AS n FROM t', (err: Sqlite3Error | null, row: { n: number }) => {
            if (err) return reject(err);
            seen[i] = row.n; // by the read's place in the loop: reads answer in any order
            resolve();
          }),
        ),
      );
    }
    await Promise.all(reads);
    await new Promise<void>((resolve) => insert.finalize(() => resolve()));
    assert.deepEqual(
      order,
      Array.from({ length: count }, (_, i) => i),
    );
    assert.ok(
      seen.every((n, i) => n >= count + i + 1),
      'each read sees the writes queued before it',
    );
    assert.equal((await get<{ n: number }>(db, 'SELECT count(*) AS n FROM t')).n, 2 * count);
  });
});
