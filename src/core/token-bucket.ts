/**
 * A token bucket with fractional refill on an injected clock: `capacity` tokens at most, refilled
 * continuously at `refillPerSecond`. Pure: no timers; callers that must wait ask how long.
 * EC2's request throttling is this model (per account and region); the emulator enforces it and
 * the AWS provider mirrors it on the client side.
 */

/** The size and rate of one bucket. */
export interface TokenBucketSpec {
  /** Tokens the bucket holds when full: the burst. */
  readonly capacity: number;
  /** Tokens added per second, continuously. */
  readonly refillPerSecond: number;
}

export class TokenBucket {
  readonly capacity: number;
  readonly refillPerSecond: number;
  readonly #clock: () => number;
  #tokens: number;
  #last: number;

  /** Starts full. `clock` returns milliseconds; it must never go backwards. */
  constructor(capacity: number, refillPerSecond: number, clock: () => number) {
    if (!(capacity >= 1) || !(refillPerSecond > 0)) {
      throw new RangeError(`a token bucket needs capacity ≥ 1 and a refill rate > 0 (got ${capacity}, ${refillPerSecond}/s)`);
    }
    this.capacity = capacity;
    this.refillPerSecond = refillPerSecond;
    this.#clock = clock;
    this.#tokens = capacity;
    this.#last = clock();
  }

  static of(spec: TokenBucketSpec, clock: () => number): TokenBucket {
    return new TokenBucket(spec.capacity, spec.refillPerSecond, clock);
  }

  /** Tokens in the bucket now (fractional). */
  get tokens(): number {
    this.#refill();
    return this.#tokens;
  }

  /** Takes one token; false (and nothing taken) when less than one is left. */
  take(): boolean {
    this.#refill();
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Milliseconds until one token is there; 0 when one is there now. */
  msUntilToken(): number {
    this.#refill();
    return this.#tokens >= 1 ? 0 : Math.ceil(((1 - this.#tokens) / this.refillPerSecond) * 1000);
  }

  /** Empties the bucket: the server said its own bucket is empty, so ours should be too. */
  drain(): void {
    this.#refill();
    this.#tokens = Math.min(this.#tokens, 0);
  }

  #refill(): void {
    const now = this.#clock();
    if (now > this.#last) {
      this.#tokens = Math.min(this.capacity, this.#tokens + ((now - this.#last) / 1000) * this.refillPerSecond);
    }
    this.#last = Math.max(this.#last, now);
  }
}
