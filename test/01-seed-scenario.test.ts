/**
 * The seed scenario: 64 async handlers, each doing read-modify-write
 * increments with an await between the read and the write.
 */
import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testPool, tick } from './helpers/pool.js';
import { tempDb } from './helpers/temp.js';

const HANDLERS = 64;
const INCREMENTS = 50;

test('pool.transaction: 64 handlers x 50 increments across an await end exact, with no failed call', async (t) => {
  const pool = testPool(t);
  await pool.exec('CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL); INSERT INTO counter VALUES (1, 0)');
  const failures: unknown[] = [];
  await Promise.all(
    Array.from({ length: HANDLERS }, async () => {
      for (let i = 0; i < INCREMENTS; i++) {
        try {
          await pool.transaction(async (tx) => {
            const row = await tx.get<{ n: number }>('SELECT n FROM counter WHERE id = 1');
            await tick(); // the await that lets every other handler run
            await tx.run('UPDATE counter SET n = ? WHERE id = 1', [row!.n + 1]);
          });
        } catch (error) {
          failures.push(error);
        }
      }
    }),
  );
  assert.deepEqual(failures, []);
  assert.deepEqual(await pool.get('SELECT n FROM counter WHERE id = 1'), { n: HANDLERS * INCREMENTS });
});

test('one shared better-sqlite3 connection with BEGIN/COMMIT across the await really fails', async (t) => {
  const db = new Database(tempDb(t));
  t.after(() => db.close());
  db.exec('CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL); INSERT INTO counter VALUES (1, 0)');
  let errors = 0;
  await Promise.all(
    Array.from({ length: HANDLERS }, async () => {
      for (let i = 0; i < INCREMENTS; i++) {
        try {
          db.exec('BEGIN');
          const row = db.prepare('SELECT n FROM counter WHERE id = 1').get() as { n: number };
          await tick();
          db.prepare('UPDATE counter SET n = ? WHERE id = 1').run(row.n + 1);
          db.exec('COMMIT');
        } catch {
          errors++; // "cannot start a transaction within a transaction", "cannot commit - no transaction is active"
        }
      }
    }),
  );
  if (db.inTransaction) db.exec('COMMIT');
  const { n } = db.prepare('SELECT n FROM counter WHERE id = 1').get() as { n: number };
  const lost = HANDLERS * INCREMENTS - errors - n;
  t.diagnostic(`naive: ${errors} failed calls, final ${n} of ${HANDLERS * INCREMENTS}, ${lost} lost updates`);
  assert.ok(errors > 0 || n !== HANDLERS * INCREMENTS, 'the naive version should fail or lose updates');
  assert.ok(errors > 0, 'interleaved BEGINs on one connection raise errors');
});
