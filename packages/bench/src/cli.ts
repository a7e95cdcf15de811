#!/usr/bin/env node
/**
 * litepool bench: every subject in a fresh child process, every workload at
 * every concurrency level; writes results.json, results.md and chart.svg.
 *
 *   pnpm bench [--quick] [--out DIR] [--workloads a,b] [--subjects text,…] [--levels 1,8,64] [--measure-ms N]
 *   pnpm bench --network sshfs|bindfs [--quick] [--out DIR]
 *   pnpm bench --dqlite [--quick] [--out DIR]
 */
import BetterSqlite3 from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem, availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { CellResult } from './measure.js';
import { runNetworkBench, type MountKind } from './network.js';
import { DQLITE_OPS, DQLITE_SUBJECTS, dqliteMarkdown, dqliteTarget, runDqliteCell, type DqliteResult } from './dqlite.js';
import { startLocalCluster } from './dqlite-cluster.js';
import { chart, markdown, networkMarkdown, targets, type ColdStart, type RunInfo } from './report.js';
import { SUBJECTS } from './subjects.js';
import { WORKLOADS } from './workloads.js';

/** Not a cell: `scripts/cold-start.mjs` in a fresh process (import, first pool, close, idle CPU). */
const COLD_START = 'cold-start';

const HELP = `Usage: pnpm bench [options]

  --quick             short cells (under 3 minutes on 2 cores)
  --out DIR           where to write results.json, results.md, chart.svg (default: bench-results/latest)
  --workloads LIST    comma-separated workload ids (${WORKLOADS.map((w) => w.id).join(', ')}, ${COLD_START})
  --subjects LIST     comma-separated parts of subject names (e.g. "wal,raw,knex")
  --levels LIST       concurrency levels (default: 1,8,64)
  --measure-ms N      measured time per cell (default: 400 with --quick, 3000 otherwise)
  --worker-nice N     the litepool strategies' workerNice option, 0-19 (default: the pool's, 10)
  --network KIND      instead: the network-drive workload over two sshfs or bindfs mounts of one
                      directory (as root; needs sshfs, openssh-server, bindfs, fuse3); writes
                      network.json and network.md (default measured time 3000 with --quick, 10000 otherwise)
  --dqlite            instead: a 3-node dqlite cluster on loopback (needs dqlite-demo: apt-get install
                      go-dqlite): one-shot writes and read-modify-write transactions at 1 and 64 in
                      flight through litepool's pool, one connection per caller, and one connection
                      behind a mutex; writes dqlite.json and dqlite.md (default measured time 2000
                      with --quick, 5000 otherwise)
  --help              this text
`;

/** Refuses the command line with a message and the usage, without a stack trace. */
function usage(message: string): never {
  process.stderr.write(`litepool bench: ${message}\n\n${HELP}`);
  process.exit(2);
}

function parse(): ReturnType<typeof parseOptions> {
  try {
    return parseOptions();
  } catch (error) {
    return usage(error instanceof Error ? error.message : String(error));
  }
}

function parseOptions() {
  return parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      out: { type: 'string', default: 'bench-results/latest' },
      workloads: { type: 'string' },
      subjects: { type: 'string' },
      levels: { type: 'string', default: '1,8,64' },
      'measure-ms': { type: 'string' },
      'worker-nice': { type: 'string' },
      network: { type: 'string' },
      dqlite: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
}

const { values } = parse();
if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

