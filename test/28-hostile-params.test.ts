/**
 * Parameters that cannot cross to a worker thread, or that SQLite cannot
 * bind, end in an ArgumentError naming the parameter; nothing hangs, the
 * writer is never left held, requests batched beside a bad one still run.
 */
import { ArgumentError, type Params } from '@litepool/core';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testPool, within } from './helpers/pool.js';

const INSERT = 'INSERT INTO t (v) VALUES (?)';

function argumentError(message: string | RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof ArgumentError, `expected an ArgumentError, got ${String(error)}`);
    assert.equal(error.code, 'ERR_INVALID_ARGUMENT');
    if (typeof message === 'string') assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  };
}

class Money {
  constructor(readonly cents: number) {}
}

test('values that cannot be bound are refused before they are queued, each with a message that names it', async (t) => {
  const pool = testPool(t);
  await pool.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v)');
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  const cases: [unknown[] | Record<string, unknown>, string][] = [
    [[() => 1], 'params[0] is a function: a parameter must be null, a number, a bigint, a string or a Buffer/Uint8Array'],
    [[Symbol('s')], 'params[0] is a symbol: a parameter must be null, a number, a bigint, a string or a Buffer/Uint8Array'],
    [[1, undefined], 'params[1] is undefined: to bind SQL NULL pass null'],
    [[true], 'params[0] is a boolean: a parameter must be null, a number, a bigint, a string or a Buffer/Uint8Array (pass 1 or 0)'],
    [
      [new Date(0)],
      'params[0] is a Date: a parameter must be null, a number, a bigint, a string or a Buffer/Uint8Array (pass date.toISOString() or date.getTime())',
    ],
    [
      [{ a: 1 }],
      'params[0] is an object: a parameter must be null, a number, a bigint, a string or a Buffer/Uint8Array (nested objects cannot be bound; JSON.stringify it for a JSON column)',
    ],
    [
      [circular],
      'params[0] is an object: a parameter must be null, a number, a bigint, a string or a Buffer/Uint8Array (nested objects cannot be bound; JSON.stringify it for a JSON column)',
    ],
    [
      [[1, 2]],
      'params[0] is an array: a parameter must be null, a number, a bigint, a string or a Buffer/Uint8Array (nested arrays cannot be bound; JSON.stringify it for a JSON column)',
    ],
    [[new Money(5)], 'params[0] is an instance of Money: a parameter must be null, a number, a bigint, a string or a Buffer/Uint8Array'],
    [
      [new Float64Array(2)],
      'params[0] is a Float64Array: a parameter must be null, a number, a bigint, a string or a Buffer/Uint8Array (wrap its bytes in a Buffer)',
    ],
    [{ v: () => 1 }, 'params.v is a function: a parameter must be null, a number, a bigint, a string or a Buffer/Uint8Array'],
  ];
  for (const [params, message] of cases) {
    const sql = Array.isArray(params) ? INSERT : 'INSERT INTO t (v) VALUES (:v)';
    await assert.rejects(within(5_000, pool.run(sql, params as Params), message), argumentError(message));
  }
  // Nothing reached the database, and the pool serves on.
  await pool.run(INSERT, [Buffer.from('ok')]);
  assert.deepEqual(await pool.all('SELECT v FROM t'), [{ v: Buffer.from('ok') }]);
});

test('inside a transaction, a bad parameter rejects that call; the transaction goes on and the writer is released', async (t) => {
  const pool = testPool(t, { acquireTimeoutMs: 5_000 });
  await pool.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v)');
  await pool.transaction(async (tx) => {
    await assert.rejects(tx.run(INSERT, [Symbol('x') as never]), argumentError(/^params\[0\] is a symbol/));
    await assert.rejects(tx.run(INSERT, new Proxy([1], {})), argumentError(/could not be sent to the worker thread/));
    await tx.run(INSERT, [1]);
  });
  // A callback that lets the error escape rolls back, and the writer is free afterwards.
  await assert.rejects(
    pool.transaction(async (tx) => {
      await tx.run(INSERT, [2]);
      await tx.run(INSERT, [() => 3] as never);
    }),
    ArgumentError,
  );
  await within(5_000, pool.run(INSERT, [4]), 'a write after the failed transaction');
  assert.deepEqual(await pool.all('SELECT v FROM t ORDER BY v'), [{ v: 1 }, { v: 4 }]);
});

