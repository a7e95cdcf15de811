#!/usr/bin/env node
// Runs every test/*.test.ts with node's test runner (TypeScript through tsx).
// `--core` runs only the core suites (what CI also runs on Node 22 and 26).
// Other arguments are passed on, e.g. `pnpm test -- --test-name-pattern=iterate`.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Queries, transactions, the contract and concurrency suites, the drop-ins and ORMs, backups, the native lifecycle. */
const CORE =
  /^(04-queries|05-transactions|10-contract|11-concurrency|20-cross-thread|21-sqlite3-compat|22-sqlite-compat|23-kysely|26-native-lifecycle|39-sqlite3-semantics|40-backup|41-orms|42-code-next-to-data)\./;

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const core = args.includes('--core');
const files = readdirSync(root)
  .filter((name) => name.endsWith('.test.ts') && (!core || CORE.test(name)))
  .sort()
  .map((name) => join(root, name));
const passed = args.filter((arg) => arg !== '--core');
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...passed, ...files], {
  stdio: 'inherit',
  cwd: root,
});
process.exit(result.status ?? 1);
