// Runs each ORM scenario on litepool and on the ORM's usual driver, each in
// its own process with a time bound, and prints the README's table rows.
//   node --import tsx scripts/orm-table.ts     (from test/; pnpm orm:table at the root)
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BOUND_MS = 90_000;
const runs: [orm: string, label: string, usual: string, poolSize?: number][] = [
  ['knex', 'Knex 3, pool 1', 'sqlite3'],
  ['knex', 'Knex 3, pool 4', 'sqlite3', 4],
  ['sequelize', 'Sequelize 6', 'sqlite3'],
  ['typeorm', 'TypeORM 0.3', 'sqlite3'],
  ['drizzle', 'Drizzle ORM', 'better-sqlite3'],
];
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

interface Result {
  count?: number;
  expected?: number;
  errors?: number;
  errorSamples?: string[];
  shutdownReturned?: boolean;
  concurrencyMs?: number;
  failures?: string[];
  crashed?: string;
}

function run(orm: string, driver: string, poolSize: number): string {
  const started = performance.now();
  const child = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'orm-run.ts'), orm, driver, String(poolSize)], {
    cwd: root,
    encoding: 'utf8',
    timeout: BOUND_MS,
  });
  if (child.error !== undefined || child.status === null)
    return `hung: no result after ${Math.round((performance.now() - started) / 1000)} s`;
  const line = child.stdout.trim().split('\n').at(-1) ?? '';
  let result: Result;
  try {
    result = JSON.parse(line) as Result;
  } catch {
    return `exited ${child.status}: ${child.stderr.trim().split('\n').at(-1) ?? ''}`;
  }
  if (result.crashed !== undefined) return `failed: ${result.crashed}`;
  const sample = result.errorSamples?.[0] === undefined ? '' : ` (${result.errorSamples[0].slice(0, 60)})`;
  const checks = result.failures?.length ? `; checks failed: ${result.failures.join(', ')}` : '';
  const shutdown = result.shutdownReturned === true ? '' : '; shutdown did not return';
  return `${result.count}/${result.expected}, ${result.errors} errors${sample}, ${Math.round(result.concurrencyMs ?? 0)} ms${shutdown}${checks}`;
}

console.log('| ORM | litepool | usual driver |');
console.log('|---|---|---|');
for (const [orm, label, usual, poolSize = 1] of runs) {
  console.log(`| ${label} | ${run(orm, 'litepool', poolSize)} | ${usual}: ${run(orm, 'usual', poolSize)} |`);
}
