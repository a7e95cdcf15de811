/** Options validation: one test per message, exact text. */
import { createPool, defaultReaders, DEFAULTS, OptionsError, type PoolOptions } from '@litepool/core';
import assert from 'node:assert/strict';
import { strategyNames } from '@litepool/core';
import { test } from 'node:test';
import { testPool } from './helpers/pool.js';

function rejects(options: unknown, message: string): void {
  assert.throws(
    () => createPool(options as PoolOptions),
    (error: unknown) => {
      assert.ok(error instanceof OptionsError, `expected an OptionsError, got ${String(error)}`);
      assert.equal(error.code, 'ERR_INVALID_OPTIONS');
      assert.equal(error.message, message);
      return true;
    },
  );
}

const f = '/tmp/litepool-options.db';

test('options must be an object', () => rejects('app.db', 'options must be an object, got "app.db"'));
test('filename is required', () => rejects({}, 'options.filename must be a non-empty string, got undefined'));
test('filename must not be empty', () => rejects({ filename: '' }, 'options.filename must be a non-empty string, got ""'));
test('a filename with a NUL is refused', () => rejects({ filename: 'a\0b' }, 'options.filename "a\\u0000b" contains a NUL character'));
test('a filename too long for the kernel is refused', () =>
  rejects(
    { filename: `/tmp/${'x'.repeat(300)}` },
    `options.filename "/tmp/${'x'.repeat(72)}..." is too long for a file name (4096 bytes a path, 255 a name)`,
  ));
test('a device is refused', () =>
  rejects(
    { filename: '/dev/null' },
    'options.filename "/dev/null" is not a regular file (a device, a socket or a pipe cannot hold a database)',
  ));
test('a file: URI with an unknown mode is refused', () =>
  rejects(
    { filename: 'file:/tmp/x.db?mode=zz' },
    'options.filename "file:/tmp/x.db?mode=zz": mode must be ro, rw, rwc or memory, got "zz"',
  ));
test('a file: URI naming a VFS other than memdb is refused', () =>
  rejects({ filename: 'file:/tmp/x.db?vfs=unix' }, 'options.filename "file:/tmp/x.db?vfs=unix": only vfs=memdb is supported'));
test('a file: URI naming a host is refused', () =>
  rejects(
    { filename: 'file://host/tmp/x.db' },
    'options.filename "file://host/tmp/x.db": a file: URI may name no host but localhost, got "host"',
  ));
test('a file: URI naming no file is refused', () =>
  rejects({ filename: 'file:?mode=ro' }, 'options.filename "file:?mode=ro" names no file'));
test('readers for an in-memory database are refused', () =>
  rejects(
    { filename: ':memory:', readers: 2 },
    'options.readers must be at most 0 for ":memory:", got 2: one connection holds an in-memory database',
  ));
test('unknown keys are rejected with a suggestion', () =>
  rejects({ filename: f, reader: 2 }, 'Unknown option options.reader; did you mean options.readers?'));
test('unknown keys without a near match are rejected plainly', () =>
  rejects({ filename: f, colour: 'blue' }, 'Unknown option options.colour'));
test('readers must be an integer from 0 to 64', () =>
  rejects({ filename: f, readers: -1 }, 'options.readers must be an integer from 0 to 64, got -1'));
test('readers must be an integer', () =>
  rejects({ filename: f, readers: 1.5 }, 'options.readers must be an integer from 0 to 64, got 1.5'));
test('readers: 1e9 is refused (it used to abort the process out of memory)', () =>
  rejects({ filename: f, readers: 1e9 }, 'options.readers must be an integer from 0 to 64, got 1000000000'));
test('extraReaderIdleMs must be a positive integer or Infinity', () =>
  rejects({ filename: f, extraReaderIdleMs: -1 }, 'options.extraReaderIdleMs must be an integer from 1 to 2147483647 or Infinity, got -1'));
test('acquireTimeoutMs must be positive', () =>
  rejects({ filename: f, acquireTimeoutMs: 0 }, 'options.acquireTimeoutMs must be an integer from 1 to 2147483647 or Infinity, got 0'));
test('statementTimeoutMs must be an integer from 0 (off)', () =>
  rejects({ filename: f, statementTimeoutMs: -1 }, 'options.statementTimeoutMs must be an integer from 0 to 2147483647, got -1'));
test('maxQueue must be an integer or Infinity', () =>
  rejects({ filename: f, maxQueue: '10' }, 'options.maxQueue must be an integer >= 1 or Infinity, got "10"'));
test('maxQueue: 0 is refused (every call would fail)', () =>
  rejects({ filename: f, maxQueue: 0 }, 'options.maxQueue must be an integer >= 1 or Infinity, got 0'));
test('busyTimeoutMs must be an integer >= 0', () =>
  rejects({ filename: f, busyTimeoutMs: -5 }, 'options.busyTimeoutMs must be an integer from 0 to 2147483647, got -5'));
test('maxBatch must be from 1 to 10000', () =>
  rejects({ filename: f, maxBatch: 0 }, 'options.maxBatch must be an integer from 1 to 10000, got 0'));
test('iterateChunkRows must be from 1 to 100000', () =>
  rejects({ filename: f, iterateChunkRows: 0 }, 'options.iterateChunkRows must be an integer from 1 to 100000, got 0'));
test('leakDetectionMs must be an integer from 0 (off)', () =>
  rejects({ filename: f, leakDetectionMs: '1s' }, 'options.leakDetectionMs must be an integer from 0 to 2147483647, got "1s"'));
test('closeTimeoutMs has an upper bound', () =>
  rejects({ filename: f, closeTimeoutMs: 1e12 }, 'options.closeTimeoutMs must be an integer from 0 to 2147483647, got 1000000000000'));
