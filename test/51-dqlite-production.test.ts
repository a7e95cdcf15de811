/**
 * dqlite in production (issue 23), on loopback clusters of litepool-dqlite-node:
 * mutual TLS end to end, a rolling restart of every node under load, and
 * growing the cluster to 5 nodes and removing a dead one while a pool serves.
 */
import { createPool } from '@litepool/core';
import { DqliteClient, DqliteTlsError, dqlite, type DqliteTlsOptions } from '@litepool/dqlite';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { waitForVoters } from '../packages/bench/src/dqlite-cluster.js';
import { startCluster } from './helpers/dqlite-cluster.js';
import { buildNode, describeLoad, testCertificates, readBack, runLoad, setupLoad, TYPED_DURING_OPERATIONS } from './helpers/dqlite-node.js';
import { fakeDqlite } from './helpers/fake-dqlite.js';
import { needTools } from './helpers/tools.js';

const run = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The code a promise rejects with, and how long it took. */
async function refusal(promise: Promise<unknown>): Promise<{ error: { code?: string; message: string }; ms: number }> {
  const started = performance.now();
  const error = await promise.then(
    () => assert.fail('expected a rejection'),
    (error: unknown) => error as { code?: string; message: string },
  );
  return { error, ms: performance.now() - started };
}

