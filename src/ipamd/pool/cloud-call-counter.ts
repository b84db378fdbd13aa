/**
 * Counts the provider's cloud operations by action (the {@link CloudProvider} method called), with
 * their failures and how many of those the cloud throttled, for the NativeipNode status. Wraps the
 * provider; the pool and the reconciler see the same interface.
 */
import { CloudError, type CloudProvider } from '../../core/types.js';

export interface CloudCallCount {
  readonly action: string;
  readonly calls: number;
  readonly errors: number;
  readonly throttled: number;
}

/** How a cloud operation ended. */
export type CloudCallResult = 'ok' | 'error' | 'throttled';

/** Told of every cloud operation as it ends (metrics). */
export type CloudCallListener = (operation: string, durationMs: number, result: CloudCallResult) => void;

/** Provider members that are not cloud calls (state, callbacks, memory). */
const NOT_CALLS: ReadonlySet<string> = new Set(['name', 'resumeState', 'restoreState', 'onResumeStateChange', 'throttledAtMs']);

export class CloudCallCounter {
  readonly #counts = new Map<string, { calls: number; errors: number; throttled: number }>();
  readonly #listeners: CloudCallListener[] = [];
  readonly #clock: () => number;

  constructor(clock: () => number = () => performance.now()) {
    this.#clock = clock;
  }

  /** Calls `listener` as each operation ends, from now on. */
  listen(listener: CloudCallListener): void {
    this.#listeners.push(listener);
  }

  /** The provider, counting every call of its asynchronous methods. */
  wrap(provider: CloudProvider): CloudProvider {
    return new Proxy(provider, {
      // Members are read and called on the provider itself, so its private fields stay reachable.
      get: (target, property) => {
        const value: unknown = Reflect.get(target, property, target);
        if (typeof value !== 'function') return value;
        // Bound too, or `this` would be the proxy, which has none of the provider's #private fields.
        if (typeof property !== 'string' || NOT_CALLS.has(property)) return (value as (...a: unknown[]) => unknown).bind(target);
        return (...args: unknown[]) => {
          const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
          if (!(result instanceof Promise)) return result;
          const count = this.#countOf(property);
          count.calls += 1;
          const started = this.#clock();
          const ended = (outcome: CloudCallResult) => {
            const ms = this.#clock() - started;
            for (const listener of this.#listeners) listener(property, ms, outcome);
          };
          return result.then(
            (value: unknown) => {
              ended('ok');
              return value;
            },
            (error: unknown) => {
              count.errors += 1;
              const throttled = error instanceof CloudError && error.code === 'Throttled';
              if (throttled) count.throttled += 1;
              ended(throttled ? 'throttled' : 'error');
              throw error;
            },
          );
        };
      },
    });
  }

  counts(): CloudCallCount[] {
    return [...this.#counts].map(([action, c]) => ({ action, ...c })).sort((a, b) => a.action.localeCompare(b.action));
  }

  #countOf(action: string): { calls: number; errors: number; throttled: number } {
    let count = this.#counts.get(action);
    if (count === undefined) {
      count = { calls: 0, errors: 0, throttled: 0 };
      this.#counts.set(action, count);
    }
    return count;
  }
}
