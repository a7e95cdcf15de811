/**
 * A real 3-node dqlite cluster on loopback, for the benchmark and the tests:
 * Debian's `dqlite-demo` (the go-dqlite demo node) or litepool's own node
 * program, on free ports, data in a temp directory. Nodes can be killed and
 * started again (they rejoin with their data).
 */
import { DqliteClient } from '@litepool/dqlite';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A running cluster. */
export interface Cluster {
  /** The nodes' database addresses (`127.0.0.1:port`). */
  readonly servers: readonly string[];
  /** The address of the node leading now (asks the cluster). */
  leader(): Promise<string>;
  /** Kills a node (SIGKILL by default); resolves once its process is gone. */
  kill(address: string, signal?: NodeJS.Signals): Promise<void>;
  /** Starts a killed node again, with its data. */
  start(address: string): void;
  /** Stops every node. */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/**
 * Waits until the cluster has `count` voters: nodes join as spares and are
 * promoted over the following seconds, and until then the leader is the only
 * voter (killing it would leave no quorum).
 */
export async function waitForVoters(servers: readonly string[], count: number): Promise<void> {
  const deadline = performance.now() + 60_000;
  for (;;) {
    const client = await DqliteClient.connect(servers, 'probe', 20_000);
    try {
      const voters = (await client.cluster()).filter((node) => node.role === 'voter').length;
      if (voters >= count) return;
      if (performance.now() > deadline) throw new Error(`The dqlite cluster has ${voters} voters after 60 s, expected ${count}`);
    } finally {
      client.close();
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The node program: Debian's `dqlite-demo`, or litepool's own node (a path to the built `litepool-dqlite-node`, and extra flags). */
export type NodeProgram = 'dqlite-demo' | { readonly litepoolNode: string; readonly args?: readonly string[] };

/**
 * Starts 3 nodes and resolves once all 3 are voters (a leader killed before
 * then would leave no quorum).
 */
export async function startLocalCluster(program: NodeProgram = 'dqlite-demo'): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'litepool-dqlite-'));
  const ports = await Promise.all(Array.from({ length: 6 }, freePort));
  const nodes = [0, 1, 2].map((i) => ({
    api: `127.0.0.1:${ports[i * 2]!}`,
    db: `127.0.0.1:${ports[i * 2 + 1]!}`,
    dir: join(dir, `node${i + 1}`),
    process: undefined as ChildProcess | undefined,
  }));
  const first = nodes[0]!.db;
  const launch = (node: (typeof nodes)[number]): void => {
    mkdirSync(node.dir, { recursive: true });
    if (program === 'dqlite-demo') {
      const args = ['--api', node.api, '--db', node.db, '--dir', node.dir];
      if (node.db !== first) args.push('--join', first);
      node.process = spawn('dqlite-demo', args, { stdio: 'ignore' });
    } else {
      const args = ['--address', node.db, '--dir', node.dir, ...(program.args ?? [])];
      if (node.db !== first) args.push('--join', first);
      node.process = spawn(program.litepoolNode, args, { stdio: 'ignore' });
    }
  };
  const stopped = (node: (typeof nodes)[number]): Promise<void> =>
    new Promise((resolve) => {
      const child = node.process;
      if (child === undefined || child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
    });
  for (const node of nodes) {
    launch(node);
    // The first node bootstraps the cluster; the others join it once it listens.
    if (node === nodes[0]) await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const servers = nodes.map((node) => node.db);
  const cluster: Cluster = {
    servers,
    async leader() {
      const client = await DqliteClient.connect(servers, 'probe', 20_000);
      client.close();
      return client.leader;
    },
    async kill(address, signal = 'SIGKILL') {
      const node = nodes.find((n) => n.db === address);
      if (node?.process === undefined) return;
      const gone = stopped(node);
      node.process.kill(signal);
      await gone;
    },
    start(address) {
      const node = nodes.find((n) => n.db === address);
      if (node !== undefined) launch(node);
    },
    async stop() {
      await Promise.all(
        nodes.map(async (node) => {
          const gone = stopped(node);
          node.process?.kill('SIGKILL');
          await gone;
        }),
      );
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitForVoters(servers, 3);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}
