/**
 * Groups link deletions into batches, one batch at a time: deletions asked for while a batch runs
 * wait and go together in the next one. The kernel deletes a batch of links in one request for
 * about the cost of one link (the RCU waits are shared), so a burst of DELs costs a few batches
 * instead of one wait per pod. Pure: the batch itself is run by the function given.
 */

/** What became of one link of a batch. `error` carries the kernel's reason (e.g. `Request rejected: EBUSY`). */
export type LinkDeletion = { readonly ok: true } | { readonly ok: false; readonly error: Error };

/** Deletes these links (distinct names) together; one outcome per name. */
export type DeleteBatch = (names: readonly string[]) => Promise<ReadonlyMap<string, LinkDeletion>>;

/** Links per batch: the worker pipelines one request per link, under the socket's in-flight cap. */
export const MAX_BATCH = 64;

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

export class LinkDeletionBatcher {
  readonly #run: DeleteBatch;
  readonly #maxBatch: number;
  /** Names waiting for the next batch, in request order; a name asked for twice waits once. */
  readonly #pending = new Map<string, Waiter[]>();
  #running = false;

  constructor(run: DeleteBatch, maxBatch = MAX_BATCH) {
    this.#run = run;
    this.#maxBatch = Math.max(1, maxBatch);
  }

  /** Batches running or waiting: 0 when idle. */
  get pending(): number {
    return this.#pending.size + (this.#running ? 1 : 0);
  }

  /** Resolves once the link is deleted; rejects with the batch's error for this link. */
  delete(name: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiters = this.#pending.get(name);
      if (waiters) waiters.push({ resolve, reject });
      else this.#pending.set(name, [{ resolve, reject }]);
      this.#next();
    });
  }

  #next(): void {
    if (this.#running || this.#pending.size === 0) return;
    const batch = new Map<string, Waiter[]>();
    for (const [name, waiters] of this.#pending) {
      if (batch.size >= this.#maxBatch) break;
      batch.set(name, waiters);
    }
    for (const name of batch.keys()) this.#pending.delete(name);
    this.#running = true;
    const settle = (outcomes: ReadonlyMap<string, LinkDeletion> | Error): void => {
      for (const [name, waiters] of batch) {
        const outcome = outcomes instanceof Error ? { ok: false as const, error: outcomes } : outcomes.get(name);
        for (const waiter of waiters) {
          if (outcome === undefined) waiter.reject(new Error(`link deletion batch returned no outcome for ${name}`));
          else if (outcome.ok) waiter.resolve();
          else waiter.reject(outcome.error);
        }
      }
    };
    let started: Promise<ReadonlyMap<string, LinkDeletion>>;
    try {
      started = this.#run([...batch.keys()]);
    } catch (error) {
      started = Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    void started
      .then(settle, (error: unknown) => settle(error instanceof Error ? error : new Error(String(error))))
      .finally(() => {
        this.#running = false;
        this.#next();
      });
  }
}
