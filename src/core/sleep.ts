/** Waiting on the real clock; code that takes an injected `sleep` defaults to these. */

/** Resolves after `ms`; the timer keeps the process alive meanwhile. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves after `ms`; the timer does not keep the process alive (background loops). */
export function sleepUnref(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
