/**
 * litepool-dqlite-node for the tests: built by its one command, certificates
 * made at test time with openssl, and a load of callers that records what
 * each call came to (for the failover, rolling-restart and membership tests).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { Pool } from '@litepool/core';
import { tempDir } from './temp.js';
import { needTools } from './tools.js';

/** Builds litepool-dqlite-node by its one command (packages/dqlite/node/build.sh); its path, or undefined when the test was skipped. */
export function buildNode(t: TestContext): string | undefined {
  if (!needTools(t, 'go')) return undefined;
  const dir = join(import.meta.dirname, '..', '..', 'packages', 'dqlite', 'node');
  execFileSync('sh', [join(dir, 'build.sh')], { stdio: 'ignore', timeout: 240_000 });
  return join(dir, 'litepool-dqlite-node');
}

/**
 * PEM files in a directory: a CA, a node and a client certificate it signed,
 * a stranger's CA and client certificate, and one self-signed cluster
 * certificate (for 127.0.0.1 and localhost) that nodes and clients share.
 */
export interface Certificates {
  readonly clusterCert: string;
  readonly clusterKey: string;
  readonly ca: string;
  readonly nodeCert: string;
  readonly nodeKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  readonly strangerCa: string;
  readonly strangerCert: string;
  readonly strangerKey: string;
}

/** Makes the certificates of {@link Certificates} in `dir` with openssl (EC P-256, valid 2 days; nodes' for 127.0.0.1 and localhost). */
export function makeCertificates(dir: string): Certificates {
  const file = (name: string): string => join(dir, name);
  const openssl = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'ignore' });
  // A new EC P-256 key for `/CN=name`, written to name.key.
  const newKey = (name: string): string[] => [
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    file(`${name}.key`),
  ];
  const authority = (name: string, ...extra: string[]): void =>
    openssl('req', '-x509', ...extra, ...newKey(name), '-days', '2', '-out', file(`${name}.crt`));
  const signed = (name: string, ca: string, names: string): void => {
    openssl('req', ...newKey(name), '-out', file(`${name}.csr`));
    writeFileSync(file(`${name}.ext`), `subjectAltName=${names}\n`);
    openssl(
      'x509',
      '-req',
      '-in',
      file(`${name}.csr`),
      '-CA',
      file(`${ca}.crt`),
      '-CAkey',
      file(`${ca}.key`),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      file(`${name}.ext`),
      '-out',
      file(`${name}.crt`),
    );
  };
  authority('ca');
  authority('stranger-ca');
  authority('cluster', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1');
  signed('node', 'ca', 'DNS:localhost,IP:127.0.0.1');
  signed('client', 'ca', 'DNS:litepool-client');
  signed('stranger', 'stranger-ca', 'DNS:litepool-client');
  return {
    clusterCert: file('cluster.crt'),
    clusterKey: file('cluster.key'),
    ca: file('ca.crt'),
    nodeCert: file('node.crt'),
    nodeKey: file('node.key'),
    clientCert: file('client.crt'),
    clientKey: file('client.key'),
    strangerCa: file('stranger-ca.crt'),
    strangerCert: file('stranger.crt'),
    strangerKey: file('stranger.key'),
  };
}

/** The certificates made in a temp directory of the test (removed after it), and a reader of their PEM bytes. */
export function testCertificates(t: TestContext): { certs: Certificates; pem: (file: string) => Buffer } {
  return { certs: makeCertificates(tempDir(t, 'litepool-tls-')), pem: (file) => readFileSync(file) };
}

/** What a load of callers came to. */
export interface LoadReport {
  /** Ids whose insert was acknowledged. */
  readonly acked: Set<number>;
  /** Ids whose insert failed with ERR_COMMIT_UNKNOWN (present or not). */
  readonly unknown: Set<number>;
  /** Counter increments acknowledged, and those whose outcome is unknown. */
  increments: number;
  unknownIncrements: number;
  /** Calls by outcome: `ok` or the error's code. */
  readonly outcomes: Map<string, number>;
  /** The longest call, in ms. */
  longestMs: number;
  /** The first message seen of each error code, and whether it came from an insert or a transaction. */
  readonly samples: Map<string, string>;
}

