#!/usr/bin/env node
// Runs every test/*.test.ts with node's test runner (TypeScript through tsx).
// Extra arguments are passed on, e.g. `pnpm test -- --test-name-pattern=iterate`.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const files = readdirSync(root)
  .filter((name) => name.endsWith('.test.ts'))
  .sort()
  .map((name) => join(root, name));
const args = ['--import', 'tsx', '--test', '--test-reporter=spec', ...process.argv.slice(2), ...files];
const result = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root });
process.exit(result.status ?? 1);
