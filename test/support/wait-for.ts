/** Polling for tests that wait on real processes (API servers, kubelet, daemons). */

export interface WaitOptions {
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
  /** Appended to the timeout error (pods, logs…), computed only when it times out. */
  readonly diagnostics?: () => Promise<string>;
}

/**
 * Calls `probe` until it returns something other than undefined, and returns that. A probe that
 * throws counts as "not yet"; on timeout the error names `what`, the last error and the diagnostics.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, options: WaitOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      const extra = options.diagnostics === undefined ? '' : `\n${await options.diagnostics().catch((e: unknown) => String(e))}`;
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last === undefined ? '' : `: ${String(last)}`}${extra}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 250));
  }
}
