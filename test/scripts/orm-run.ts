// One ORM scenario on one driver, as JSON on stdout (run by orm-table.ts in a child process, so a hang is bounded).
//   node --import tsx scripts/orm-run.ts knex|sequelize|typeorm|drizzle litepool|usual [poolSize]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drizzleScenario, knexScenario, sequelizeScenario, typeormScenario } from '../helpers/orm-scenarios.js';

const scenarios = { knex: knexScenario, sequelize: sequelizeScenario, typeorm: typeormScenario, drizzle: drizzleScenario };
const [orm = '', driver = 'litepool', poolSize = '1'] = process.argv.slice(2);
const scenario = scenarios[orm as keyof typeof scenarios];
if (scenario === undefined || (driver !== 'litepool' && driver !== 'usual')) {
  console.error('usage: orm-run.ts knex|sequelize|typeorm|drizzle litepool|usual [poolSize]');
  process.exit(2);
}
// The usual drivers may leave rejections nobody awaits (a transaction body that already failed): count, do not crash.
let unhandled = 0;
process.on('unhandledRejection', () => unhandled++);
const dir = mkdtempSync(join(tmpdir(), 'litepool-orm-'));
const failures: string[] = [];
try {
  const outcome = await scenario({
    filename: join(dir, 'app.db'),
    driver: driver,
    poolSize: Number(poolSize),
    check: (ok, what) => {
      if (!ok) failures.push(what);
    },
  });
  console.log(JSON.stringify({ ...outcome, failures, unhandled }));
} catch (error) {
  console.log(JSON.stringify({ crashed: error instanceof Error ? error.message.split('\n')[0] : String(error), failures, unhandled }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
