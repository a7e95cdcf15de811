/**
 * The packages as users get them: packed with npm and with pnpm, installed
 * with plain npm into fresh projects outside the workspace, and used from ES
 * modules, CommonJS and strict TypeScript (a .cts under node16, node16 ESM,
 * bundler and node10 resolution) and from Jest, whose require() loads no ES
 * module; publint and @arethetypeswrong/cli find nothing. One project gets
 * only @litepool/core: the default pool, a strategy by name and the
 * node-sqlite3 drop-in work with it alone.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from './helpers/temp.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const PACKAGES = ['core', 'dqlite'];
const TOOLS = [
  'typescript@5.9.3',
  '@types/node@22',
  'kysely@0.29.9',
  'drizzle-orm@0.45.4',
  'publint@0.3.25',
  '@arethetypeswrong/cli@0.18.5',
];

function run(cwd: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
  return execFileSync(command, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 180_000,
  });
}

/** Packs every published package with `packer` into a fresh directory; returns the tarballs by package. */
function pack(t: Parameters<typeof tempDir>[0], packer: 'npm' | 'pnpm'): Record<string, string> {
  const out = tempDir(t, `litepool-${packer}-pack-`);
  for (const name of PACKAGES) {
    // Built already (by the test command's build step): packing must not rebuild.
    run(join(repo, 'packages', name), packer, ['pack', '--pack-destination', out], { npm_config_ignore_scripts: 'true' });
  }
  const tarballs = readdirSync(out);
  return Object.fromEntries(
    PACKAGES.map((name) => [
      name,
      join(
        out,
        tarballs.find((file) => file.startsWith(`litepool-${name}-`))!,
      ),
    ]),
  );
}

/** What a tarball holds: its manifest and its file list. */
function inspect(tarball: string): { manifest: string; files: string[] } {
  return {
    manifest: run(dirname(tarball), 'tar', ['xzf', tarball, '-O', 'package/package.json']),
    files: run(dirname(tarball), 'tar', ['tzf', tarball]).trim().split('\n'),
  };
}

function project(t: Parameters<typeof tempDir>[0], dependencies: string[]): string {
  const dir = tempDir(t, 'litepool-consumer-');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  run(dir, 'npm', ['install', '--no-audit', '--no-fund', ...dependencies]);
  return dir;
}

const ESM = `
import { createPool, fileLock, LitepoolError, wal } from '@litepool/core';
import sqlite3 from '@litepool/core/sqlite3';
import { open } from '@litepool/core/sqlite';
import { LitepoolDialect } from '@litepool/core/kysely';
import { drizzle } from '@litepool/core/drizzle';
import { connectionPerQueryRunner } from '@litepool/core/typeorm';
import { dqlite } from '@litepool/dqlite';
const pool = createPool({ filename: process.argv[2], strategy: 'single-writer' });
await pool.exec('CREATE TABLE t (v INTEGER)');
await pool.transaction(async (tx) => { await tx.run('INSERT INTO t VALUES (?)', [41]); });
const row = await pool.get('SELECT v + 1 AS v FROM t');
const orm = await drizzle(pool).values('SELECT count(*) FROM t');
await pool.close();
console.log(JSON.stringify({ v: row.v, wal: wal().name, fileLock: fileLock().name, error: typeof LitepoolError, drop: typeof sqlite3.Database, open: typeof open, dialect: typeof LitepoolDialect, orm, typeorm: typeof connectionPerQueryRunner, dqlite: dqlite({ servers: ['127.0.0.1:9001'], database: 'x' }).kind }));`;

const CJS = `
const { createPool, singleWriter } = require('@litepool/core');
const sqlite3 = require('@litepool/core/sqlite3').verbose();
const pool = createPool({ filename: process.argv[2], strategy: singleWriter() });
pool.get('SELECT 41 + 1 AS v').then(async (row) => {
  await pool.close();
  // Node >= 22.12 gives require() the ES modules (the module-sync condition): one copy of the package, not two.
  const oneCopy = (await import('@litepool/core')).createPool === createPool;
  const db = new sqlite3.Database(process.argv[2] + '.drop', (err) => {
    if (err) throw err;
    db.get('SELECT 42 AS v', (err, r) => { console.log(JSON.stringify({ v: row.v, drop: r.v, oneCopy })); db.close(); });
  });
});`;

