/**
 * Simulated time for the churn simulator: `now()` and `sleep(ms)` on a virtual clock that jumps
 * from one pending timer to the next, so a day of pod churn replays in seconds. Everything the
 * simulation runs is in-process and I/O-free, so between two timers the only work left is
 * promise continuations, which `settle()` drains.
 */
interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly resolve: () => void;
}

export class VirtualClock {
  #now: number;
  #seq = 0;
  readonly #heap: Timer[] = [];

  constructor(startMs = 0) {
    this.#now = startMs;
  }

  now = (): number => this.#now;

  sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      this.#push({ at: this.#now + Math.max(0, ms), seq: this.#seq++, resolve });
    });

  /** Resolves at virtual time `atMs` (at once when it has passed). */
  at(atMs: number): Promise<void> {
    return this.sleep(atMs - this.#now);
  }

  get pendingTimers(): number {
    return this.#heap.length;
  }

  /**
   * Runs until no timer is due at or before `untilMs`, then sets the clock to `untilMs`.
   * Between timers it lets promise chains run to completion.
   */
  async runUntil(untilMs: number): Promise<void> {
    await settle();
    for (;;) {
      const next = this.#heap[0];
      if (next === undefined || next.at > untilMs) break;
      this.#pop();
      this.#now = Math.max(this.#now, next.at);
      next.resolve();
      await settle();
    }
    this.#now = Math.max(this.#now, untilMs);
  }

  /**
   * Advances the clock in steps of `stepMs` (default 100) until `work` settles or `horizonMs`
   * (default an hour) has passed, and returns its outcome: for code that waits on simulated work.
   */
  async drive<T>(work: Promise<T>, options: { readonly stepMs?: number; readonly horizonMs?: number } = {}): Promise<T> {
    const step = options.stepMs ?? 100;
    const end = this.#now + (options.horizonMs ?? 3_600_000);
    let settled = false;
    const done = work.finally(() => {
      settled = true;
    });
    done.catch(() => undefined);
    while (!settled && this.#now < end) await this.runUntil(this.#now + step);
    return done;
  }

  #push(timer: Timer): void {
    const heap = this.#heap;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && before(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && before(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === i) break;
      [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
      i = smallest;
    }
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** Lets every queued promise continuation run (a macrotask boundary drains the microtask queue). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
