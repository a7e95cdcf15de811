/**
 * The Node options a worker thread starts with. A worker inherits the
 * parent's (Node drops the ones a worker cannot take), except where the
 * parent's include `--input-type`, which is about how the parent's own entry
 * is read (`node --input-type=module -e …`) and would make every worker, which
 * starts from a file, fail. Those workers get the parent's options less that
 * one, as an explicit list, and Node refuses outright an explicit list that
 * names a V8 or process-wide option (`--max-old-space-size`, `--title`, …):
 * the ones it names are dropped and the thread started again, as inheriting
 * would have dropped them (V8's options are the process's, the workers'
 * included).
 */
import type { Worker } from 'worker_threads';

/** What Node says of an explicit list with options a worker cannot take. */
const REFUSED = 'Initiated Worker with invalid execArgv flags: ';

/** The explicit list (undefined: inherit), pruned of what Node refused once; null until first asked. */
let explicit: string[] | undefined | null = null;

/** The parent's options less `--input-type` (and its value), or undefined to inherit them unchanged. */
function withoutInputType(argv: readonly string[]): string[] | undefined {
  if (!argv.some((arg) => arg === '--input-type' || arg.startsWith('--input-type='))) return undefined;
  const kept: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--input-type') i++;
    else if (!arg.startsWith('--input-type=')) kept.push(arg);
  }
  return kept;
}

/** `list` less the options `error` says Node refused (with a value given as the next argument); undefined if it names none of them. */
function pruned(list: readonly string[], error: unknown): string[] | undefined {
  const message = error instanceof Error && (error as { code?: unknown }).code === 'ERR_WORKER_INVALID_EXEC_ARGV' ? error.message : '';
  if (!message.startsWith(REFUSED)) return undefined;
  const refused = new Set(message.slice(REFUSED.length).split(', '));
  const kept: string[] = [];
  for (let i = 0; i < list.length; i++) {
    const arg = list[i]!;
    if (!refused.has(arg)) kept.push(arg);
    else if (!arg.includes('=') && i + 1 < list.length && !list[i + 1]!.startsWith('-')) i++;
  }
  return kept.length < list.length ? kept : undefined;
}

/** Calls `start` with the options the thread is to start with (see the module description); throws what `start` throws. */
export function startWithExecArgv(start: (execArgv: string[] | undefined) => Worker): Worker {
  if (explicit === null) explicit = withoutInputType(process.execArgv);
  const list = explicit;
  if (list === undefined) return start(undefined);
  try {
    return start(list);
  } catch (error) {
    const fewer = pruned(list, error);
    if (fewer === undefined) throw error;
    explicit = fewer;
    return start(fewer);
  }
}
