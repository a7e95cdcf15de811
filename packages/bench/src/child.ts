/**
 * One subject in a fresh process: runs every requested workload at every
 * concurrency level and prints one JSON line per cell.
 *   node child.js '{"subject":…,"workloads":[…],"levels":[…],"warmupMs":…,"measureMs":…,"dir":…,"workerNice":…}'
 */
import { join } from 'node:path';
import { runCell } from './measure.js';
import { SUBJECTS } from './subjects.js';
import { WORKLOADS } from './workloads.js';

interface ChildJob {
  readonly subject: string;
  readonly workloads: readonly string[];
  readonly levels: readonly number[];
  readonly warmupMs: number;
  readonly measureMs: number;
  readonly dir: string;
  /** The litepool strategies' `workerNice` (undefined: the pool's default). */
  readonly workerNice?: number;
}

const job = JSON.parse(process.argv[2] ?? '{}') as ChildJob;
const subject = SUBJECTS.find((s) => s.name === job.subject);
if (subject === undefined) throw new Error(`unknown subject ${job.subject}`);
for (const id of job.workloads) {
  if (subject.workloads !== undefined && !subject.workloads.includes(id)) continue;
  const workload = WORKLOADS.find((w) => w.id === id)!;
  const filename = join(job.dir, `${id}.db`);
  const driver = await subject.open(filename, workload.synchronous, { workerNice: job.workerNice });
  await workload.setup(driver);
  for (const concurrency of workload.levels ?? job.levels) {
    const cell = await runCell(subject.name, driver, workload, concurrency, job.warmupMs, job.measureMs);
    process.stdout.write(`${JSON.stringify(cell)}\n`);
  }
  await driver.close();
}
