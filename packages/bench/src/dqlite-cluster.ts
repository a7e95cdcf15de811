/**
 * A real 3-node dqlite cluster on loopback, for the benchmark and the tests:
 * Debian's `dqlite-demo` (the go-dqlite demo node) or litepool's own node
 * program, on free ports, data in a temp directory. Nodes can be killed and
 * started again (they rejoin with their data), and more can join.
 */
import { DqliteClient, type ClusterNode, type DqliteTlsOptions } from '@litepool/dqlite';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A running cluster. */
export interface Cluster {
  /** The first 3 nodes' database addresses (`127.0.0.1:port`). */
  readonly servers: readonly string[];
  /** The members and their roles, as the leader lists them. */
  members(): Promise<ClusterNode[]>;
  /** Starts a new node that joins the cluster (litepool's node program only); its address once it is a member. */
  add(): Promise<string>;
  /** The address of the node leading now (asks the cluster). */
  leader(): Promise<string>;
  /** Kills a node (SIGKILL by default); resolves once its process is gone. */
  kill(address: string, signal?: NodeJS.Signals): Promise<void>;
  /** Starts a killed node again, with its data. */
  start(address: string): void;
  /** Stops every node. */
  stop(): Promise<void>;
}

/**
 * `count` free loopback ports, all different: each listener stays open until
 * every port is taken, so the system cannot hand one port out twice (a node
 * whose two ports collided could not listen on both).
 */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Server>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  });
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/** Whether something accepts a TCP connection at `address` (`host:port`) within `ms`. */
function accepts(address: string, ms: number): Promise<boolean> {
  const [host, port] = address.split(':');
  return new Promise((resolve) => {
    const socket = connect({ host, port: Number(port) });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), ms);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Waits until the cluster has `count` voters: nodes join as spares and are
 * promoted over the following seconds, and until then the leader is the only
 * voter (killing it would leave no quorum).
 */
export async function waitForVoters(servers: readonly string[], count: number, tls?: DqliteTlsOptions): Promise<void> {
  const deadline = performance.now() + 60_000;
  for (;;) {
    const client = await DqliteClient.connect(servers, 'probe', 20_000, { tls });
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

/**
 * The node program: Debian's `dqlite-demo`, or litepool's own node (a path
 * to the built `litepool-dqlite-node`, extra flags, and the TLS options the
 * probes use when the flags turn TLS on).
 */
export type NodeProgram =
  'dqlite-demo' | { readonly litepoolNode: string; readonly args?: readonly string[]; readonly clientTls?: DqliteTlsOptions };

/**
 * Starts 3 nodes and resolves once all 3 are voters (a leader killed before
 * then would leave no quorum).
 */
export async function startLocalCluster(program: NodeProgram = 'dqlite-demo'): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'litepool-dqlite-'));
  const tls = program === 'dqlite-demo' ? undefined : program.clientTls;
  interface Node {
    readonly api: string;
    readonly db: string;
    readonly dir: string;
    process: ChildProcess | undefined;
  }
  const nodes: Node[] = [];
  const newNode = (api: number, db: number): Node => {
    const node = { api: `127.0.0.1:${api}`, db: `127.0.0.1:${db}`, dir: join(dir, `node${nodes.length + 1}`), process: undefined };
    nodes.push(node);
    return node;
  };
  const ports = await freePorts(6);
  for (let i = 0; i < 3; i++) newNode(ports[2 * i]!, ports[2 * i + 1]!);
  const first = nodes[0]!.db;
  const launch = (node: Node): void => {
    mkdirSync(node.dir, { recursive: true });
    if (program === 'dqlite-demo') {
      const args = ['--api', node.api, '--db', node.db, '--dir', node.dir];
      if (node.db !== first) args.push('--join', first);
      node.process = spawn('dqlite-demo', args, { stdio: 'ignore' });
    } else {
      const args = ['--address', node.db, '--dir', node.dir, ...(program.args ?? [])];
      // A node joins through every member started before it (the first may be down by then).
      if (node.db !== first)
        args.push(
          '--join',
          nodes
            .filter((other) => other !== node && other.process !== undefined)
            .map((other) => other.db)
            .join(','),
        );
      node.process = spawn(program.litepoolNode, args, { stdio: 'ignore' });
    }
  };
  const stopped = (node: Node): Promise<void> =>
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
  const everyAddress = (): string[] => nodes.map((node) => node.db);
  const cluster: Cluster = {
    servers,
    async leader() {
      const client = await DqliteClient.connect(everyAddress(), 'probe', 20_000, { tls });
      client.close();
      return client.leader;
    },
    async members() {
      const client = await DqliteClient.connect(everyAddress(), 'probe', 20_000, { tls });
      try {
        return await client.cluster();
      } finally {
        client.close();
      }
    },
    async add() {
      if (program === 'dqlite-demo') throw new Error('add() needs litepool-dqlite-node');
      const [api, db] = await freePorts(2);
      const node = newNode(api!, db!);
      launch(node);
      const deadline = performance.now() + 60_000;
      while (!(await cluster.members()).some((member) => member.address === node.db)) {
        if (performance.now() > deadline) throw new Error(`${node.db} did not join within 60 s`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      return node.db;
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
    await waitForVoters(servers, 3, tls);
    // A voter in the leader's configuration may still have died since it joined (its process exited): every node must
    // answer before the cluster is handed out. One that does not is started again, once, and rejoins.
    let restarted = false;
    for (const node of nodes) {
      if (await accepts(node.db, 5_000)) continue;
      restarted = true;
      if (node.process?.exitCode === null && node.process.signalCode === null) node.process.kill('SIGKILL');
      await stopped(node);
      launch(node);
      const deadline = performance.now() + 30_000;
      while (!(await accepts(node.db, 1_000))) {
        if (performance.now() > deadline) throw new Error(`dqlite node ${node.db} does not accept connections`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    if (restarted) await waitForVoters(servers, 3, tls);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}