function list(value: string | undefined): string[] | undefined {
  return value
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

const requested = list(values.workloads) ?? [...WORKLOADS.map((w) => w.id), COLD_START];
for (const id of requested) {
  if (id !== COLD_START && !WORKLOADS.some((w) => w.id === id)) {
    usage(`unknown workload "${id}"; known: ${WORKLOADS.map((w) => w.id).join(', ')}, ${COLD_START}`);
  }
}
const workloadIds = requested.filter((id) => id !== COLD_START);
const coldStart = requested.includes(COLD_START);
const subjectFilters = list(values.subjects);
const subjects = SUBJECTS.filter(
  (s) => subjectFilters === undefined || subjectFilters.some((f) => s.name.toLowerCase().includes(f.toLowerCase())),
);
if (subjects.length === 0) usage(`no subject matches "${values.subjects}"`);
const levels = list(values.levels)!.map(Number);
if (levels.some((n) => !Number.isInteger(n) || n < 1)) usage(`--levels must be positive integers, got ${values.levels}`);
const measureMs = Number(values['measure-ms'] ?? (values.quick ? 400 : 3000));
if (!Number.isInteger(measureMs) || measureMs < 1) usage(`--measure-ms must be a positive integer, got ${values['measure-ms']}`);
const workerNice = values['worker-nice'] === undefined ? undefined : Number(values['worker-nice']);
if (workerNice !== undefined && !(Number.isInteger(workerNice) && workerNice >= 0 && workerNice <= 19)) {
  usage(`--worker-nice must be a whole number from 0 to 19, got ${values['worker-nice']}`);
}
// Long enough in quick mode for worker threads to open and statements to be prepared.
const warmupMs = values.quick ? 200 : 1000;
const out = resolve(values.out);

const sqliteVersion = (() => {
  const db = new BetterSqlite3(':memory:');
  const version = db.prepare('SELECT sqlite_version() AS v').get() as { v: string };
  db.close();
  return version.v;
})();
const info: RunInfo = {
  machine: `${availableParallelism()} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), ${Math.round(totalmem() / 2 ** 30)} GiB, ${process.platform}`,
  node: process.version,
  sqlite: sqliteVersion,
  command: `pnpm bench ${process.argv.slice(2).join(' ')}`.trim(),
  date: new Date().toISOString(),
};

if (values.dqlite) {
  await dqliteRun();
} else if (values.network !== undefined) {
  if (values.network !== 'sshfs' && values.network !== 'bindfs') usage(`--network must be sshfs or bindfs, got "${values.network}"`);
  await networkRun(values.network);
} else {
  await localRun();
}

async function networkRun(mount: MountKind): Promise<void> {
  const ms = Number(values['measure-ms'] ?? (values.quick ? 3000 : 10_000));
  const started = performance.now();
  process.stderr.write(`litepool bench, network drive (${mount}): 2 hosts x 32 handlers, ${ms} ms per cell\n`);
  const results = await runNetworkBench(mount, {
    handlers: 32,
    ms,
    onCell: (r) =>
      process.stderr.write(
        `  ${r.subject} | ${r.op}: ${Math.round(r.throughput).toLocaleString('en-US')} increments/s, ${r.lostUpdates} lost, ${Object.values(r.errors).reduce((a, b) => a + b, 0)} errors, integrity ${r.integrity}\n`,
      ),
  });
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'network.json'), `${JSON.stringify({ info, results }, null, 2)}\n`);
  writeFileSync(join(out, 'network.md'), networkMarkdown(results, info));
  process.stderr.write(`done in ${((performance.now() - started) / 1000).toFixed(0)} s; wrote ${out}/network.{json,md}\n`);
}

async function dqliteRun(): Promise<void> {
  const ms = Number(values['measure-ms'] ?? (values.quick ? 2000 : 5000));
  const started = performance.now();
  process.stderr.write(`litepool bench, dqlite: a 3-node cluster on loopback, ${ms} ms per cell\n`);
  const cluster = await startLocalCluster();
  const results: DqliteResult[] = [];
  try {
    let cell = 0;
    for (const op of DQLITE_OPS) {
      for (const concurrency of [1, 64]) {
        for (const subject of DQLITE_SUBJECTS) {
          // Each cell on its own database, so no cell inherits another's rows.
          const result = await runDqliteCell(cluster.servers, subject, op, concurrency, ms, `bench${cell++}`);
          results.push(result);
          const errors = Object.values(result.errors).reduce((a, b) => a + b, 0);
          process.stderr.write(
            `  ${subject} | ${op} | ${concurrency} in flight: ${Math.round(result.throughput).toLocaleString('en-US')} ops/s, ${errors} errors, ${result.retries} retries${result.lostUpdates ? `, ${result.lostUpdates} lost` : ''}\n`,
          );
        }
      }
    }
  } finally {
    await cluster.stop();
  }
  mkdirSync(out, { recursive: true });
  const target = dqliteTarget(results);
  writeFileSync(join(out, 'dqlite.json'), `${JSON.stringify({ info, target, results }, null, 2)}\n`);
  writeFileSync(
    join(out, 'dqlite.md'),
    dqliteMarkdown(results, [
      '# litepool over dqlite',
      '',
      `- machine: ${info.machine}`,
      `- Node ${info.node}; dqlite-demo (go-dqlite, libdqlite) from Debian, 3 nodes on loopback`,
      `- date: ${info.date}`,
      `- command: \`${info.command}\``,
      '',
    ]),
  );
  process.stderr.write(
    `done in ${((performance.now() - started) / 1000).toFixed(0)} s; wrote ${out}/dqlite.{json,md}\n  ${target.met === null ? '-  ' : target.met ? 'ok ' : 'MISS'} one-shot writes at 64, pool vs one connection per caller: ${target.value === null ? 'not measured' : target.value.toFixed(1)}x (goal >= 10x, 0 errors, 0 lost)\n`,
  );
}