/** Jest test files (CommonJS: Jest's own require(), which loads no ES module without --experimental-vm-modules). */
const JEST_TESTS: Record<string, string> = {
  'core.test.js': `
jest.useFakeTimers(); // before the package loads: the timers it captures are fakes, and it must not depend on them
const { createPool, LitepoolError, PoolClosedError } = require('@litepool/core');
const { mkdtempSync } = require('node:fs');
const { join } = require('node:path');
const { tmpdir } = require('node:os');
test('a pool, fake timers installed before it loaded: transaction, read, typed error after close', async () => {
  const pool = createPool({ filename: join(mkdtempSync(join(tmpdir(), 'jest-')), 'app.db') });
  await pool.exec('CREATE TABLE t (v INTEGER)');
  await pool.transaction(async (tx) => { await tx.run('INSERT INTO t VALUES (?)', [41]); });
  expect(await pool.get('SELECT v + 1 AS v FROM t')).toEqual({ v: 42 });
  await pool.close();
  const error = await pool.get('SELECT 1').catch((e) => e);
  expect(error).toBeInstanceOf(PoolClosedError);
  expect(error).toBeInstanceOf(LitepoolError);
});`,
  'drop-in.test.js': `
const sqlite3 = require('@litepool/core/sqlite3');
const { mkdtempSync } = require('node:fs');
const { join } = require('node:path');
const { tmpdir } = require('node:os');
const file = () => join(mkdtempSync(join(tmpdir(), 'jest-')), 'app.db');
const call = (db, method, ...args) => new Promise((resolve, reject) => db[method](...args, function (err, row) { err ? reject(err) : resolve(method === 'run' ? this.lastID : row); }));
test('the node-sqlite3 drop-in, callbacks and a prepared statement', async () => {
  const db = await new Promise((resolve, reject) => { const d = new sqlite3.Database(file(), (err) => (err ? reject(err) : resolve(d))); });
  await call(db, 'run', 'CREATE TABLE t (v TEXT)');
  expect(await call(db, 'run', 'INSERT INTO t VALUES (?)', 'a')).toBe(1);
  const stmt = db.prepare('SELECT v FROM t WHERE rowid = ?');
  expect(await call(stmt, 'get', 1)).toEqual({ v: 'a' });
  await new Promise((resolve) => stmt.finalize(resolve));
  await new Promise((resolve, reject) => db.close((err) => (err ? reject(err) : resolve())));
});
test('with fake timers installed, a Database still opens and closes', async () => {
  jest.useFakeTimers();
  try {
    const db = await new Promise((resolve, reject) => { const d = new sqlite3.Database(file(), (err) => (err ? reject(err) : resolve(d))); });
    expect(await call(db, 'get', 'SELECT 1 AS one')).toEqual({ one: 1 });
    await new Promise((resolve, reject) => db.close((err) => (err ? reject(err) : resolve())));
  } finally {
    jest.useRealTimers();
  }
});
test('its exports are plain properties that jest.spyOn can replace', () => {
  const spy = jest.spyOn(sqlite3, 'verbose');
  sqlite3.verbose();
  expect(spy).toHaveBeenCalledTimes(1);
  spy.mockRestore();
});`,
  // Not the Kysely dialect: Kysely 0.29 itself ships ES modules only.
  'entries.test.js': `
test('every entry point loads', () => {
  expect(typeof require('@litepool/core/sqlite').open).toBe('function');
  expect(typeof require('@litepool/core/drizzle').drizzle).toBe('function');
  expect(typeof require('@litepool/core/typeorm').connectionPerQueryRunner).toBe('function');
  expect(require('@litepool/dqlite').dqlite({ servers: ['127.0.0.1:9001'], database: 'x' }).kind).toBe('dqlite');
});`,
};

const TS = `
import { createPool, type Pool, type Transaction, SqliteError } from '@litepool/core';
import sqlite3 from '@litepool/core/sqlite3';
import { open } from '@litepool/core/sqlite';
export async function count(pool: Pool): Promise<number> {
  return pool.transaction(async (tx: Transaction) => (await tx.get<{ n: number }>('SELECT count(*) AS n FROM t'))?.n ?? 0);
}
export const made: Pool = createPool({ filename: 'x.db' });
export const isSqlite = (e: unknown): boolean => e instanceof SqliteError;
export const Db: typeof sqlite3.Database = sqlite3.Database;
export const opener: typeof open = open;
`;

const CTS = `
import litepool = require('@litepool/core');
import sqlite3 = require('@litepool/core/sqlite3');
export const pool: litepool.Pool = litepool.createPool({ filename: 'y.db', strategy: 'wal' });
export const db = new sqlite3.Database('z.db');
`;

function tsconfig(dir: string, name: string, compilerOptions: Record<string, unknown>, files: string[]): void {
  writeFileSync(
    join(dir, name),
    JSON.stringify({ compilerOptions: { strict: true, noEmit: true, skipLibCheck: false, types: ['node'], ...compilerOptions }, files }),
  );
}

test('npm pack and pnpm pack write installable manifests (no workspace: protocol), with README and LICENSE', (t) => {
  for (const packer of ['npm', 'pnpm'] as const) {
    for (const [name, tarball] of Object.entries(pack(t, packer))) {
      const { manifest, files } = inspect(tarball);
      assert.doesNotMatch(manifest, /workspace:/, `${packer} pack of ${name}`);
      for (const file of ['package/README.md', 'package/LICENSE', 'package/package.json'])
        assert.ok(files.includes(file), `${packer} ${name}: ${file}`);
      assert.ok(!files.some((file) => file.endsWith('.tsbuildinfo')), `${packer} ${name}: no build info`);
      for (const field of ['repository', 'homepage', 'bugs', 'publishConfig', 'license'])
        assert.match(manifest, new RegExp(`"${field}"`), `${packer} ${name}: ${field}`);
    }
  }
});

