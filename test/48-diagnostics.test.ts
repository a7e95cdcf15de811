/**
 * node:diagnostics_channel (issue 19): each call, transaction, lock wait,
 * batch, transaction group and replaced connection is published, with the
 * documented context, on the documented channel names; nothing when no one
 * subscribes.
 */
import { diagnosticsChannels, type ConnectionReplacedMessage, type QueryTrace } from '@litepool/core';
import assert from 'node:assert/strict';
import { channel, tracingChannel } from 'node:diagnostics_channel';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { testPool } from './helpers/pool.js';
import { tempDir } from './helpers/temp.js';

type Event = [kind: string, context: Record<string, unknown>];

/** Subscribes to the tracing channel `name` for the test's length; the events seen, in order. */
function trace(t: TestContext, name: string): Event[] {
  const events: Event[] = [];
  const record = (kind: string) => (context: unknown) => events.push([kind, { ...(context as Record<string, unknown>) }]);
  const handlers = {
    start: record('start'),
    end: record('end'),
    asyncStart: record('asyncStart'),
    asyncEnd: record('asyncEnd'),
    error: record('error'),
  };
  tracingChannel(name).subscribe(handlers);
  t.after(() => tracingChannel(name).unsubscribe(handlers));
  return events;
}

/** Subscribes to the plain channel `name` for the test's length. */
function listen(t: TestContext, name: string): Record<string, unknown>[] {
  const messages: Record<string, unknown>[] = [];
  const onMessage = (message: unknown): void => void messages.push(message as Record<string, unknown>);
  channel(name).subscribe(onMessage);
  t.after(() => channel(name).unsubscribe(onMessage));
  return messages;
}

test('litepool:query traces each one-shot call and procedure: start, asyncEnd with the result, error with the failure', async (t) => {
  const procedures = join(tempDir(t), 'procedures.mjs');
  writeFileSync(procedures, 'export function answer(db) { return db.prepare("SELECT 42 AS n").get(); }\n');
  const pool = testPool(t, { procedures });
  const events = trace(t, 'litepool:query');
  await pool.exec('CREATE TABLE t (v INTEGER)');
  await pool.run('INSERT INTO t VALUES (?)', [1]);
  assert.deepEqual(await pool.get('SELECT v FROM t'), { v: 1 });
  assert.deepEqual(await pool.call('answer'), { n: 42 });
  await assert.rejects(pool.get('SELECT nope FROM t'), { code: 'SQLITE_ERROR' });
  const starts = events.filter(([kind]) => kind === 'start').map(([, context]) => [context.op, context.sql]);
  assert.deepEqual(starts, [
    ['exec', 'CREATE TABLE t (v INTEGER)'],
    ['run', 'INSERT INTO t VALUES (?)'],
    ['get', 'SELECT v FROM t'],
    ['call', 'answer'],
    ['get', 'SELECT nope FROM t'],
  ]);
  for (const [, context] of events) assert.equal(context.database, pool.options.filename);
  const ends = events.filter(([kind]) => kind === 'asyncEnd').map(([, context]) => context as unknown as QueryTrace);
  assert.equal(ends.length, 5);
  assert.deepEqual(ends[2]!.result, { v: 1 });
  const errors = events.filter(([kind]) => kind === 'error');
  assert.equal(errors.length, 1);
  assert.equal((errors[0]![1].error as { code: string }).code, 'SQLITE_ERROR');
  assert.ok(!('params' in events[1]![1]), 'parameters are not published');
});