/**
 * Runs `callers` callers until `stop()`: even ones insert unique ids one at a
 * time, odd ones increment `counter` (id 1) in a transaction with an await
 * between the read and the write. `settled` resolves when every caller has.
 */
export function runLoad(pool: Pool, callers: number): { report: LoadReport; stop: () => void; settled: Promise<void> } {
  const report: LoadReport = {
    acked: new Set(),
    unknown: new Set(),
    increments: 0,
    unknownIncrements: 0,
    outcomes: new Map(),
    longestMs: 0,
    samples: new Map(),
  };
  let next = 1;
  let stopped = false;
  const count = (outcome: string): void => void report.outcomes.set(outcome, (report.outcomes.get(outcome) ?? 0) + 1);
  const settled = Promise.all(
    Array.from({ length: callers }, async (_, caller) => {
      while (!stopped) {
        const id = next++;
        const started = performance.now();
        try {
          if (caller % 2 === 0) await pool.run('INSERT INTO acked (id) VALUES (?)', [id]);
          else
            await pool.transaction(async (tx) => {
              const { n } = (await tx.get<{ n: number }>('SELECT n FROM counter WHERE id = 1'))!;
              await new Promise((resolve) => setImmediate(resolve));
              await tx.run('UPDATE counter SET n = ? WHERE id = 1', [n + 1]);
            });
          if (caller % 2 === 0) report.acked.add(id);
          else report.increments++;
          count('ok');
        } catch (error) {
          const code = (error as { code?: string }).code ?? 'untyped';
          if (code === 'ERR_COMMIT_UNKNOWN') {
            if (caller % 2 === 0) report.unknown.add(id);
            else report.unknownIncrements++;
          }
          count(code);
          if (!report.samples.has(code))
            report.samples.set(code, `${caller % 2 === 0 ? 'insert' : 'transaction'}: ${(error as Error).message}`);
          // A pool closed under the load (a test that failed early is cleaned up) answers at once: stop, and never
          // retry without a turn of the event loop, or the callers spin in promise reactions and starve its timers.
          if (code === 'ERR_POOL_CLOSED') break;
          await new Promise((resolve) => setImmediate(resolve));
        }
        report.longestMs = Math.max(report.longestMs, performance.now() - started);
      }
    }),
  ).then(() => undefined);
  return { report, stop: () => (stopped = true), settled };
}

/** The tables {@link runLoad} writes. */
export async function setupLoad(pool: Pool): Promise<void> {
  await pool.exec(
    'CREATE TABLE IF NOT EXISTS acked (id INTEGER PRIMARY KEY); CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)',
  );
  await pool.run('INSERT OR IGNORE INTO counter VALUES (1, 0)');
}

/** The error codes a caller may see while nodes restart, join or leave: each says what became of its call. */
export const TYPED_DURING_OPERATIONS = new Set(['ERR_LEADER_LOST', 'ERR_TRANSACTION_ABORTED', 'ERR_COMMIT_UNKNOWN']);

/** What the database holds after a load: acknowledged ids missing from it, and the counter. */
export async function readBack(pool: Pool, report: LoadReport): Promise<{ missing: number[]; counter: number }> {
  const present = new Set((await pool.all<{ id: number }>('SELECT id FROM acked')).map((row) => row.id));
  const counter = (await pool.get<{ n: number }>('SELECT n FROM counter WHERE id = 1'))!.n;
  return { missing: [...report.acked].filter((id) => !present.has(id)), counter };
}

/** One line for a test's diagnostics: acknowledged writes, errors by code, the longest call. */
export function describeLoad(report: LoadReport, counter: number): string {
  const errors = Object.fromEntries([...report.outcomes].filter(([outcome]) => outcome !== 'ok'));
  return (
    `${report.acked.size} inserts and ${report.increments} increments acknowledged, 0 missing; counter ${counter} ` +
    `(${report.unknownIncrements} increments unknown); errors ${JSON.stringify(errors)}; longest call ${Math.round(report.longestMs)} ms`
  );
}
