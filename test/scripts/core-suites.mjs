// The core suites: queries, transactions, the contract and concurrency
// suites, the drop-ins and ORMs, backups, the native lifecycle. CI runs them
// on Node 22 and 26, on Bun and on Deno, besides the whole suite on Node 24.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CORE =
  /^(04-queries|05-transactions|10-contract|11-concurrency|20-cross-thread|21-sqlite3-compat|22-sqlite-compat|23-kysely|26-native-lifecycle|39-sqlite3-semantics|40-backup|41-orms|42-code-next-to-data|54-inline-reads)\./;

/** The test directory. */
export const testRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Test files (absolute paths, sorted): the core suites, or all. */
export function testFiles(coreOnly) {
  return readdirSync(testRoot)
    .filter((name) => name.endsWith('.test.ts') && (!coreOnly || CORE.test(name)))
    .sort()
    .map((name) => join(testRoot, name));
}
