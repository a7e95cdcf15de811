/**
 * `sqlite`'s migrations: `NNN.name.sql` files with `-- Up` and `-- Down`
 * parts (or migrations given inline), applied in order, each in a
 * transaction, recorded in a table.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ArgumentError } from '../index.js';

/** One migration, from a file `NNN.name.sql` or given inline. */
export interface MigrationData {
  /** Its number: the order migrations apply in. */
  id: number;
  /** Its name. */
  name: string;
  /** The SQL that applies it (the part after `-- Up`). */
  up: string;
  /** The SQL that undoes it (the part after `-- Down`). */
  down: string;
}

/** Options of `Database.migrate`. */
export interface MigrationParams {
  /** Undo the last applied migration and apply it again. Default: false. */
  force?: boolean;
  /** The table that records applied migrations. Default: `migrations`. */
  table?: string;
  /** Where the `NNN.name.sql` files are. Default: `./migrations`. */
  migrationsPath?: string;
  /** Migrations given directly instead of read from files. */
  migrations?: readonly MigrationData[];
}

/** What migrating needs of a database: `sqlite`'s promise methods. */
export interface MigrationTarget {
  run(sql: string, ...params: unknown[]): Promise<unknown>;
  all<T>(sql: string, ...params: unknown[]): Promise<T>;
  exec(sql: string): Promise<void>;
}

/**
 * Applies the migrations not yet recorded in `table`, in order, each in a
 * transaction; undoes recorded ones whose file is gone, and with `force` the
 * last one, first.
 */
export async function applyMigrations(db: MigrationTarget, config: MigrationParams): Promise<void> {
  const table = config.table ?? 'migrations';
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(table))
    throw new ArgumentError(`migrate: table must be a plain identifier, got ${JSON.stringify(table)}`);
  const migrations = [...(config.migrations ?? (await readMigrations(config.migrationsPath ?? './migrations')))].sort(
    (a, b) => a.id - b.id,
  );
  await db.run(`CREATE TABLE IF NOT EXISTS "${table}" (id INTEGER PRIMARY KEY, name TEXT NOT NULL, up TEXT NOT NULL, down TEXT NOT NULL)`);
  const applied = await db.all<MigrationData[]>(`SELECT id, name, up, down FROM "${table}" ORDER BY id ASC`);
  const last = migrations.at(-1);
  for (const migration of [...applied].reverse()) {
    const gone = !migrations.some((m) => m.id === migration.id);
    if (!gone && !(config.force === true && migration.id === last?.id)) continue;
    await inTransaction(db, async () => {
      await db.exec(migration.down);
      await db.run(`DELETE FROM "${table}" WHERE id = ?`, migration.id);
    });
  }
  const done = new Set((await db.all<{ id: number }[]>(`SELECT id FROM "${table}"`)).map((r) => r.id));
  for (const migration of migrations) {
    if (done.has(migration.id)) continue;
    await inTransaction(db, async () => {
      await db.exec(migration.up);
      await db.run(
        `INSERT INTO "${table}" (id, name, up, down) VALUES (?, ?, ?, ?)`,
        migration.id,
        migration.name,
        migration.up,
        migration.down,
      );
    });
  }
}

/** Runs `work` in a transaction that holds the writer from its BEGIN; ROLLBACK on a throw. */
async function inTransaction(db: MigrationTarget, work: () => Promise<void>): Promise<void> {
  await db.exec('BEGIN IMMEDIATE');
  try {
    await work();
    await db.exec('COMMIT');
  } catch (error) {
    await db.exec('ROLLBACK').catch(() => {});
    throw error;
  }
}

/** Reads `NNN<separator>name.sql` files (`001.initial.sql`, `001-initial.sql`) and splits each at `-- Up` / `-- Down`. */
async function readMigrations(path: string): Promise<MigrationData[]> {
  const dir = resolve(path);
  const files = (await readdir(dir)).map((file) => /^(\d+).(.*?)\.sql$/.exec(file)).filter((m) => m !== null);
  if (files.length === 0) throw new ArgumentError(`migrate: no migration files (NNN-name.sql) found in ${dir}`);
  return Promise.all(
    files.map(async ([file, id, name]) => {
      const text = (await readFile(join(dir, file), 'utf8')).replace(/\r\n/g, '\n');
      const [up = '', down = ''] = text.split(/^--\s+?down\b/im);
      return { id: Number(id), name: name!, up: up.replace(/^-- .*?$/gm, '').trim(), down: down.trim() };
    }),
  );
}
