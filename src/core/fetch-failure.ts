/** `ECONNREFUSED`, `TimeoutError`, …: the most precise name of a failed fetch (Node's fetch says only "fetch failed"; the reason is in its cause). Pure. */
export function fetchFailureName(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; errors?: { code?: unknown }[]; message?: unknown } }).cause;
  const code = cause?.code ?? cause?.errors?.[0]?.code;
  if (typeof code === 'string') return code;
  if (typeof cause?.message === 'string') return cause.message;
  return error instanceof Error ? error.name : String(error);
}
