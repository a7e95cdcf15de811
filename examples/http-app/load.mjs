#!/usr/bin/env node
// Load for the example app, on loopback: the app runs the two naive ways and
// with litepool, each under the same bounded loop of concurrent clients sending
// deposits; then every account is read back. Prints errors, lost updates
// (deposits acknowledged but missing from the balances) and requests/s.
//
//   node load.mjs [--quick] [--clients 64] [--requests 40] [--strategy NAME] [--json]
//
// Exits 1 when litepool had an error or lost an update.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildApp } from './server.mjs';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    clients: { type: 'string' },
    requests: { type: 'string' },
    accounts: { type: 'string', default: '10' },
    strategy: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const clients = Number(values.clients ?? (values.quick ? 32 : 64));
const requests = Number(values.requests ?? (values.quick ? 10 : 100));
const accounts = Number(values.accounts);

async function run(mode) {
  const dir = mkdtempSync(join(tmpdir(), `litepool-example-${mode}-`));
  const app = await buildApp({ mode, filename: join(dir, 'app.db'), accounts, strategy: values.strategy });
  try {
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    const errors = {};
    let acknowledged = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: clients }, async (_, client) => {
        for (let i = 0; i < requests; i++) {
          const account = ((client * 31 + i * 7) % accounts) + 1;
          try {
            const response = await fetch(`${base}/accounts/${account}/deposit`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ amount: 1 }),
            });
            const body = await response.json();
            if (response.ok) acknowledged++;
            else {
              const key = `${response.status} ${String(body.message ?? body.error).slice(0, 60)}`;
              errors[key] = (errors[key] ?? 0) + 1;
            }
          } catch (error) {
            const key = `network: ${error.cause?.code ?? error.message}`;
            errors[key] = (errors[key] ?? 0) + 1;
          }
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    let balances = 0;
    for (let id = 1; id <= accounts; id++) balances += (await (await fetch(`${base}/accounts/${id}`)).json()).balance;
    return {
      mode,
      requests: clients * requests,
      acknowledged,
      errors: Object.values(errors).reduce((a, b) => a + b, 0),
      errorsByKind: errors,
      lostUpdates: acknowledged - balances,
      requestsPerSecond: Math.round((clients * requests) / seconds),
    };
  } finally {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = [await run('naive'), await run('naive-autocommit'), await run('litepool')];
if (values.json) {
  console.log(JSON.stringify({ clients, requests, accounts, results }));
} else {
  console.log(`${clients} clients x ${requests} deposits over ${accounts} accounts, on loopback\n`);
  console.log('| app | requests | acknowledged | errors | lost updates | requests/s |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results)
    console.log(`| ${r.mode} | ${r.requests} | ${r.acknowledged} | ${r.errors} | ${r.lostUpdates} | ${r.requestsPerSecond} |`);
  for (const r of results) for (const [kind, n] of Object.entries(r.errorsByKind)) console.log(`  ${r.mode}: ${n} x ${kind}`);
}
const litepool = results[2];
process.exit(litepool.errors === 0 && litepool.lostUpdates === 0 ? 0 : 1);
