import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/core/token-bucket.js';

/** A bucket on a clock the test moves by hand. */
function bucketAt(capacity: number, refillPerSecond: number) {
  let now = 1_000_000;
  const bucket = new TokenBucket(capacity, refillPerSecond, () => now);
  return {
    bucket,
    advance: (ms: number) => {
      now += ms;
    },
    drainAll: () => {
      let taken = 0;
      while (bucket.take()) taken += 1;
      return taken;
    },
  };
}

describe('TokenBucket', () => {
  it.each([
    // capacity, refill/s, ms after emptying, tokens then available
    [50, 10, 0, 0],
    [50, 10, 99, 0],
    [50, 10, 100, 1],
    [50, 10, 1_000, 10],
    [50, 10, 3_600_000, 50],
    [100, 5, 1_000, 5],
    [100, 5, 199, 0],
    [100, 5, 200, 1],
    [100, 20, 2_500, 50],
  ])('capacity %i at %i/s: %i ms after emptying holds %i whole tokens', (capacity, rate, ms, expected) => {
    const { advance, drainAll } = bucketAt(capacity, rate);
    expect(drainAll()).toBe(capacity);
    advance(ms);
    expect(drainAll()).toBe(expected);
  });

  it.each([
    // capacity, refill/s, tokens taken first, ms until the next token
    [100, 5, 0, 0],
    [100, 5, 99, 0],
    [100, 5, 100, 200],
    [50, 10, 50, 100],
    [100, 20, 100, 50],
  ])('capacity %i at %i/s after %i taken: next token in %i ms', (capacity, rate, taken, expected) => {
    const { bucket } = bucketAt(capacity, rate);
    for (let i = 0; i < taken; i++) expect(bucket.take()).toBe(true);
    expect(bucket.msUntilToken()).toBe(expected);
  });

  it('waiting msUntilToken always yields a token', () => {
    const { bucket, advance } = bucketAt(3, 7);
    while (bucket.take());
    for (let i = 0; i < 50; i++) {
      advance(bucket.msUntilToken());
      expect(bucket.take()).toBe(true);
    }
  });

  it('drain empties the bucket until it refills', () => {
    const { bucket, advance } = bucketAt(100, 5);
    expect(bucket.tokens).toBe(100);
    bucket.drain();
    expect(bucket.take()).toBe(false);
    expect(bucket.msUntilToken()).toBe(200);
    advance(200);
    expect(bucket.take()).toBe(true);
  });

  it('ignores a clock that steps backwards', () => {
    let now = 10_000;
    const bucket = new TokenBucket(2, 1, () => now);
    bucket.take();
    bucket.take();
    now = 5_000;
    expect(bucket.take()).toBe(false);
    now = 10_999;
    expect(bucket.take()).toBe(false);
    now = 11_000;
    expect(bucket.take()).toBe(true);
  });

  it.each([
    [0, 5],
    [10, 0],
    [Number.NaN, 1],
  ])('refuses capacity %d with refill %d', (capacity, rate) => {
    expect(() => new TokenBucket(capacity, rate, () => 0)).toThrow(/capacity ≥ 1 and a refill rate > 0/);
  });
});
