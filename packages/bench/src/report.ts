/** Turns cell results into the tables (Markdown), the target ratios, and the chart (SVG). */
import type { CellResult } from './measure.js';
import { networkRatios, type NetworkResult } from './network.js';
import { WORKLOADS } from './workloads.js';

/** Where and how the run happened. */
export interface RunInfo {
  readonly machine: string;
  readonly node: string;
  readonly sqlite: string;
  readonly command: string;
  readonly date: string;
}

/** One target of the benchmark issue: a ratio in this run and whether it is met. */
export interface TargetResult {
  readonly target: string;
  readonly value: number | null;
  readonly goal: string;
  readonly met: boolean | null;
}

const RAW = 'better-sqlite3 (raw, main thread)';
const PLAIN = 'better-sqlite3 (plain loop)';
const DROP_IN = 'sqlite3 API on litepool (the drop-in)';
/** The default strategy's subject (single-writer on a local disk). */
const DEFAULT = 'litepool single-writer';
/**
 * rmw-counter through `pool.transaction` (64 in flight, wal) before the round
 * trips were cut, measured on the machine of the recorded runs with
 * `pnpm bench --workloads rmw-counter --levels 1,64 --measure-ms 2000` at
 * commit baf7278: the figure issue 15 asks to double.
 */
const RMW_TRANSACTION_BEFORE = 4_215;
const fmt = (n: number): string => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(n >= 10 ? 1 : 2));

function find(results: readonly CellResult[], subject: string, workload: string, concurrency = 64): CellResult | undefined {
  return results.find((r) => r.subject === subject && r.workload === workload && r.concurrency === concurrency);
}

function ratio(results: readonly CellResult[], a: string, b: string, workload: string, concurrency = 64): number | null {
  const x = find(results, a, workload, concurrency);
  const y = find(results, b, workload, concurrency);
  return x === undefined || y === undefined || y.throughput === 0 ? null : x.throughput / y.throughput;
}

/** What `scripts/cold-start.mjs` measured, in ms (see that script). */
export interface ColdStart {
  readonly importMs: number;
  readonly createPoolFirstReadMs: number;
  readonly laterPoolFirstReadMs: number;
  readonly closeMs: number;
  readonly dropInOpenFirstGetMs: number;
  readonly laterDropInOpenFirstGetMs: number;
  readonly realSqlite3OpenFirstGetMs: number;
  readonly laterRealSqlite3OpenFirstGetMs: number;
  /** A read made as soon as a new pool's first write (its schema) is answered: that read alone. */
  readonly readAfterSchemaMs: number;
  readonly laterReadAfterSchemaMs: number;
  /** How long the idle pool was watched, and the CPU time the process used meanwhile (null: not measured). */
  readonly idleMs: number;
  readonly idleCpuMs: number | null;
  /** The first pool of a fresh process: how long createPool and its first call block the event loop, and its longest turn until the answer. */
  readonly startBlocks: { readonly createPoolMs: number; readonly firstCallMs: number; readonly longestTurnMs: number };
  /** The longest of those three. */
  readonly startBlockMs: number;
}