describe('dqlite in production', { timeout: 600_000 }, () => {
  test('mutual TLS: a pool over a TLS cluster works; a client without a valid certificate, or that does not trust the nodes, is refused with ERR_DQLITE_TLS; a plaintext client is refused; TLS never falls back to plaintext', async (t) => {
    const program = buildNode(t);
    if (program === undefined || !needTools(t, 'openssl')) return;
    const { certs, pem } = testCertificates(t);
    const clientTls: DqliteTlsOptions = { ca: pem(certs.ca), cert: pem(certs.clientCert), key: pem(certs.clientKey) };
    const nodeFlags = ['--tls-cert', certs.nodeCert, '--tls-key', certs.nodeKey, '--tls-ca', certs.ca];
    const cluster = (await startCluster(t, { litepoolNode: program, args: nodeFlags, clientTls }))!;
    const servers = [...cluster.servers];

    const pool = createPool({ backend: dqlite({ servers, database: 'tls', tls: clientTls }) });
    t.after(() => pool.destroy());
    await setupLoad(pool);
    const load = runLoad(pool, 8);
    await sleep(1_000);
    load.stop();
    await load.settled;
    const { missing, counter } = await readBack(pool, load.report);
    assert.deepEqual(missing, []);
    assert.deepEqual([...load.report.outcomes.keys()], ['ok'], 'no errors over TLS');
    assert.equal(counter, load.report.increments, 'read-modify-write over TLS is exact');
    assert.ok(load.report.acked.size > 10 && load.report.increments > 10);

    // Refused certificates: at once, typed, whatever connectTimeoutMs says.
    const attempt = (tls: DqliteTlsOptions | undefined, connectTimeoutMs = 20_000): Promise<unknown> => {
      const other = createPool({ backend: dqlite({ servers, database: 'tls', tls, connectTimeoutMs }) });
      return other.get('SELECT 1').finally(() => other.destroy());
    };
    const cases: [string, DqliteTlsOptions][] = [
      ['no client certificate', { ca: pem(certs.ca) }],
      ['a client certificate another CA signed', { ca: pem(certs.ca), cert: pem(certs.strangerCert), key: pem(certs.strangerKey) }],
      ['nodes not trusted (another CA)', { ca: pem(certs.strangerCa), cert: pem(certs.clientCert), key: pem(certs.clientKey) }],
      ['the nodes checked against another name', { ...clientTls, servername: 'elsewhere.example' }],
    ];
    const seen: string[] = [];
    for (const [name, tls] of cases) {
      const { error, ms } = await refusal(attempt(tls));
      assert.ok(error instanceof DqliteTlsError, `${name}: ${error.message}`);
      assert.equal(error.code, 'ERR_DQLITE_TLS');
      assert.ok(ms < 10_000, `${name}: refused in ${Math.round(ms)} ms, not after connectTimeoutMs`);
      seen.push(`${name}: ${Math.round(ms)} ms`);
    }
    // A plaintext client: the node closes the connection; typed, and the message says why it may be.
    const plain = await refusal(attempt(undefined, 2_000));
    assert.equal(plain.error.code, 'ERR_CLUSTER_UNAVAILABLE');
    assert.match(plain.error.message, /speaks TLS/);
    // The admin command: with the certificates it lists the members; without them it is refused.
    const members = await run(program, [
      'members',
      '--cluster',
      servers.join(','),
      '--tls-cert',
      certs.clientCert,
      '--tls-key',
      certs.clientKey,
      '--tls-ca',
      certs.ca,
    ]);
    assert.equal(
      members.stdout
        .trim()
        .split('\n')
        .filter((line) => line.endsWith(' voter')).length,
      3,
    );
    await assert.rejects(run(program, ['members', '--cluster', servers.join(','), '--timeout', '2s']), /find the leader/);

    // A TLS client against a plaintext node: the handshake fails, nothing is sent in plaintext.
    const node = await fakeDqlite();
    t.after(() => node.close());
    const fallback = await refusal(DqliteClient.connect([node.address], 'tls', 1_500, { tls: clientTls }));
    assert.ok(['ERR_CLUSTER_UNAVAILABLE', 'ERR_DQLITE_TLS'].includes(fallback.error.code ?? ''), fallback.error.message);
    assert.deepEqual(node.statements, [], 'no statement reached the plaintext node');
    t.diagnostic(`${describeLoad(load.report, counter)}; refused: ${seen.join('; ')}; plaintext client: ${plain.error.code}`);
  });

  test('one cluster certificate (--tls-cert and --tls-key, no CA): nodes and clients that share it work; a client with a certificate of its own is refused', async (t) => {
    const program = buildNode(t);
    if (program === undefined || !needTools(t, 'openssl')) return;
    const { certs, pem } = testCertificates(t);
    const shared: DqliteTlsOptions = { ca: pem(certs.clusterCert), cert: pem(certs.clusterCert), key: pem(certs.clusterKey) };
    const cluster = (await startCluster(t, {
      litepoolNode: program,
      args: ['--tls-cert', certs.clusterCert, '--tls-key', certs.clusterKey],
      clientTls: shared,
    }))!;
    const pool = createPool({ backend: dqlite({ servers: [...cluster.servers], database: 'cluster-cert', tls: shared }) });
    t.after(() => pool.destroy());
    await setupLoad(pool);
    const load = runLoad(pool, 4);
    await sleep(500);
    load.stop();
    await load.settled;
    const { missing, counter } = await readBack(pool, load.report);
    assert.deepEqual(missing, []);
    assert.equal(counter, load.report.increments);
    assert.deepEqual([...load.report.outcomes.keys()], ['ok']);
    const other = createPool({
      backend: dqlite({
        servers: [...cluster.servers],
        database: 'cluster-cert',
        tls: { ...shared, cert: pem(certs.clientCert), key: pem(certs.clientKey) },
      }),
    });
    const { error } = await refusal(other.get('SELECT 1'));
    await other.destroy();
    assert.equal(error.code, 'ERR_DQLITE_TLS');
  });

  test('rolling restart under load: each of 3 nodes in turn gets SIGTERM, restarts and rejoins while 16 callers write; every caller settles, every acknowledged write is present, errors are typed, the counter is exact', async (t) => {
    const program = buildNode(t);
    if (program === undefined) return;
    const cluster = (await startCluster(t, { litepoolNode: program }))!;
    const pool = createPool({ backend: dqlite({ servers: [...cluster.servers], database: 'rolling', reconnectTimeoutMs: 30_000 }) });
    t.after(() => pool.destroy());
    await setupLoad(pool);
    const load = runLoad(pool, 16);
    await sleep(1_000);
    const steps: string[] = [];
    for (const address of cluster.servers) {
      const before = load.report.acked.size;
      const started = performance.now();
      await cluster.kill(address, 'SIGTERM');
      cluster.start(address);
      // Back: asked directly, the node names a leader; then the next one may go.
      const back = await DqliteClient.connect([address], 'rolling', 60_000);
      back.close();
      // Writes go on before the next node stops.
      while (load.report.acked.size < before + 50 && performance.now() - started < 60_000) await sleep(50);
      steps.push(`${address} back in ${Math.round(performance.now() - started)} ms`);
    }
    await sleep(500);
    load.stop();
    const settled = await Promise.race([load.settled.then(() => true), sleep(60_000).then(() => false)]);
    assert.equal(settled, true, 'every caller settled');
    const { missing, counter } = await readBack(pool, load.report);
    assert.deepEqual(missing, [], 'every acknowledged write is present');
    for (const code of load.report.outcomes.keys())
      assert.ok(code === 'ok' || TYPED_DURING_OPERATIONS.has(code), `unexpected outcome ${code}: ${load.report.samples.get(code)}`);
    assert.ok(
      counter >= load.report.increments && counter <= load.report.increments + load.report.unknownIncrements,
      'the counter is the acknowledged increments (plus those whose outcome was unknown)',
    );
    assert.ok((load.report.outcomes.get('ok') ?? 0) > 300);
    t.diagnostic(`${steps.join('; ')}; ${describeLoad(load.report, counter)}`);
  });

  test('membership: a 4th and 5th node join, a dead node is removed, the given nodes all leave; the pool serves throughout on members it learned', async (t) => {
    const program = buildNode(t);
    if (program === undefined) return;
    const cluster = (await startCluster(t, { litepoolNode: program }))!;
    const seeds = [...cluster.servers];
    const pool = createPool({
      backend: dqlite({ servers: seeds, database: 'members', reconnectTimeoutMs: 30_000, membershipRefreshMs: 250 }),
    });
    t.after(() => pool.destroy());
    await setupLoad(pool);
    const load = runLoad(pool, 8);
    const steps: string[] = [];
    const step = (what: string, since: number): void => void steps.push(`${what} ${Math.round(performance.now() - since)} ms`);

    let at = performance.now();
    const fourth = await cluster.add();
    const fifth = await cluster.add();
    assert.equal((await cluster.members()).length, 5);
    step('grew to 5 in', at);

    // A node dies for good and is taken out with the admin command.
    at = performance.now();
    const dead = seeds[2]!;
    await cluster.kill(dead);
    const alive = [seeds[0]!, seeds[1]!, fourth, fifth];
    for (let attempt = 0; ; attempt++) {
      try {
        await run(program, ['remove', '--cluster', alive.join(','), '--node', dead, '--timeout', '10s']);
        break;
      } catch (error) {
        // An election may be under way (the dead node may have led): try again, a bounded number of times.
        if (attempt === 10) throw error;
        await sleep(500);
      }
    }
    assert.deepEqual((await cluster.members()).map((node) => node.address).sort(), [...alive].sort());
    step('removed the dead node in', at);

    // The given nodes leave one by one (handing over): only learned members remain.
    for (const address of [seeds[0]!, seeds[1]!]) {
      at = performance.now();
      await waitForVoters(
        alive.filter((other) => other !== dead),
        3,
      );
      await cluster.kill(address, 'SIGTERM');
      alive.splice(alive.indexOf(address), 1);
      step(`${address} left in`, at);
    }
    const before = load.report.acked.size;
    at = performance.now();
    while (load.report.acked.size < before + 50 && performance.now() - at < 60_000) await sleep(50);
    assert.ok(load.report.acked.size >= before + 50, 'the pool goes on writing with none of the nodes it was given');
    // A new pool given only those nodes finds nobody: the old one found the cluster by what it learned.
    const stranger = createPool({ backend: dqlite({ servers: seeds, database: 'members', connectTimeoutMs: 1_500 }) });
    const lost = await refusal(stranger.get('SELECT 1'));
    await stranger.destroy();
    assert.equal(lost.error.code, 'ERR_CLUSTER_UNAVAILABLE');

    load.stop();
    const settled = await Promise.race([load.settled.then(() => true), sleep(60_000).then(() => false)]);
    assert.equal(settled, true, 'every caller settled');
    const { missing, counter } = await readBack(pool, load.report);
    assert.deepEqual(missing, [], 'every acknowledged write is present');
    for (const code of load.report.outcomes.keys())
      assert.ok(code === 'ok' || TYPED_DURING_OPERATIONS.has(code), `unexpected outcome ${code}: ${load.report.samples.get(code)}`);
    assert.ok(counter >= load.report.increments && counter <= load.report.increments + load.report.unknownIncrements);
    t.diagnostic(`${steps.join('; ')}; ${describeLoad(load.report, counter)}`);
  });
});
