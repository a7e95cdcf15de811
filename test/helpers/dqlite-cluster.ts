/**
 * The dqlite cluster of the tests (see packages/bench/src/dqlite-cluster.ts),
 * stopped when the test ends; outside CI the test is skipped when
 * `dqlite-demo` is missing.
 */
import type { TestContext } from 'node:test';
import { startLocalCluster, type Cluster, type NodeProgram } from '../../packages/bench/src/dqlite-cluster.js';
import { needTools } from './tools.js';

export type { Cluster } from '../../packages/bench/src/dqlite-cluster.js';

/** Starts 3 nodes (see startLocalCluster); undefined when the test was skipped. */
export async function startCluster(t: TestContext, program: NodeProgram = 'dqlite-demo'): Promise<Cluster | undefined> {
  if (program === 'dqlite-demo' && !needTools(t, 'dqlite-demo')) return undefined;
  const cluster = await startLocalCluster(program);
  t.after(() => cluster.stop());
  return cluster;
}
