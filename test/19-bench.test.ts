/**
 * The benchmark CLI end to end, in tiny cells: it runs subjects in child
 * processes, writes its three files, and the network-drive workload runs over
 * real mounts. Speed targets are not asserted here (they live in the bench).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { MOUNT_TOOLS } from './helpers/network-drive.js';
import { tempDir } from './helpers/temp.js';
import { needTools } from './helpers/tools.js';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'packages', 'bench', 'dist', 'cli.js');
const run = promisify(execFile);

interface Cell {
  subject: string;
  workload: string;
  ops: number;
  errors: Record<string, number>;
  lostUpdates: number | null;
}

test('pnpm bench writes results.json, results.md and chart.svg; litepool cells are correct', async (t) => {
  const out = tempDir(t);
  await run(process.execPath, [
    cli,
    '--workloads',
    'point-read,rmw-counter',
    '--subjects',
    'litepool wal,raw',
    '--levels',
    '8',
    '--measure-ms',
    '150',
    '--quick',
    // Passed to the litepool strategies' pools (a value other than the default, so a broken pass-through shows).
    '--worker-nice',
    '3',
    '--out',
    out,
  ]);
  const { results, targets } = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as {
    results: Cell[];
    targets: { target: string }[];
  };
  assert.deepEqual(new Set(results.map((r) => r.subject)), new Set(['litepool wal', 'better-sqlite3 (raw, main thread)']));
  assert.equal(results.length, 4);
  for (const cell of results) assert.ok(cell.ops > 0, `${cell.subject} ${cell.workload} ran`);
  for (const cell of results.filter((r) => r.subject.startsWith('litepool'))) {
    assert.deepEqual(cell.errors, {});
    if (cell.workload === 'rmw-counter') assert.equal(cell.lostUpdates, 0);
  }
  assert.ok(targets.some((x) => x.target.startsWith('point reads, wal vs raw')));
  const report = readFileSync(join(out, 'results.md'), 'utf8');
  assert.match(report, /\| litepool wal \| 8 \|/);
  // The recommendation row is there; which subject qualifies depends on the machine's load (a figure, not asserted).
  assert.match(report, /\| Point reads by primary key \(YCSB-C\) \| /);
  assert.match(readFileSync(join(out, 'chart.svg'), 'utf8'), /^<svg /);
});

test('pnpm bench --network bindfs: every subject, 2 hosts, exact counts', async (t) => {
  if (!needTools(t, ...MOUNT_TOOLS.bindfs)) return;
  const out = tempDir(t);
  await run(process.execPath, [cli, '--network', 'bindfs', '--measure-ms', '400', '--out', out]);
  const { results } = JSON.parse(readFileSync(join(out, 'network.json'), 'utf8')) as {
    results: { subject: string; op: string; ok: number; lostUpdates: number; errors: Record<string, number>; integrity: string }[];
  };
  assert.deepEqual(
    new Set(results.map((r) => r.subject)),
    new Set(['litepool file-lock', 'litepool file-lock, groupTransactions', 'one lock per transaction']),
  );
  assert.equal(results.length, 5);
  for (const cell of results) {
    assert.ok(cell.ok > 0, `${cell.subject} ${cell.op} made progress`);
    assert.equal(cell.lostUpdates, 0, `${cell.subject} ${cell.op}`);
    assert.deepEqual(cell.errors, {});
    assert.equal(cell.integrity, 'ok');
  }
  assert.ok(existsSync(join(out, 'network.md')));
});

test('pnpm bench refuses a mistyped flag, an unknown workload and an unknown mount kind with the usage, not a stack trace', async () => {
  for (const [args, message] of [
    [['--quik'], /litepool bench: Unknown option '--quik'/],
    [['--workloads', 'nope'], /litepool bench: unknown workload "nope"; known: point-read/],
    [['--network', 'nfs'], /litepool bench: --network must be sshfs or bindfs, got "nfs"/],
    [['--measure-ms', 'soon'], /litepool bench: --measure-ms must be a positive integer, got soon/],
    [['--worker-nice', '20'], /litepool bench: --worker-nice must be a whole number from 0 to 19, got 20/],
  ] as const) {
    await assert.rejects(run(process.execPath, [cli, ...args]), (error: { code?: number; stderr?: string }) => {
      assert.equal(error.code, 2);
      assert.match(error.stderr ?? '', message);
      assert.match(error.stderr ?? '', /Usage: pnpm bench \[options\]/);
      assert.doesNotMatch(error.stderr ?? '', /\n\s+at /, 'no stack trace');
      return true;
    });
  }
});

test('the ORM suite proxy runs Knex and Sequelize suites through the real sqlite3 and the drop-in, their checks passing', async () => {
  const script = join(dirname(cli), '..', 'scripts', 'orm-suite-proxy.mjs');
  for (const storage of ['file', 'memory']) {
    const { stdout } = await run(process.execPath, [script, '--tests', '2', '--storage', storage], { timeout: 120_000 });
    const report = JSON.parse(stdout) as Record<string, { realMs: number[]; dropInMs: number[]; ratio: number }>;
    for (const orm of ['knex', 'sequelize']) {
      const result = report[orm];
      assert.ok(result !== undefined, `${orm} on ${storage} reported`);
      assert.equal(result.realMs.length, 2);
      assert.equal(result.dropInMs.length, 2);
      assert.ok(Number.isFinite(result.ratio) && result.ratio > 0);
    }
  }
  await assert.rejects(run(process.execPath, [script, '--storage', 'disk']), /--storage must be file or memory/);
});
