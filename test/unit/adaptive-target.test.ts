import { describe, expect, it } from 'vitest';
import { DEFAULT_ADAPTIVE_PARAMS, adaptiveBand, ewma, peakArrivalRate, pruneArrivals } from '../../src/core/adaptive-target.js';

const now = 1_000_000;
const every = (count: number, spacingMs: number) => Array.from({ length: count }, (_, i) => now - i * spacingMs);

describe('adaptive warm band', () => {
  it.each([
    ['no arrivals: the floor band', [], 300, { low: 2, high: 6 }],
    ['steady churn, 1 pod / 2 min', every(5, 120_000), 300, { low: 2, high: 6 }],
    ['a burst of 20 pods in 2 s raises both ends', every(20, 100), 300, { low: 2, high: 230 }],
    ['a slow grow path (create + attach) raises low', every(20, 100), 6_000, { low: 23, high: 251 }],
    ['busy minute: 30 pods in 60 s', every(30, 2_000), 300, { low: 2, high: 60 }],
  ])('%s', (_name, arrivals, latency, expected) => {
    expect(adaptiveBand({ arrivalsMs: arrivals, nowMs: now, growLatencyMs: latency })).toMatchObject(expected);
  });

  it('takes the busiest window', () => {
    const burst = every(10, 500); // 10 in the last 5 s
    expect(peakArrivalRate(burst, now, [10_000, 600_000])).toBeCloseTo(9 / 10_000);
    const old = burst.map((t) => t - 120_000); // the same burst 2 min ago: only the 10-min window sees it
    expect(peakArrivalRate(old, now, [10_000, 600_000])).toBeCloseTo(9 / 600_000);
  });

  it('forgets arrivals older than the longest window', () => {
    expect(pruneArrivals([now - 700_000, now - 500_000, now], now, DEFAULT_ADAPTIVE_PARAMS)).toEqual([now - 500_000, now]);
  });

  it('ewma starts at the first sample and moves toward new ones', () => {
    expect(ewma(undefined, 300)).toBe(300);
    expect(ewma(300, 1300, 0.5)).toBe(800);
  });
});
