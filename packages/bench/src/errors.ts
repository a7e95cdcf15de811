/**
 * Counts `error` in `errors` under its code (a string code as it is, a
 * numeric SQLite code as `SQLite N`), else under the start of its message.
 */
export function countError(errors: Record<string, number>, error: unknown): void {
  const code = (error as { code?: unknown } | null)?.code;
  const key =
    typeof code === 'string'
      ? code
      : typeof code === 'number'
        ? `SQLite ${code}`
        : String((error as Error | null)?.message ?? error).slice(0, 40);
  errors[key] = (errors[key] ?? 0) + 1;
}