test('workerFile must be a path or a URL', () =>
  rejects({ filename: f, workerFile: 42 }, 'options.workerFile must be a path or a file URL, got 42'));
test('nativeBinding must be a path', () => rejects({ filename: f, nativeBinding: true }, 'options.nativeBinding must be a path, got true'));
test('interruptExtension must be a path or false', () =>
  rejects({ filename: f, interruptExtension: true }, 'options.interruptExtension must be a path or false, got true'));
test('the directory of filename must exist', () =>
  rejects(
    { filename: '/litepool-no-such-dir/app.db' },
    'options.filename "/litepool-no-such-dir/app.db": the directory /litepool-no-such-dir does not exist',
  ));
test('filename must not be a directory', () =>
  rejects({ filename: '/tmp' }, 'options.filename "/tmp" is a directory, not a database file'));
test('safeIntegers must be a boolean', () =>
  rejects({ filename: f, safeIntegers: 1 }, 'options.safeIntegers must be true or false, got 1'));
test('pragmas must be an object', () =>
  rejects({ filename: f, pragmas: ['synchronous'] }, 'options.pragmas must be an object of PRAGMA names to values, got an array'));
test('pragma names must be identifiers', () =>
  rejects({ filename: f, pragmas: { 'x; DROP': 1 } }, 'options.pragmas has an invalid PRAGMA name "x; DROP"'));
test('pragma values must be bare words, numbers or booleans', () =>
  rejects(
    { filename: f, pragmas: { synchronous: "FULL'; --" } },
    `options.pragmas.synchronous must be a number between -2147483647 and 2147483647, a boolean or a bare word such as FULL, got "FULL'; --"`,
  ));
test("an unknown PRAGMA is refused (checked against SQLite's pragma_list)", () =>
  rejects({ filename: f, pragmas: { nope: 1 } }, 'options.pragmas.nope is not a PRAGMA this SQLite knows'));
test('a misspelt PRAGMA is refused with a suggestion', () =>
  rejects(
    { filename: f, pragmas: { synchronus: 'FULL' } },
    'options.pragmas.synchronus is not a PRAGMA this SQLite knows; did you mean synchronous?',
  ));
test('PRAGMA values are bounded (cache_size: -1e12 is not a cache)', () =>
  rejects(
    { filename: f, pragmas: { cache_size: -1e12 } },
    'options.pragmas.cache_size must be a number between -2147483647 and 2147483647, a boolean or a bare word such as FULL, got -1000000000000',
  ));
test('journal_mode belongs to the strategy', () =>
  rejects(
    { filename: f, pragmas: { journal_mode: 'DELETE' } },
    'options.pragmas.journal_mode is chosen by the strategy; pick a strategy instead (wal, mutex, single-writer, file-lock)',
  ));
test('workerResourceLimits keys are checked', () =>
  rejects({ filename: f, workerResourceLimits: { maxOldGenMb: 4 } }, 'Unknown option options.workerResourceLimits.maxOldGenMb'));
test('workerResourceLimits values must be positive numbers', () =>
  rejects(
    { filename: f, workerResourceLimits: { maxOldGenerationSizeMb: 0 } },
    'options.workerResourceLimits.maxOldGenerationSizeMb must be a number of MB from 1 to 1048576, got 0',
  ));
test('strategy must be a name, config or instance', () =>
  rejects(
    { filename: f, strategy: 42 },
    'options.strategy must be a strategy instance, a name such as "wal", or a config object { name: "wal", … }, got 42',
  ));
test('strategy name must not be empty', () => rejects({ filename: f, strategy: '' }, 'options.strategy must not be an empty string'));
test('an unknown strategy name is rejected with a suggestion', () =>
  rejects({ filename: f, strategy: 'wall' }, `Unknown strategy "wall"; did you mean "wal"? (known: ${strategyNames.join(', ')})`));
test('strategy options are validated too', () =>
  rejects({ filename: f, strategy: { name: 'wal', maxWalByte: 1 } }, 'Unknown option wal.maxWalByte; did you mean wal.maxWalBytes?'));

test('defaults are documented values and frozen', (t) => {
  const pool = testPool(t);
  assert.equal(pool.options.readers, defaultReaders());
  assert.equal(pool.options.acquireTimeoutMs, DEFAULTS.acquireTimeoutMs);
  assert.equal(pool.options.statementTimeoutMs, 60_000);
  assert.equal(pool.options.extraReaderIdleMs, 10_000);
  assert.equal(pool.options.closeTimeoutMs, 30_000);
  assert.equal(pool.options.leakDetectionMs, 0);
  assert.equal(pool.options.busyTimeoutMs, 5000);
  assert.equal(pool.options.maxQueue, Number.POSITIVE_INFINITY);
  assert.equal(pool.options.safeIntegers, false);
  assert.equal(pool.strategy.name, 'single-writer');
  assert.ok(Object.isFrozen(pool.options) && Object.isFrozen(DEFAULTS));
});

test('pragmas are applied on every connection', async (t) => {
  const pool = testPool(t, { pragmas: { synchronous: 'FULL', cache_size: -4000 }, readers: 2 });
  const lease = await pool.acquire({ write: true });
  try {
    assert.deepEqual(await lease.get('PRAGMA synchronous'), { synchronous: 2 });
  } finally {
    void lease.release();
  }
  const readers = await Promise.all([pool.acquire(), pool.acquire()]);
  try {
    for (const reader of readers) assert.deepEqual(await reader.get('PRAGMA cache_size'), { cache_size: -4000 });
  } finally {
    for (const reader of readers) void reader.release();
  }
});