test('a value that passes the checks but cannot be cloned fails alone; the requests batched with it run', async (t) => {
  // Reads on a reader, through postMessage (a read answered on the calling thread binds the Proxy as the array it is).
  const pool = testPool(t, { readers: 1, inlineReads: false });
  await pool.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v)');
  // A Proxy is an array to every check, but postMessage cannot clone it: the safety net behind the checks.
  const calls: Promise<unknown>[] = [];
  for (let i = 0; i < 50; i++) calls.push(pool.run(INSERT, i === 25 ? new Proxy([i], {}) : [i]));
  for (let i = 0; i < 20; i++) calls.push(pool.get('SELECT ? AS n', i === 7 ? new Proxy([i], {}) : [i]));
  const results = await within(10_000, Promise.allSettled(calls), 'a batch with one unsendable request');
  const failed = results.flatMap((result, i) => (result.status === 'rejected' ? [i] : []));
  assert.deepEqual(failed, [25, 57]);
  for (const i of failed) assert.ok(argumentError(/could not be sent to the worker thread/)((results[i] as PromiseRejectedResult).reason));
  assert.deepEqual(await pool.get('SELECT count(*) AS n FROM t'), { n: 49 });
});

test('per-call options are checked too, as every options object is (OptionsError, with a suggestion)', async (t) => {
  const pool = testPool(t);
  const optionsError = (message: string) => ({ name: 'OptionsError', code: 'ERR_INVALID_OPTIONS', message });
  await assert.rejects(
    pool.get('SELECT 1', [], { signal: 'stop' } as never),
    optionsError('options.signal must be an AbortSignal, got "stop"'),
  );
  await assert.rejects(
    pool.get('SELECT 1', [], { timeoutMs: -1 }),
    optionsError('options.timeoutMs must be an integer from 0 to 2147483647, got -1'),
  );
  await assert.rejects(
    pool.get('SELECT 1', [], { timout: 5 } as never),
    optionsError('Unknown option options.timout; did you mean options.timeoutMs?'),
  );
  await assert.rejects(pool.acquire({ wirte: true } as never), optionsError('Unknown option acquire.wirte; did you mean acquire.write?'));
  await assert.rejects(pool.close({ timeout: 5 } as never), optionsError('Unknown option close.timeout; did you mean close.timeoutMs?'));
  await assert.rejects(pool.backup('x.db', { pageSize: 5 } as never), optionsError('Unknown option backup.pageSize'));
});

test('parameters that throw when read (a Proxy trap, a getter) reject with ArgumentError, never a synchronous throw', async (t) => {
  const pool = testPool(t);
  await pool.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v)');
  const trap = new Proxy([1], {
    get() {
      throw new Error('trap');
    },
  });
  const getter = Object.defineProperty({}, 'v', {
    enumerable: true,
    get() {
      throw new Error('getter');
    },
  });
  for (const [sql, params] of [
    [INSERT, trap],
    ['INSERT INTO t (v) VALUES (:v)', getter],
  ] as const) {
    for (const method of ['run', 'get', 'all'] as const) {
      let promise: Promise<unknown> | undefined;
      assert.doesNotThrow(() => (promise = pool[method](sql, params)), `${method} must not throw synchronously`);
      await assert.rejects(promise!, argumentError(/^params could not be read: (trap|getter)$/));
    }
  }
  assert.deepEqual(await pool.all('SELECT v FROM t'), []);
});
