/** Runs tasks one at a time per key; different keys run concurrently. */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }
}

/**
 * Many shared holders at once, or one exclusive holder. An exclusive task waits for the shared
 * tasks in flight and holds back new ones until it ends; exclusive tasks run one at a time.
 */
export class ExclusiveGate {
  #shared = 0;
  #drained: (() => void) | undefined;
  #exclusive: Promise<unknown> | undefined;

  async shared<T>(task: () => Promise<T>): Promise<T> {
    while (this.#exclusive !== undefined) await this.#exclusive.catch(() => undefined);
    this.#shared += 1;
    try {
      return await task();
    } finally {
      this.#shared -= 1;
      if (this.#shared === 0) this.#drained?.();
    }
  }

  async exclusive<T>(task: () => Promise<T>): Promise<T> {
    while (this.#exclusive !== undefined) await this.#exclusive.catch(() => undefined);
    const run = (async () => {
      if (this.#shared > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
      this.#drained = undefined;
      return task();
    })();
    this.#exclusive = run;
    try {
      return await run;
    } finally {
      if (this.#exclusive === run) this.#exclusive = undefined;
    }
  }
}
