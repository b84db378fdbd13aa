import { describe, expect, it } from 'vitest';
import { DEFAULT_ADAPTIVE_PARAMS, adaptiveBand, ewma, peakArrivalRate, pruneArrivals } from '../../src/core/adaptive-target.js';

const now = 1_000_000;
const every = (count: number, spacingMs: number) => Array.from({ length: count }, (_, i) => now - i * spacingMs);
const band = (arrivals: number[], growLatencyMs = 300, attachLatencyMs = 6_000) => adaptiveBand({ arrivalsMs: arrivals, nowMs: now, growLatencyMs, attachLatencyMs });

describe('adaptive warm band', () => {
  it.each([
    ['no arrivals: the floor band', [], { low: 2, lowForAttach: 2, high: 8, releaseAbove: 14 }],
    ['steady churn, 1 pod / 2 min: still the floor', every(5, 120_000), { low: 2, high: 8 }],
    ['a burst of 20 pods in 2 s: a chunk for 5 s of it, and attach early', every(20, 100), { low: 6, lowForAttach: 114, high: 54 }],
    ['busy 10 minutes, 60 pods: the chunk follows the sustained rate', every(60, 10_000), { low: 2, high: 61 }],
  ])('%s', (_name, arrivals, expected) => {
    expect(band(arrivals)).toMatchObject(expected);
  });

  it('a slow assign raises low', () => {
    expect(band(every(20, 100), 3_000).low).toBe(Math.ceil((19 / 2_000) * 3_000 * 2));
  });

  it('takes the busiest window, and one arrival alone is no burst', () => {
    const burst = every(10, 500); // 10 in the last 5 s
    expect(peakArrivalRate(burst, now, [10_000, 600_000])).toBeCloseTo(9 / 10_000);
    const old = burst.map((t) => t - 120_000); // the same burst 2 min ago: only the 10-min window sees it
    expect(peakArrivalRate(old, now, [10_000, 600_000])).toBeCloseTo(9 / 600_000);
    expect(peakArrivalRate([now], now, [2_000])).toBe(0);
  });

  it('forgets arrivals older than the longest window', () => {
    expect(pruneArrivals([now - 700_000, now - 500_000, now], now, DEFAULT_ADAPTIVE_PARAMS)).toEqual([now - 500_000, now]);
  });

  it('ewma starts at the first sample and moves toward new ones', () => {
    expect(ewma(undefined, 300)).toBe(300);
    expect(ewma(300, 1300, 0.5)).toBe(800);
  });
});