/** Evaluates the issues' targets on this run's cells (64 in flight unless a target says otherwise) and its cold start. */
export function targets(results: readonly CellResult[], cold?: ColdStart): TargetResult[] {
  const atLeast = (target: string, value: number | null, goal: number): TargetResult => ({
    target,
    value,
    goal: `>= ${goal}x`,
    met: value === null ? null : value >= goal,
  });
  const atMost = (target: string, value: number | null, goal: number, unit: string): TargetResult => ({
    target,
    value,
    goal: `<= ${goal} ${unit}`,
    met: value === null ? null : value <= goal,
  });
  const cpu = find(results, 'litepool wal', 'cpu-heavy');
  const litepoolCells = results.filter((r) => r.subject.startsWith('litepool'));
  const bad = litepoolCells.filter((r) => Object.keys(r.errors).length > 0 || (r.lostUpdates ?? 0) !== 0);
  const rmwTransaction = find(results, 'litepool wal', 'rmw-counter');
  const oneInFlight = find(results, DEFAULT, 'point-read', 1);
  return [
    atLeast(
      'rmw-counter via a procedure, default strategy vs raw synchronous transaction',
      ratio(results, DEFAULT, RAW, 'rmw-procedure'),
      0.5,
    ),
    atLeast(
      `rmw-counter via async pool.transaction (wal) vs ${RMW_TRANSACTION_BEFORE.toLocaleString('en-US')}/s before`,
      rmwTransaction === undefined ? null : rmwTransaction.throughput / RMW_TRANSACTION_BEFORE,
      2,
    ),
    atLeast('point reads through pool.prepare, default vs raw plain loop', ratio(results, DEFAULT, PLAIN, 'point-read-prepared'), 1.2),
    atLeast('one call at a time (latency, 1 in flight), default vs raw plain loop', ratio(results, DEFAULT, PLAIN, 'latency', 1), 0.5),
    atLeast(
      'rmw-counter via async pool.transaction (wal) vs raw synchronous transaction loop',
      ratio(results, 'litepool wal', PLAIN, 'rmw-counter'),
      0.35,
    ),
    atLeast(
      'rmw-counter via a procedure, default vs raw synchronous transaction loop',
      ratio(results, DEFAULT, PLAIN, 'rmw-procedure'),
      0.8,
    ),
    atLeast('point reads, node-sqlite3 drop-in vs pool.get (default strategy)', ratio(results, DROP_IN, DEFAULT, 'point-read'), 0.9),
    atMost(
      'point reads, node-sqlite3 drop-in event-loop delay p99 (ms)',
      find(results, DROP_IN, 'point-read')?.eventLoopP99 ?? null,
      5,
      'ms',
    ),
    atLeast('point reads, default vs raw through the harness', ratio(results, DEFAULT, RAW, 'point-read'), 1.1),
    atMost(
      'point read at 1 in flight, default strategy (µs per call)',
      oneInFlight === undefined ? null : 1e6 / oneInFlight.throughput,
      15,
      'µs',
    ),
    atMost(
      'event-loop delay p99 during any litepool cell (ms)',
      litepoolCells.length === 0 ? null : Math.max(...litepoolCells.map((r) => r.eventLoopP99)),
      2,
      'ms',
    ),
    atMost(
      'cold start: createPool + first read on a new file, first pool of a process (ms)',
      cold?.createPoolFirstReadMs ?? null,
      30,
      'ms',
    ),
    atMost('cold start: close() (ms)', cold?.closeMs ?? null, 20, 'ms'),
    atMost("cold start: import('@litepool/core') (ms)", cold?.importMs ?? null, 25, 'ms'),
    atMost('cold start: longest event-loop block while the first pool starts (ms)', cold?.startBlockMs ?? null, 2, 'ms'),
    atMost(
      'CPU used by an idle pool, % of one core',
      cold?.idleCpuMs === null || cold === undefined ? null : (100 * cold.idleCpuMs) / cold.idleMs,
      1,
      '%',
    ),
    atLeast('point reads, wal vs raw better-sqlite3', ratio(results, 'litepool wal', RAW, 'point-read'), 0.5),
    atLeast('point reads, wal vs node-sqlite3', ratio(results, 'litepool wal', 'sqlite3 (node-sqlite3)', 'point-read'), 5),
    atLeast(
      'durable writes FULL, default strategy (single-writer) vs raw autocommit',
      ratio(results, DEFAULT, RAW, 'durable-write-full'),
      10,
    ),
    atLeast('CPU-heavy reads, wal vs raw', ratio(results, 'litepool wal', RAW, 'cpu-heavy'), 1.6),
    {
      target: 'CPU-heavy reads, wal main-thread event-loop delay p99 (ms)',
      value: cpu?.eventLoopP99 ?? null,
      goal: '<= 20 ms',
      met: cpu === undefined ? null : cpu.eventLoopP99 <= 20,
    },
    atLeast('read-heavy mix, wal vs knex + sqlite3', ratio(results, 'litepool wal', 'knex + sqlite3', 'read-heavy'), 3),
    atLeast(
      'read-heavy mix, wal vs @matteo.collina/sqlite-pool',
      ratio(results, 'litepool wal', '@matteo.collina/sqlite-pool', 'read-heavy'),
      2,
    ),
    {
      target: 'litepool strategies: cells with errors or lost updates',
      value: litepoolCells.length === 0 ? null : bad.length,
      goal: '0',
      met: litepoolCells.length === 0 ? null : bad.length === 0,
    },
  ];
}

