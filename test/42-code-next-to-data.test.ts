/**
 * Code next to the data (issue 15): a setup module run on every connection
 * (user functions, aggregates, virtual tables, a real extension from npm),
 * procedures called by name (write ones in a transaction on the writer,
 * read-only ones on readers, errors kept), and prepared statements.
 */
import { connectClient, createPool, SetupError, type Pool } from '@litepool/core';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, test, type TestContext } from 'node:test';
import { within } from './helpers/pool.js';
import { tempDb } from './helpers/temp.js';

const fixture = (name: string): URL => pathToFileURL(join(import.meta.dirname, 'fixtures', 'db-code', name));

function pool(t: TestContext, options: Partial<Parameters<typeof createPool>[0]> = {}): Pool {
  const made = createPool({ filename: tempDb(t), readers: 2, ...options });
  t.after(() => made.close());
  return made;
}

describe('setup modules', () => {
  test('a user function, an aggregate and a virtual table work on readers and on the writer', async (t) => {
    const p = pool(t, { setup: fixture('setup.mjs') });
    await p.exec('CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (2), (3), (7)');
    assert.deepEqual(await p.get('SELECT double_it(21) AS v'), { v: 42 });
    assert.deepEqual(await p.get('SELECT product(v) AS p FROM t'), { p: 42 });
    assert.deepEqual(await p.all('SELECT n FROM numbers(3)'), [{ n: 1 }, { n: 2 }, { n: 3 }]);
    const roles = new Set<string>();
    await Promise.all(Array.from({ length: 20 }, async () => roles.add((await p.get<{ r: string }>('SELECT connection_role() AS r'))!.r)));
    roles.add((await p.transaction((tx) => tx.get<{ r: string }>('SELECT connection_role() AS r')))!.r);
    assert.deepEqual([...roles].sort(), ['reader', 'writer']);
    await p.run('UPDATE t SET v = double_it(v) WHERE v = 7');
    assert.deepEqual(await p.get('SELECT max(v) AS v FROM t'), { v: 14 });
  });

  test('an extension from an npm package (sqlite-vec) loaded in setup answers a vector query through the pool', async (t) => {
    const p = pool(t, { setup: fixture('setup.mjs') });
    assert.match((await p.get<{ v: string }>('SELECT vec_version() AS v'))!.v, /^v\d/);
    await p.exec('CREATE VIRTUAL TABLE items USING vec0(embedding float[3])');
    await p.transaction(async (tx) => {
      const vectors: [number, number[]][] = [
        [1, [1, 0, 0]],
        [2, [0, 1, 0]],
        [3, [0.9, 0.1, 0]],
      ];
      for (const [id, vector] of vectors)
        await tx.run('INSERT INTO items (rowid, embedding) VALUES (?, ?)', [BigInt(id), JSON.stringify(vector)]);
    });
    const nearest = await p.all<{ rowid: number }>('SELECT rowid FROM items WHERE embedding MATCH ? ORDER BY distance LIMIT 2', [
      JSON.stringify([1, 0, 0]),
    ]);
    assert.deepEqual(
      nearest.map((row) => row.rowid),
      [1, 3],
    );
  });

  test('setup runs again on a reopened connection (a file-lock pool reopens for each hold)', async (t) => {
    const p = pool(t, { setup: fixture('setup.mjs'), strategy: 'file-lock', readers: 0 });
    const first = (await p.get<{ n: number }>('SELECT setup_runs() AS n'))!.n;
    await p.run('CREATE TABLE IF NOT EXISTS t (v)');
    const later = (await p.get<{ n: number }>('SELECT setup_runs() AS n'))!.n;
    assert.ok(first >= 1 && later >= first, `setup ran on each open (${first}, then ${later})`);
    assert.deepEqual(await p.get('SELECT double_it(2) AS v'), { v: 4 });
  });

  test('a setup that throws fails the callers with ERR_SETUP naming the module; the next call tries again, without a crash loop', async (t) => {
    const p = pool(t, { setup: fixture('broken-setup.mjs') });
    for (let i = 0; i < 3; i++) {
      const error = await p.get('SELECT 1').then(
        () => assert.fail('expected ERR_SETUP'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof SetupError);
      assert.equal(error.code, 'ERR_SETUP');
      assert.match(error.message, /broken-setup\.mjs threw on a writer connection: no license for this extension/);
    }
    assert.equal(p.stats().crashes, 0, 'no worker crashed');
  });

  test('a module without a setup export, or a path that does not exist, is refused clearly', async (t) => {
    const p = pool(t, { setup: fixture('missing-export.mjs') });
    await assert.rejects(p.get('SELECT 1'), { code: 'ERR_SETUP', message: /exports no function named setup/ });
    assert.throws(() => createPool({ filename: tempDb(t), setup: '/nowhere/setup.mjs' }), {
      code: 'ERR_INVALID_OPTIONS',
      message: /does not exist/,
    });
    assert.throws(() => createPool({ filename: tempDb(t), setup: 42 as never }), { code: 'ERR_INVALID_OPTIONS' });
  });
});

describe('procedures', () => {
  async function bank(t: TestContext, options: Partial<Parameters<typeof createPool>[0]> = {}): Promise<Pool> {
    const p = pool(t, { procedures: fixture('procedures.mjs'), ...options });
    await p.exec(
      'CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL); INSERT INTO accounts VALUES (1, 100), (2, 0); CREATE TABLE counters (id INTEGER PRIMARY KEY, n INTEGER NOT NULL); INSERT INTO counters VALUES (1, 0)',
    );
    return p;
  }

  for (const strategy of ['wal', 'single-writer'] as const) {
    test(`${strategy}: 64 callers x 20 increments through a procedure, exact; a throw rolls back only its own call`, async (t) => {
      const p = await bank(t, { strategy });
      await Promise.all(
        Array.from({ length: 64 }, async () => {
          for (let i = 0; i < 20; i++) await p.call('increment', 1);
        }),
      );
      assert.deepEqual(await p.get('SELECT n FROM counters WHERE id = 1'), { n: 1280 });
      const results = await Promise.allSettled([p.call('increment', 1), p.call('halfDone', 1), p.call('increment', 1)]);
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'rejected', 'fulfilled'],
      );
      assert.deepEqual(await p.get('SELECT n FROM counters WHERE id = 1'), { n: 1282 }, 'the failing call’s write was rolled back');
    });
  }

  test('return values come back (BLOBs as Buffers); errors keep their class, message and code', async (t) => {
    const p = await bank(t);
    assert.equal(await p.call('transfer', 1, 2, 30), 70);
    const funds = await p.call('transfer', 1, 2, 1000).catch((e: unknown) => e);
    assert.ok(funds instanceof RangeError);
    assert.equal((funds as RangeError & { code: string }).code, 'E_FUNDS');
    assert.match(funds.message, /account 1 has 70, needs 1000/);
    const domain = await p.call('domainFailure').catch((e: unknown) => e);
    assert.equal((domain as Error).name, 'DomainError');
    assert.equal((domain as Error & { code: string }).code, 'E_DOMAIN');
    const echoed = await p.call<{ length: number; echo: Buffer; role: string }>('blob', Buffer.from([1, 2, 3]));
    assert.deepEqual(echoed, { length: 3, echo: Buffer.from([1, 2, 3]), role: 'writer' });
    assert.ok(Buffer.isBuffer(echoed.echo));
    assert.deepEqual(await p.get('SELECT sum(balance) AS s FROM accounts'), { s: 100 });
  });

  test('read-only procedures run on readers; writing there fails with SQLITE_READONLY', async (t) => {
    const p = await bank(t);
    const places = new Set(await Promise.all(Array.from({ length: 10 }, () => p.call<string>('whereAmI'))));
    assert.deepEqual([...places], ['reader']);
    assert.equal(await p.call('total'), 100);
    await assert.rejects(p.call('tryToWrite'), { code: /^SQLITE_READONLY/ });
  });

  test('inside pool.transaction, tx.call nests in the transaction (rolled back with it)', async (t) => {
    const p = await bank(t);
    await p
      .transaction(async (tx) => {
        await tx.call('increment', 1);
        assert.deepEqual(await tx.get('SELECT n FROM counters'), { n: 1 });
        throw new Error('roll back');
      })
      .catch(() => {});
    assert.deepEqual(await p.get('SELECT n FROM counters'), { n: 0 });
    assert.equal(await p.transaction((tx) => tx.call('increment', 1)), 1);
  });

  test('unknown names, a pool without procedures, a function among the arguments and a promise returned are refused clearly', async (t) => {
    const p = await bank(t);
    await assert.rejects(p.call('nope'), { code: 'ERR_INVALID_ARGUMENT', message: /no such procedure.*exports .*transfer/ });
    await assert.rejects(
      p.call('transfer', 1, 2, () => 3),
      { code: 'ERR_INVALID_ARGUMENT', message: /could not be sent/ },
    );
    await assert.rejects(p.call('promised'), { message: /returned a promise/ });
    await assert.rejects(pool(t).call('transfer'), { code: 'ERR_INVALID_ARGUMENT', message: /no procedures module/ });
    assert.equal(await p.call('transfer', 1, 2, 1), 99, 'the pool still works');
  });

  test('a client in another thread calls procedures (connectClient)', async (t) => {
    const p = await bank(t);
    const port = p.connectPort();
    const worker = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
       import('@litepool/core').then(async ({ connectClient }) => {
         const client = connectClient(workerData.port);
         const left = await client.call('transfer', 1, 2, 10);
         const inTx = await client.transaction((tx) => tx.call('increment', 1));
         parentPort.postMessage({ left, inTx });
         client.close();
       });`,
      { eval: true, workerData: { port }, transferList: [port] },
    );
    t.after(() => worker.terminate());
    const answer = await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    assert.deepEqual(answer, { left: 90, inTx: 1 });
    assert.equal(typeof connectClient, 'function');
  });
});

describe('prepared statements', () => {
  test('run/get/all/values/iterate with parameters; reads go to readers, writes to the writer; a bad statement fails at prepare', async (t) => {
    // Inline reads off: with them, a quick machine answers every read on the calling thread and none reaches a reader.
    const p = pool(t, { inlineReads: false });
    await p.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    const insert = p.prepare('INSERT INTO t (v) VALUES (?)');
    for (const v of ['a', 'b', 'c']) await insert.run([v]);
    const byId = p.prepare('SELECT v FROM t WHERE id = ?');
    const reads = await Promise.all(Array.from({ length: 50 }, (_, i) => byId.get<{ v: string }>([(i % 3) + 1])));
    assert.deepEqual(
      reads.slice(0, 3).map((r) => r?.v),
      ['a', 'b', 'c'],
    );
    assert.deepEqual(await p.prepare('SELECT id, v FROM t ORDER BY id').values(), [
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
    ]);
    const rows: unknown[] = [];
    for await (const row of p.prepare('SELECT v FROM t WHERE id > ?').iterate([1])) rows.push(row);
    assert.deepEqual(rows, [{ v: 'b' }, { v: 'c' }]);
    assert.ok(p.stats().readBatches.requests > 0, 'reads ran on readers');
    assert.throws(() => p.prepare('BEGIN'), { code: 'ERR_TRANSACTION_CONTROL' });
    assert.throws(() => p.prepare(42 as never), { code: 'ERR_INVALID_ARGUMENT' });
    await assert.rejects(p.prepare('SELEC 1').get(), { code: 'SQLITE_ERROR' });
  });
});

describe('procedure results that do not travel as plain values', () => {
  test('a cyclic result arrives with its cycle; an unclonable one (a function, a Proxy) rejects with ERR_QUERY and its write is rolled back', async (t) => {
    const p = pool(t, { procedures: fixture('procedures.mjs') });
    await p.exec('CREATE TABLE counters (id INTEGER PRIMARY KEY, n INTEGER NOT NULL); INSERT INTO counters VALUES (1, 0)');
    const root = await p.call<{ name: string; self: unknown; children: { parent: unknown }[] }>('cyclic');
    assert.equal(root.self, root);
    assert.equal(root.children[0]?.parent, root);
    for (const what of ['function', 'proxy']) {
      await assert.rejects(p.call('unclonable', 1, what), { code: 'ERR_QUERY', message: /cannot be sent back.*rolled back/ });
      // Alone and in a group with another write: only the refused call is undone.
      const [refused, other] = await Promise.allSettled([p.call('unclonable', 1, what), p.run('UPDATE counters SET n = n + 10')]);
      assert.equal(refused.status, 'rejected');
      assert.equal(other.status, 'fulfilled');
    }
    assert.deepEqual(await p.get('SELECT n FROM counters'), { n: 20 });
    assert.equal(p.stats().crashes, 0);
  });
});

describe('procedures stuck in JavaScript (no interrupt reaches them)', () => {
  for (const [name, role] of [
    ['spin', 'the writer'],
    ['spinRead', 'a reader'],
  ] as const) {
    test(`${role}: the call fails with ERR_STATEMENT_TIMEOUT, its write is not there, the thread is replaced, writes go on, close() settles`, async (t) => {
      const p = pool(t, { procedures: fixture('procedures.mjs'), statementTimeoutMs: 300, closeTimeoutMs: 1_000 });
      await p.exec('CREATE TABLE t (v)');
      // The write procedure inserted a row before it got stuck, inside its transaction: never committed.
      await assert.rejects(within(30_000, p.call(name), `${name} settles`), { code: 'ERR_STATEMENT_TIMEOUT' });
      await within(30_000, p.run('INSERT INTO t VALUES (1)'), 'a write after the stuck call');
      assert.deepEqual(await p.all('SELECT v FROM t'), [{ v: 1 }]);
      await within(30_000, p.close(), 'close() after a stuck call');
      assert.equal(p.stats().state, 'closed');
    });
  }

  test('an interrupt that came while no statement ran is sent again: the statement that starts later stops, the thread is kept', async (t) => {
    // SQLite drops sqlite3_interrupt() when no statement is running: the timeout's interrupt lands during the JavaScript.
    const p = pool(t, { procedures: fixture('procedures.mjs'), statementTimeoutMs: 100 });
    const warnings: string[] = [];
    p.on('warning', (warning: { code: string }) => warnings.push(warning.code));
    await p.exec('CREATE TABLE t (v)');
    await assert.rejects(within(30_000, p.call('spinThenEndless', 400), 'the call'), { code: 'ERR_STATEMENT_TIMEOUT' });
    assert.deepEqual(warnings, [], 'no connection was given up (LITEPOOL_STATEMENT_ABANDONED)');
    assert.equal(p.stats().crashes, 0);
    await within(30_000, p.run('INSERT INTO t VALUES (1)'), 'a write after it');
    assert.deepEqual(await p.all('SELECT v FROM t'), [{ v: 1 }]);
  });

  test('destroy() while a procedure spins: it settles, the call rejects, the process can exit', async (t) => {
    const p = pool(t, { procedures: fixture('procedures.mjs'), statementTimeoutMs: 0 });
    await p.exec('CREATE TABLE t (v)');
    const spinning = p.call('spin');
    spinning.catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 200));
    await within(30_000, p.destroy(), 'destroy() with a spinning procedure');
    await assert.rejects(spinning, { code: 'ERR_POOL_CLOSED' });
  });
});