test('litepool:transaction, litepool:transaction-group and litepool:batch: transactions, groups and batches as they run', async (t) => {
  // Reads go to a reader (not the calling thread), so that a reader's batch is seen.
  const pool = testPool(t, { strategy: { name: 'single-writer', groupTransactions: true }, inlineReads: false });
  const transactions = trace(t, 'litepool:transaction');
  const groups = listen(t, 'litepool:transaction-group');
  const batches = listen(t, 'litepool:batch');
  await pool.exec('CREATE TABLE t (v INTEGER)');
  const gate = await pool.acquire({ write: true });
  const queued = [
    pool.transaction((tx) => tx.run('INSERT INTO t VALUES (1)')),
    pool.transaction(async (tx) => {
      await tx.run('INSERT INTO t VALUES (2)');
      throw new Error('member 2 fails');
    }),
    pool.transaction((tx) => tx.run('INSERT INTO t VALUES (3)')),
  ];
  await gate.release();
  const settled = await Promise.allSettled(queued);
  assert.deepEqual(
    settled.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  await pool.transaction((tx) => tx.get('SELECT 1'), { mode: 'read' });
  const starts = transactions.filter(([kind]) => kind === 'start').map(([, context]) => [context.mode, context.grouped]);
  assert.deepEqual(starts, [
    ['immediate', true],
    ['immediate', true],
    ['immediate', true],
    ['read', false],
  ]);
  assert.equal(transactions.filter(([kind]) => kind === 'error').length, 1);
  assert.deepEqual(
    groups.map(({ members, committed }) => ({ members, committed })),
    [{ members: 3, committed: 2 }],
  );
  await Promise.all([pool.run('INSERT INTO t VALUES (4)'), pool.run('INSERT INTO t VALUES (5)'), pool.get('SELECT 1')]);
  // A batch is published once its connection has answered all of it, which can be after its callers resume (later still
  // on a loaded machine): wait, bounded in time, until the reader's batch and the writer's three requests are in.
  const readerBatch = (): boolean => batches.some((batch) => batch.role === 'reader' && batch.group === false);
  const writerRequests = (): number =>
    batches.filter((batch) => batch.role === 'writer').reduce((sum, batch) => sum + (batch.requests as number), 0);
  const deadline = Date.now() + 5000;
  while ((!readerBatch() || writerRequests() < 3) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const writes = batches.filter((batch) => batch.role === 'writer');
  assert.ok(writes.length >= 1 && writes.every((batch) => batch.group === true && typeof batch.durationMs === 'number'));
  assert.ok(readerBatch(), "the reader's batch was published");
  // The writer's batches carry CREATE TABLE and the two INSERTs (the transactions lease their connection: no batches).
  assert.equal(writerRequests(), 3);
});

test('litepool:lock-wait traces a dispatch that waits for the strategy lock; litepool:connection-replaced a crashed worker', async (t) => {
  const procedures = join(tempDir(t), 'procedures.mjs');
  writeFileSync(procedures, 'export function die() { process.exit(3); }\n');
  const pool = testPool(t, { strategy: 'mutex', procedures, readers: 1 });
  const waits = trace(t, 'litepool:lock-wait');
  const replaced = listen(t, 'litepool:connection-replaced');
  await pool.exec('CREATE TABLE t (v INTEGER)');
  // The mutex strategy lets one connection in at a time: a read waits while a write lease holds it.
  const held = await pool.acquire({ write: true });
  const read = pool.get('SELECT count(*) AS n FROM t');
  await new Promise((resolve) => setTimeout(resolve, 50));
  await held.release();
  assert.deepEqual(await read, { n: 0 });
  const started = waits.filter(([kind]) => kind === 'start').map(([, context]) => context);
  assert.ok(
    started.some((context) => context.strategy === 'mutex' && context.access === 'read'),
    JSON.stringify(started),
  );
  await assert.rejects(pool.call('die'), { code: 'ERR_WORKER_CRASHED' });
  assert.equal(replaced.length, 1);
  const [message] = replaced as unknown as ConnectionReplacedMessage[];
  assert.equal(message!.role, 'writer');
  assert.equal((message!.error as { code?: string }).code, 'ERR_WORKER_CRASHED');
  assert.deepEqual(await pool.get('SELECT 1 AS one'), { one: 1 });
});

test('the exported channels are the named ones; with no subscriber nothing is traced', async (t) => {
  assert.equal(diagnosticsChannels.query.start.name, 'tracing:litepool:query:start');
  assert.equal(diagnosticsChannels.batch.name, 'litepool:batch');
  assert.equal(diagnosticsChannels.query.hasSubscribers, false);
  const pool = testPool(t);
  assert.deepEqual(await pool.get('SELECT 1 AS one'), { one: 1 });
});
