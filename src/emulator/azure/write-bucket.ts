import { TokenBucket } from '../../core/token-bucket.js';

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

/** The subscription's bucket (core's TokenBucket) with what ARM's answers tell of it. */
export class WriteBucket {
  readonly #bucket: TokenBucket;
  readonly #clock: () => number;
  /** The instant of the take in progress: the bucket reads it, so one take sees one instant, as ARM's answer does. */
  #now: number;

  constructor(options: { capacity: number; refillPerSecond: number; clock: () => number }) {
    this.#clock = options.clock;
    this.#now = options.clock();
    this.#bucket = TokenBucket.of(options, () => this.#now);
  }

  take(): BucketTake {
    this.#now = this.#clock();
    if (!this.#bucket.take()) return { ok: false, remaining: 0, waitMs: this.#bucket.msUntilToken() };
    return { ok: true, remaining: Math.floor(this.#bucket.tokens), waitMs: 0 };
  }
}