function header(title: string, info: RunInfo): string[] {
  return [
    `# ${title}`,
    '',
    `- machine: ${info.machine}`,
    `- Node ${info.node}, SQLite ${info.sqlite}`,
    `- date: ${info.date}`,
    `- command: \`${info.command}\``,
    '',
  ];
}

/** The network-drive report: the target ratio per op, then every cell. */
export function networkMarkdown(results: readonly NetworkResult[], info: RunInfo): string {
  const lines = [
    ...header('litepool network-drive benchmark', info),
    '## Target: litepool file-lock >= 5x one lock per transaction (2 hosts x 32 handlers)',
    '',
    '| mount | op | subject | ratio | met |',
    '| --- | --- | --- | ---: | --- |',
    ...networkRatios(results).map(
      (r) =>
        `| ${r.mount} | ${r.op} | ${r.subject} | ${r.ratio === null ? 'not measured' : `${fmt(r.ratio)}x`} | ${r.ratio === null ? '-' : r.ratio >= 5 ? 'yes' : 'NO'} |`,
    ),
    '',
    '## Cells',
    '',
    '| mount | subject | op | increments/s | p50 ms | p99 ms | errors | lost | integrity |',
    '| --- | --- | --- | ---: | ---: | ---: | --- | ---: | --- |',
    ...results.map((r) => {
      const errors =
        Object.entries(r.errors)
          .map(([code, n]) => `${code}: ${n}`)
          .join(', ') || '0';
      return `| ${r.mount} | ${r.subject} | ${r.op} | ${fmt(r.throughput)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${errors} | ${r.lostUpdates} | ${r.integrity} |`;
    }),
  ];
  return `${lines.join('\n')}\n`;
}

/** A cell with fewer operations than this is too short to trust; the tables mark it. */
export const FEW_OPS = 200;
/** The event-loop p99 a recommended subject stays under, in ms. */
const LOOP_P99_LIMIT = 20;

/** Whether a cell is correct (no errors, no lost updates) and keeps the event loop free. */
function sound(cell: CellResult): boolean {
  return Object.keys(cell.errors).length === 0 && (cell.lostUpdates ?? 0) === 0 && cell.eventLoopP99 < LOOP_P99_LIMIT;
}

/**
 * Per workload and level: the fastest subject whose cell had no errors, no
 * lost updates and an event-loop p99 under 20 ms (undefined if none did).
 */
export function recommendations(results: readonly CellResult[]): { workload: string; concurrency: number; best: CellResult | undefined }[] {
  const levels = [...new Set(results.map((r) => r.concurrency))].sort((a, b) => a - b);
  return WORKLOADS.filter((w) => results.some((r) => r.workload === w.id)).flatMap((workload) =>
    levels.map((concurrency) => {
      const candidates = results.filter((r) => r.workload === workload.id && r.concurrency === concurrency && sound(r));
      const best = candidates.reduce<CellResult | undefined>((a, b) => (a === undefined || b.throughput > a.throughput ? b : a), undefined);
      return { workload: workload.id, concurrency, best };
    }),
  );
}

/** Throughput, with a mark when the cell measured too few operations to trust. */
const ops = (cell: CellResult): string => `${fmt(cell.throughput)}${cell.ops < FEW_OPS ? ' †' : ''}`;