test('installed from npm-packed tarballs: ESM, CommonJS and strict TypeScript consumers; publint and attw are clean', (t) => {
  const tarballs = pack(t, 'npm');
  const dir = project(t, [tarballs.core!, tarballs.dqlite!, ...TOOLS]);
  const db = join(dir, 'app.db');
  writeFileSync(join(dir, 'app.mjs'), ESM);
  assert.deepEqual(JSON.parse(run(dir, process.execPath, ['app.mjs', db])), {
    v: 42,
    wal: 'wal',
    fileLock: 'file-lock',
    error: 'function',
    drop: 'function',
    open: 'function',
    dialect: 'function',
    orm: [[1]],
    typeorm: 'function',
    dqlite: 'dqlite',
  });
  writeFileSync(join(dir, 'app.cjs'), CJS);
  assert.deepEqual(JSON.parse(run(dir, process.execPath, ['app.cjs', join(dir, 'cjs.db')])), { v: 42, drop: 42, oneCopy: true });
  // TypeScript: node16 with an ES module and a CommonJS (.cts) file; bundler; node10 (subpaths through typesVersions).
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'src', 'esm.mts'), TS);
  writeFileSync(join(dir, 'src', 'cjs.cts'), CTS);
  writeFileSync(join(dir, 'src', 'bundled.ts'), TS);
  writeFileSync(join(dir, 'src', 'legacy.ts'), TS);
  tsconfig(dir, 'tsconfig.node16.json', { module: 'node16', moduleResolution: 'node16', target: 'es2022' }, ['src/esm.mts', 'src/cjs.cts']);
  tsconfig(dir, 'tsconfig.bundler.json', { module: 'esnext', moduleResolution: 'bundler', target: 'es2022' }, ['src/bundled.ts']);
  tsconfig(dir, 'tsconfig.node10.json', { module: 'commonjs', moduleResolution: 'node10', target: 'es2022', esModuleInterop: true }, [
    'src/legacy.ts',
  ]);
  for (const config of ['tsconfig.node16.json', 'tsconfig.bundler.json', 'tsconfig.node10.json']) {
    try {
      run(dir, process.execPath, [join(dir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', config]);
    } catch (error) {
      assert.fail(`tsc -p ${config}: ${(error as { stdout?: string }).stdout ?? String(error)}`);
    }
  }
  for (const name of PACKAGES) {
    const lint = run(dir, process.execPath, [
      join(dir, 'node_modules', 'publint', 'src', 'cli.js'),
      join(dir, 'node_modules', '@litepool', name),
    ]);
    assert.match(lint, /All good!/, `publint ${name}: ${lint}`);
    const types = run(dir, process.execPath, [join(dir, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js'), tarballs[name]!]);
    assert.match(types, /No problems found/, `attw ${name}: ${types}`);
  }
});

test('with only @litepool/core installed (pnpm-packed): the default pool, a strategy by name, and the node-sqlite3 drop-in', (t) => {
  const tarballs = pack(t, 'pnpm');
  const dir = project(t, [tarballs.core!]);
  writeFileSync(
    join(dir, 'only-core.mjs'),
    `import { createPool } from '@litepool/core';
import sqlite3 from '@litepool/core/sqlite3';
const [file] = process.argv.slice(2);
const pool = createPool({ filename: file });
const named = createPool({ filename: file + '.2', strategy: { name: 'wal', maxWalBytes: 1048576 } });
const a = await pool.get('SELECT 1 AS v');
const b = await named.get('SELECT 2 AS v');
await Promise.all([pool.close(), named.close()]);
const db = new sqlite3.Database(file + '.3');
db.get('SELECT 3 AS v', (err, row) => {
  if (err) throw err;
  console.log(JSON.stringify({ strategies: [pool.strategy.name, named.strategy.name], values: [a.v, b.v, row.v] }));
  db.close();
});`,
  );
  assert.deepEqual(JSON.parse(run(dir, process.execPath, ['only-core.mjs', join(dir, 'app.db')])), {
    strategies: ['single-writer', 'wal'],
    values: [1, 2, 3],
  });
});

test('under Jest, whose require() loads no ES module: every entry point, the pool and the drop-in, fake timers included', (t) => {
  // Jest runs test files in its own module registry; without --experimental-vm-modules it cannot load an ES module.
  const tarballs = pack(t, 'npm');
  const dir = project(t, [tarballs.core!, tarballs.dqlite!, 'jest@30.5.2', ...TOOLS.filter((tool) => tool.startsWith('drizzle-orm@'))]);
  for (const [name, source] of Object.entries(JEST_TESTS)) writeFileSync(join(dir, name), source);
  const jest = spawnSync(process.execPath, [join(dir, 'node_modules', 'jest', 'bin', 'jest.js'), '--ci'], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, CI: 'true' },
    timeout: 180_000,
  });
  const output = `${jest.stdout}${jest.stderr}`;
  assert.equal(jest.status, 0, output.slice(-3000));
  assert.match(output, /Tests:\s+5 passed, 5 total/, output.slice(-3000));
  assert.doesNotMatch(output, /did not exit|failed to exit|open handle|MaxListenersExceeded/i, output.slice(-3000));
});
