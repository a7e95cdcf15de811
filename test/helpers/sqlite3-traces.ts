/**
 * Traces of one script run with the real node-sqlite3 and with the drop-in,
 * each in a child process (test/46, test/60): what each module printed, and
 * the drop-in's trace with its error messages cut back to SQLite's words.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The JSON `script` prints when run with `args` and a fresh directory as its last argument; the process must exit by itself. */
export async function traceOf(script: string, args: readonly string[]): Promise<unknown> {
  const dir = mkdtempSync(join(tmpdir(), 'litepool-trace-'));
  try {
    const { stdout } = await run(process.execPath, [script, ...args, dir], { timeout: 60_000, encoding: 'utf8' });
    return JSON.parse(stdout) as unknown;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The drop-in's trace with each error message cut back to the real one where
 * it only adds `: reason` to it (`database is locked: the backup destination
 * … is held by another connection`); everything else as it was.
 */
export function alignMessages(real: unknown, dropIn: unknown): unknown {
  if (Array.isArray(real) && Array.isArray(dropIn)) return dropIn.map((value, i) => alignMessages(real[i], value));
  if (isRecord(real) && isRecord(dropIn)) {
    const aligned: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(dropIn)) {
      const expected = real[key];
      aligned[key] =
        key === 'message' && typeof value === 'string' && typeof expected === 'string' && value.startsWith(`${expected}: `)
          ? expected
          : alignMessages(expected, value);
    }
    return aligned;
  }
  return dropIn;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