/** The Markdown report: run info, targets, recommendations, then one table per workload. */
export function markdown(results: readonly CellResult[], info: RunInfo, cold?: ColdStart): string {
  const levels = [...new Set(results.map((r) => r.concurrency))].sort((a, b) => a - b);
  const recommended = recommendations(results);
  const lines = [
    ...header('litepool benchmark results', info),
    '## Targets (ratios of throughput in this run, 64 in flight)',
    '',
    '| target | value | goal | met |',
    '| --- | ---: | --- | --- |',
    ...targets(results, cold).map(
      (t) =>
        `| ${t.target} | ${t.value === null ? 'not measured' : fmt(t.value)} | ${t.goal} | ${t.met === null ? '-' : t.met ? 'yes' : 'NO'} |`,
    ),
    '',
    `## Which to use: the fastest subject with 0 errors, 0 lost updates and an event-loop p99 under ${LOOP_P99_LIMIT} ms`,
    '',
    `| workload | ${levels.map((level) => `${level} in flight`).join(' | ')} |`,
    `| --- | ${levels.map(() => '---').join(' | ')} |`,
    ...WORKLOADS.filter((w) => results.some((r) => r.workload === w.id)).map((workload) => {
      const cells = levels.map((level) => {
        if (!results.some((r) => r.workload === workload.id && r.concurrency === level)) return '-';
        const best = recommended.find((r) => r.workload === workload.id && r.concurrency === level)?.best;
        return best === undefined ? 'none qualifies' : `${best.subject} (${ops(best)} ops/s)`;
      });
      return `| ${workload.title} | ${cells.join(' | ')} |`;
    }),
    '',
    `† fewer than ${FEW_OPS} operations measured: too few to trust (lengthen --measure-ms).`,
    ...(cold === undefined ? [] : coldStartLines(cold)),
  ];
  for (const workload of WORKLOADS) {
    const cells = results.filter((r) => r.workload === workload.id);
    if (cells.length === 0) continue;
    lines.push(
      '',
      `## ${workload.title}`,
      '',
      '| subject | in flight | ops/s | vs raw | p50 ms | p95 ms | p99 ms | loop p99 ms | CPU µs/op | errors | lost |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |',
    );
    for (const r of cells) {
      const base = find(results, RAW, r.workload, r.concurrency);
      const errors =
        Object.entries(r.errors)
          .map(([code, n]) => `${code}: ${n}`)
          .join(', ') || '0';
      lines.push(
        `| ${r.subject} | ${r.concurrency} | ${ops(r)} | ${base ? `${fmt(r.throughput / base.throughput)}x` : '-'} | ${fmt(r.p50)} | ${fmt(r.p95)} | ${fmt(r.p99)} | ${fmt(r.eventLoopP99)} | ${Math.round(r.cpuPerOpUs)} | ${errors} | ${r.lostUpdates ?? '-'} |`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The cold-start section: what a CLI, a test suite or a fresh process meets first. */
function coldStartLines(cold: ColdStart): string[] {
  return [
    '',
    '## Cold start (ms; a new file each time; `node packages/bench/scripts/cold-start.mjs`)',
    '',
    '| | first in the process | each later one (median of 9) |',
    '| --- | ---: | ---: |',
    `| \`import('@litepool/core')\` | ${cold.importMs} | - |`,
    `| \`createPool\` + first read | ${cold.createPoolFirstReadMs} | ${cold.laterPoolFirstReadMs} |`,
    `| \`pool.close()\` | - | ${cold.closeMs} |`,
    `| node-sqlite3 drop-in: open + first \`get\` | ${cold.dropInOpenFirstGetMs} | ${cold.laterDropInOpenFirstGetMs} |`,
    `| the real \`sqlite3\`: open + first \`get\` | ${cold.realSqlite3OpenFirstGetMs} | ${cold.laterRealSqlite3OpenFirstGetMs} |`,
    `| a read right after a new pool's first write (the read alone) | ${cold.readAfterSchemaMs} | ${cold.laterReadAfterSchemaMs} |`,
    '',
    `The first pool's start, in a fresh process: \`createPool\` blocks the event loop ${cold.startBlocks.createPoolMs} ms, its first call ${cold.startBlocks.firstCallMs} ms, and its longest turn until the answer takes ${cold.startBlocks.longestTurnMs} ms.`,
    '',
    cold.idleCpuMs === null
      ? 'CPU of an idle pool: not measured.'
      : `CPU time the process used over ${cold.idleMs / 1000} s with an idle pool (after a write and 1,000 reads): ${cold.idleCpuMs} ms.`,
  ];
}

const COLORS = [
  '#1f77b4',
  '#2ca02c',
  '#17becf',
  '#9467bd',
  '#7f7f7f',
  '#d62728',
  '#ff7f0e',
  '#8c564b',
  '#e377c2',
  '#bcbd22',
  '#393b79',
  '#637939',
];
const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/**
 * A chart a person can read at a glance: for each workload, throughput at the
 * highest level relative to raw better-sqlite3, on a log scale, each bar drawn
 * from 1x outward (right: faster, left: slower), labelled with the ratio, the
 * latency p99 and the event-loop p99.
 */
export function chart(results: readonly CellResult[], info: RunInfo): string {
  const level = Math.max(...results.map((r) => r.concurrency));
  const subjects = [...new Set(results.map((r) => r.subject))];
  const workloads = WORKLOADS.filter((w) => results.some((r) => r.workload === w.id && r.concurrency === level));
  const bar = 13;
  const groupGap = 26;
  const left = 250;
  const width = 1100;
  const plot = 560;
  const top = 70;
  const groupHeight = subjects.length * bar + groupGap;
  const height = top + workloads.length * groupHeight + 40;
  const minLog = -2;
  const maxLog = 2; // 0.01x .. 100x of raw
  const x = (value: number): number => left + ((Math.min(maxLog, Math.max(minLog, Math.log10(value))) - minLog) / (maxLog - minLog)) * plot;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">Throughput relative to raw better-sqlite3 on the main thread (${level} in flight, log scale; bars from 1x)</text>`,
    `<text x="10" y="38" fill="#555">${escape(`${info.machine}; Node ${info.node}; SQLite ${info.sqlite}; ${info.command}`)}</text>`,
  ];
  for (const tick of [0.01, 0.1, 0.5, 1, 2, 5, 10, 100]) {
    out.push(`<line x1="${x(tick)}" y1="${top - 8}" x2="${x(tick)}" y2="${height - 30}" stroke="${tick === 1 ? '#000' : '#ddd'}"/>`);
    out.push(`<text x="${x(tick)}" y="${top - 12}" text-anchor="middle" fill="#555">${tick}x</text>`);
  }
  workloads.forEach((workload, g) => {
    const y0 = top + g * groupHeight;
    out.push(`<text x="10" y="${y0 + 10}" font-weight="bold">${escape(workload.title)}</text>`);
    subjects.forEach((subject, i) => {
      const cell = find(results, subject, workload.id, level);
      const base = find(results, RAW, workload.id, level);
      const y = y0 + 14 + i * bar;
      out.push(`<text x="${left - 6}" y="${y + bar - 3}" text-anchor="end">${escape(subject)}</text>`);
      if (cell === undefined || base === undefined || base.throughput === 0) return;
      const value = cell.throughput / base.throughput;
      const from = Math.min(x(1), x(value));
      const broken = Object.keys(cell.errors).length > 0 || (cell.lostUpdates ?? 0) > 0;
      out.push(
        `<rect x="${from}" y="${y + 1}" width="${Math.max(1, Math.abs(x(value) - x(1)))}" height="${bar - 2}" fill="${COLORS[i % COLORS.length]}"/>`,
      );
      const label = `${fmt(value)}x · p99 ${fmt(cell.p99)} ms · loop p99 ${fmt(cell.eventLoopP99)} ms${cell.ops < FEW_OPS ? ' · too few ops' : ''}${broken ? ' · errors/lost updates' : ''}`;
      out.push(`<text x="${left + plot + 10}" y="${y + bar - 3}" fill="${broken ? '#c00' : '#000'}">${escape(label)}</text>`);
    });
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