/** Seconds as m:ss. */
function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

async function localRun(): Promise<void> {
  const child = join(dirname(fileURLToPath(import.meta.url)), 'child.js');
  const total = subjects
    .flatMap((s) => workloadIds.filter((id) => s.workloads === undefined || s.workloads.includes(id)))
    .reduce((sum, id) => sum + (WORKLOADS.find((w) => w.id === id)?.levels ?? levels).length, 0);
  const results: CellResult[] = [];
  const started = performance.now();
  process.stderr.write(
    `litepool bench: ${subjects.length} subjects x ${workloadIds.length} workloads x ${levels.length} levels = ${total} cells\n`,
  );

  for (const subject of subjects) {
    const dir = mkdtempSync(join(tmpdir(), 'litepool-bench-'));
    try {
      await new Promise<void>((done, fail) => {
        const job = { subject: subject.name, workloads: workloadIds, levels, warmupMs, measureMs, dir, workerNice };
        const proc = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', child, JSON.stringify(job)], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let buffer = '';
        proc.stdout.on('data', (chunk: Buffer) => {
          buffer += chunk.toString();
          let newline: number;
          while ((newline = buffer.indexOf('\n')) >= 0) {
            const cell = JSON.parse(buffer.slice(0, newline)) as CellResult;
            buffer = buffer.slice(newline + 1);
            results.push(cell);
            const errors = Object.values(cell.errors).reduce((a, b) => a + b, 0);
            const elapsed = (performance.now() - started) / 1000;
            const eta = (elapsed / results.length) * (total - results.length);
            process.stderr.write(
              `[${String(results.length).padStart(3)}/${total} ${clock(elapsed)} elapsed, ~${clock(eta)} left] ${cell.subject} | ${cell.workload} | ${cell.concurrency} in flight: ${Math.round(cell.throughput).toLocaleString('en-US')} ops/s${errors ? `, ${errors} errors` : ''}${cell.lostUpdates ? `, ${cell.lostUpdates} lost` : ''}\n`,
            );
          }
        });
        proc.on('close', (code) => (code === 0 ? done() : fail(new Error(`${subject.name} exited with ${code}`))));
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  const cold = coldStart ? await runColdStart() : undefined;
  mkdirSync(out, { recursive: true });
  writeFileSync(
    join(out, 'results.json'),
    `${JSON.stringify({ info, targets: targets(results, cold), coldStart: cold, results }, null, 2)}\n`,
  );
  writeFileSync(join(out, 'results.md'), markdown(results, info, cold));
  writeFileSync(join(out, 'chart.svg'), chart(results, info));
  process.stderr.write(`done in ${((performance.now() - started) / 1000).toFixed(0)} s; wrote ${out}/results.{json,md} and chart.svg\n`);
  for (const t of targets(results, cold)) {
    process.stderr.write(
      `  ${t.met === null ? '-  ' : t.met ? 'ok ' : 'MISS'} ${t.target}: ${t.value === null ? 'not measured' : t.value.toFixed(2)} (goal ${t.goal})\n`,
    );
  }
}

/** Runs scripts/cold-start.mjs in a fresh process (idle CPU over 2 s with --quick, 10 s otherwise). */
async function runColdStart(): Promise<ColdStart> {
  const script = join(dirname(fileURLToPath(import.meta.url)), '..', 'scripts', 'cold-start.mjs');
  const idleMs = values.quick ? 2_000 : 10_000;
  process.stderr.write(`cold start: import, first pool, later pools, close, the drop-in; then ${idleMs / 1000} s of an idle pool\n`);
  const output = await new Promise<string>((done, fail) => {
    const proc = spawn(process.execPath, [script, '--idle-ms', String(idleMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    proc.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    proc.on('close', (code) => (code === 0 ? done(text) : fail(new Error(`cold-start.mjs exited with ${code}`))));
  });
  const cold = JSON.parse(output) as ColdStart;
  process.stderr.write(
    `  first pool ${cold.createPoolFirstReadMs} ms, later ${cold.laterPoolFirstReadMs} ms, close ${cold.closeMs} ms, import ${cold.importMs} ms, idle CPU ${cold.idleCpuMs} ms, longest block while starting ${cold.startBlockMs} ms\n`,
  );
  return cold;
}
