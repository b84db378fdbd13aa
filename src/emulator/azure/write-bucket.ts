/**
 * ARM's per-subscription write budget as a token bucket. Why these figures: since 2024 ARM
 * throttles per subscription and principal with buckets, 200 writes burst and 10 per second
 * refill (https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling).
 */
export const ARM_WRITE_BUCKET = { capacity: 200, refillPerSecond: 10 } as const;

export interface BucketTake {
  readonly ok: boolean;
  /** Whole tokens left after this take: the `x-ms-ratelimit-remaining-subscription-writes` value. */
  readonly remaining: number;
  /** When refused: milliseconds until one token is back. */
  readonly waitMs: number;
}

export class WriteBucket {
  #tokens: number;
  #last: number;
  readonly #capacity: number;
  readonly #refillPerSecond: number;
  readonly #clock: () => number;

  constructor(options: { capacity: number; refillPerSecond: number; clock: () => number }) {
    this.#capacity = options.capacity;
    this.#refillPerSecond = options.refillPerSecond;
    this.#clock = options.clock;
    this.#tokens = options.capacity;
    this.#last = options.clock();
  }

  take(): BucketTake {
    const now = this.#clock();
    this.#tokens = Math.min(this.#capacity, this.#tokens + ((now - this.#last) / 1000) * this.#refillPerSecond);
    this.#last = now;
    if (this.#tokens < 1) {
      return { ok: false, remaining: 0, waitMs: Math.ceil(((1 - this.#tokens) / this.#refillPerSecond) * 1000) };
    }
    this.#tokens -= 1;
    return { ok: true, remaining: Math.floor(this.#tokens), waitMs: 0 };
  }
}
