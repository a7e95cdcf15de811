#!/usr/bin/env node
// Runs every test/*.test.ts with node's test runner (TypeScript through tsx).
// `--core` runs only the core suites (what CI also runs on Node 22 and 26).
// Other arguments are passed on, e.g. `pnpm test -- --test-name-pattern=iterate`.
import { spawnSync } from 'node:child_process';
import { testFiles, testRoot } from './core-suites.mjs';

const args = process.argv.slice(2);
const files = testFiles(args.includes('--core'));
const passed = args.filter((arg) => arg !== '--core');
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...passed, ...files], {
  stdio: 'inherit',
  cwd: testRoot,
});
process.exit(result.status ?? 1);
