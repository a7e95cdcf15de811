/**
 * The network-drive workload: two "hosts" (two processes, each through its
 * own FUSE mount of one directory, set up by scripts/network-drive.sh) with
 * 32 handlers each incrementing one counter. litepool's file-lock (one lock
 * hold for every queued operation) against one proper-lockfile hold per
 * transaction. Needs root and the mount tools.
 */
import BetterSqlite3 from 'better-sqlite3';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { HostJob, HostResult, NetworkOp, NetworkSubject } from './network-host.js';

/** The mounts the helper script can set up. */
export type MountKind = 'sshfs' | 'bindfs';

/** One subject x op over two hosts. */
export interface NetworkResult {
  readonly mount: MountKind;
  readonly subject: NetworkSubject;
  readonly op: NetworkOp;
  readonly handlersPerHost: number;
  /** Increments acknowledged by both hosts. */
  readonly ok: number;
  readonly seconds: number;
  readonly throughput: number;
  /** Acknowledged increments missing from the database. */
  readonly lostUpdates: number;
  readonly errors: Record<string, number>;
  /** Worst of the two hosts, ms. */
  readonly p50: number;
  readonly p99: number;
  readonly integrity: string;
}

const here = dirname(fileURLToPath(import.meta.url));
const script = join(here, '..', '..', '..', 'scripts', 'network-drive.sh');
const hostScript = join(here, 'network-host.js');

/** Every (subject, op) pair, litepool first. */
export const NETWORK_CELLS: readonly { subject: NetworkSubject; op: NetworkOp }[] = [
  { subject: 'litepool file-lock', op: 'rmw-transaction' },
  { subject: 'litepool file-lock, groupTransactions', op: 'rmw-transaction' },
  { subject: 'one lock per transaction', op: 'rmw-transaction' },
  { subject: 'litepool file-lock', op: 'increment' },
  { subject: 'one lock per transaction', op: 'increment' },
];

function createCounter(filename: string): void {
  const db = new BetterSqlite3(filename);
  db.pragma('journal_mode = DELETE');
  db.exec('CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL); INSERT INTO counter VALUES (1, 0)');
  db.close();
}

function readBack(filename: string): { n: number; integrity: string } {
  const db = new BetterSqlite3(filename, { readonly: true });
  try {
    const { n } = db.prepare('SELECT n FROM counter WHERE id = 1').get() as { n: number };
    return { n, integrity: db.pragma('integrity_check', { simple: true }) as string };
  } finally {
    db.close();
  }
}

async function startHost(job: HostJob): Promise<{ go: () => void; result: Promise<HostResult> }> {
  const proc = spawn(process.execPath, [hostScript, JSON.stringify(job)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  const closed = new Promise<HostResult>((resolve, reject) => {
    // 'close' comes after stdout ended, so every line has been seen.
    proc.on('close', (code) => {
      const last = lines.at(-1);
      if (code === 0 && last !== undefined && last !== 'ready') resolve(JSON.parse(last) as HostResult);
      else reject(new Error(`network host exited with ${String(code)}; it printed ${JSON.stringify(lines)}`));
    });
  });
  const ready = new Promise<void>((resolve) =>
    createInterface({ input: proc.stdout }).on('line', (line) => {
      lines.push(line);
      if (line === 'ready') resolve();
    }),
  );
  await Promise.race([ready, closed]);
  return { go: () => proc.stdin.write('go\n'), result: closed };
}

/** Runs one pair over fresh mounts' shared directory and reads the result back through the share itself. */
async function runCell(
  mount: MountKind,
  hostA: string,
  hostB: string,
  share: string,
  cell: (typeof NETWORK_CELLS)[number],
  handlers: number,
  ms: number,
): Promise<NetworkResult> {
  const name = `${cell.subject.replace(/\W+/g, '-')}-${cell.op}.db`;
  createCounter(join(share, name));
  const hosts = await Promise.all([hostA, hostB].map((host) => startHost({ ...cell, filename: join(host, name), handlers, ms })));
  for (const host of hosts) host.go();
  const results = await Promise.all(hosts.map((host) => host.result));
  const ok = results.reduce((sum, r) => sum + r.ok, 0);
  const seconds = Math.max(...results.map((r) => r.seconds));
  const errors: Record<string, number> = {};
  for (const r of results) for (const [code, n] of Object.entries(r.errors)) errors[code] = (errors[code] ?? 0) + n;
  const { n, integrity } = readBack(join(share, name));
  return {
    mount,
    ...cell,
    handlersPerHost: handlers,
    ok,
    seconds,
    throughput: ok / seconds,
    lostUpdates: ok - n,
    errors,
    p50: Math.max(...results.map((r) => r.p50)),
    p99: Math.max(...results.map((r) => r.p99)),
    integrity,
  };
}

/** Mounts, runs every cell of {@link NETWORK_CELLS}, unmounts. `onCell` sees each result as it lands. */
export async function runNetworkBench(
  mount: MountKind,
  options: { handlers: number; ms: number; onCell?: (result: NetworkResult) => void },
): Promise<NetworkResult[]> {
  const dir = mkdtempSync(join(tmpdir(), `litepool-bench-${mount}-`));
  try {
    const [hostA, hostB] = execFileSync('bash', [script, 'up', dir, mount], { encoding: 'utf8' }).trim().split('\n');
    const results: NetworkResult[] = [];
    for (const cell of NETWORK_CELLS) {
      const result = await runCell(mount, hostA!, hostB!, join(dir, 'share'), cell, options.handlers, options.ms);
      options.onCell?.(result);
      results.push(result);
    }
    return results;
  } finally {
    execFileSync('bash', [script, 'down', dir], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Each litepool subject's rate over one lock per transaction, per mount and op. */
export function networkRatios(
  results: readonly NetworkResult[],
): { mount: MountKind; op: NetworkOp; subject: NetworkSubject; ratio: number | null }[] {
  return results
    .filter((r) => r.subject !== 'one lock per transaction')
    .map((ours) => {
      const theirs = results.find((r) => r.mount === ours.mount && r.op === ours.op && r.subject === 'one lock per transaction');
      return {
        mount: ours.mount,
        op: ours.op,
        subject: ours.subject,
        ratio: theirs === undefined || theirs.throughput === 0 ? null : ours.throughput / theirs.throughput,
      };
    });
}
