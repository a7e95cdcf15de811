#!/usr/bin/env node
// The seed's situation as an HTTP API: a small Fastify app whose handlers all
// share one database. Each deposit reads the balance, awaits something (here:
// a fraud check that yields to the event loop), then writes the new balance
// and a ledger row. Two ways to run it:
//
//   naive:            one shared better-sqlite3 connection, BEGIN … await … COMMIT
//   naive-autocommit: the same connection, no transaction (read, await, write)
//   litepool:         a litepool pool, pool.transaction (held across the await)
//
//   node server.mjs [naive|naive-autocommit|litepool] [--port 3000] [--db app.db]
import { createPool } from '@litepool/core';
import Database from 'better-sqlite3';
import Fastify from 'fastify';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS account (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS ledger (id INTEGER PRIMARY KEY, account INTEGER NOT NULL, amount INTEGER NOT NULL);
`;

/** Stands for any async step between the read and the write (a remote check, a cache, logging). */
const fraudCheck = () => new Promise((resolve) => setImmediate(resolve));

/** The database layer, the naive way: one connection shared by every handler; `transactions`: BEGIN … COMMIT around each deposit. */
function naiveStore(filename, transactions) {
  const db = new Database(filename);
  db.pragma('journal_mode = WAL');
  db.exec(SCHEMA);
  return {
    async open(accounts) {
      const insert = db.prepare('INSERT OR IGNORE INTO account (id, balance) VALUES (?, 0)');
      for (let id = 1; id <= accounts; id++) insert.run(id);
    },
    async deposit(account, amount) {
      if (transactions) db.exec('BEGIN');
      try {
        const row = db.prepare('SELECT balance FROM account WHERE id = ?').get(account);
        if (row === undefined) throw Object.assign(new Error('no such account'), { statusCode: 404 });
        await fraudCheck();
        db.prepare('UPDATE account SET balance = ? WHERE id = ?').run(row.balance + amount, account);
        db.prepare('INSERT INTO ledger (account, amount) VALUES (?, ?)').run(account, amount);
        if (transactions) db.exec('COMMIT');
        return row.balance + amount;
      } catch (error) {
        if (transactions && db.inTransaction) db.exec('ROLLBACK');
        throw error;
      }
    },
    async account(id) {
      return db
        .prepare('SELECT id, balance, (SELECT count(*) FROM ledger WHERE account = id) AS deposits FROM account WHERE id = ?')
        .get(id);
    },
    async close() {
      db.close();
    },
  };
}

/** The same layer on litepool: the transaction holds the writer across the await. */
function litepoolStore(filename, strategy) {
  const pool = createPool({ filename, ...(strategy ? { strategy } : {}) });
  return {
    async open(accounts) {
      await pool.exec(SCHEMA);
      await pool.transaction(async (tx) => {
        for (let id = 1; id <= accounts; id++) await tx.run('INSERT OR IGNORE INTO account (id, balance) VALUES (?, 0)', [id]);
      });
    },
    deposit(account, amount) {
      return pool.transaction(async (tx) => {
        const row = await tx.get('SELECT balance FROM account WHERE id = ?', [account]);
        if (row === undefined) throw Object.assign(new Error('no such account'), { statusCode: 404 });
        await fraudCheck();
        await tx.run('UPDATE account SET balance = ? WHERE id = ?', [row.balance + amount, account]);
        await tx.run('INSERT INTO ledger (account, amount) VALUES (?, ?)', [account, amount]);
        return row.balance + amount;
      });
    },
    account(id) {
      return pool.get('SELECT id, balance, (SELECT count(*) FROM ledger WHERE account = id) AS deposits FROM account WHERE id = ?', [id]);
    },
    close() {
      return pool.close();
    },
  };
}

/**
 * Builds the app. `mode` is "naive", "naive-autocommit" or "litepool"; `accounts` accounts start at 0.
 * Returns the Fastify instance (its onClose hook closes the store).
 */
export async function buildApp({ mode, filename, accounts = 10, strategy }) {
  const store = mode === 'litepool' ? litepoolStore(filename, strategy) : naiveStore(filename, mode === 'naive');
  await store.open(accounts);
  const app = Fastify({ logger: false });
  app.post('/accounts/:id/deposit', {
    schema: {
      params: { type: 'object', properties: { id: { type: 'integer' } }, required: ['id'] },
      body: { type: 'object', properties: { amount: { type: 'integer', minimum: 1 } }, required: ['amount'] },
    },
    handler: async (request) => ({ balance: await store.deposit(request.params.id, request.body.amount) }),
  });
  app.get('/accounts/:id', {
    schema: { params: { type: 'object', properties: { id: { type: 'integer' } }, required: ['id'] } },
    handler: async (request, reply) => (await store.account(request.params.id)) ?? reply.code(404).send({ error: 'no such account' }),
  });
  app.addHook('onClose', () => store.close());
  return app;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { port: { type: 'string', default: '3000' }, db: { type: 'string', default: 'app.db' } },
  });
  const mode = positionals[0] ?? 'litepool';
  if (!['naive', 'naive-autocommit', 'litepool'].includes(mode))
    throw new Error(`mode must be naive, naive-autocommit or litepool, got ${mode}`);
  const app = await buildApp({ mode, filename: values.db });
  await app.listen({ port: Number(values.port), host: '127.0.0.1' });
  console.log(`${mode} app on http://127.0.0.1:${values.port} (database ${values.db})`);
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => void app.close());
}
