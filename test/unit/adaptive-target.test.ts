import { describe, expect, it } from 'vitest';
import { DEFAULT_ADAPTIVE_PARAMS, adaptiveBand, chunkFloor, churnNoise, ewma, onsetRate, peakArrivalRate, pruneArrivals, sustainedArrivalRate } from '../../src/ipamd/pool/plan/adaptive-target.js';

const now = 1_000_000;
/** `count` arrivals `spacingMs` apart, the last at `now`, in time order (as the controller records them). */
const every = (count: number, spacingMs: number) => Array.from({ length: count }, (_, i) => now - (count - 1 - i) * spacingMs);
const band = (arrivals: number[], growLatencyMs = 300) => adaptiveBand({ arrivalsMs: arrivals, nowMs: now, growLatencyMs });

describe('adaptive warm band', () => {
  it.each([
    ['no arrivals: quiet, the smallest band', [], { low: 2, high: 5, releaseAbove: 8, burst: false }],
    ['steady churn, 1 pod / 2 min: the floor band', every(5, 120_000), { low: 2, high: 8, releaseAbove: 14, burst: false }],
    ['the last pod 15 minutes ago: quiet again', [now - 900_000], { low: 2, high: 5 }],
    ['a burst of 20 pods in 2 s: a burst, no more chunk than it brought so far', every(20, 100), { low: 5, high: 25, burst: true }],
    ['busy 10 minutes, 60 pods: the chunk follows the sustained rate', every(60, 10_000), { low: 2, high: 62 }],
  ])('%s', (_name, arrivals, expected) => {
    expect(band(arrivals)).toMatchObject(expected);
  });

  it.each([
    // 10 pods came and went in 10 minutes: 2 over a hold, 2 × √2 → 3 beyond high before a release.
    ['t3.medium (5 addresses an interface): a quarter is 1, never under minWarm', 5, { low: 2, high: 4, releaseAbove: 7 }],
    ['m5.large (9): a quarter, 2', 9, { low: 2, high: 4, releaseAbove: 7 }],
    ['m5.xlarge (14): a quarter, 3', 14, { low: 2, high: 5, releaseAbove: 8 }],
    ['m5.4xlarge (29): the floor itself, 6', 29, { low: 2, high: 8, releaseAbove: 14 }],
  ])('steady churn (a pod in and one out every 2 min) on %s', (_name, interfaceCapacity, expected) => {
    const arrivalsMs = every(5, 120_000);
    expect(adaptiveBand({ arrivalsMs, departuresMs: arrivalsMs, nowMs: now, growLatencyMs: 300, interfaceCapacity })).toMatchObject(expected);
  });

  it('the chunk floor: a quarter of a small interface outside a burst, the whole floor during one or where the interface is unknown', () => {
    const p = DEFAULT_ADAPTIVE_PARAMS;
    expect(chunkFloor(p, { quiet: false, burst: false, interfaceCapacity: 14 })).toBe(3);
    expect(chunkFloor(p, { quiet: true, burst: false, interfaceCapacity: 9 })).toBe(2); // quietChunk 3, capped
    expect(chunkFloor(p, { quiet: false, burst: true, interfaceCapacity: 14 })).toBe(p.minChunk);
    expect(chunkFloor(p, { quiet: false, burst: false })).toBe(p.minChunk);
    expect(chunkFloor(p, { quiet: false, burst: false, interfaceCapacity: 1 })).toBe(p.minWarm);
  });

  it('releases only beyond the churn\'s chance excursion over a hold: twice the square root of the pods that come and go in it', () => {
    // 60 arrivals and 60 departures in 10 minutes: 24 over a 2-minute hold, 2 × √24 → 10.
    const arrivals = every(60, 10_000);
    const departures = arrivals.map((t) => t - 5_000);
    expect(churnNoise(arrivals, departures, now, DEFAULT_ADAPTIVE_PARAMS)).toBe(10);
    expect(churnNoise([], [], now, DEFAULT_ADAPTIVE_PARAMS)).toBe(0);
    const churning = adaptiveBand({ arrivalsMs: arrivals, departuresMs: departures, nowMs: now, growLatencyMs: 300, interfaceCapacity: 9 });
    // Net growth 0: the chunk is the floor (2 on 9 addresses), and a release waits for 10 beyond high, not 2.
    expect(churning).toMatchObject({ high: churning.low + 2, releaseAbove: churning.low + 2 + 10 });
  });

  it('a slow assign raises low', () => {
    // 20 arrivals spanning 1.9 s: the onset rate, 19 / 1.9 s, is the busiest.
    expect(band(every(20, 100), 3_000).low).toBe(Math.ceil((19 / 1_900) * 3_000 * DEFAULT_ADAPTIVE_PARAMS.headroom));
  });

  it('sees a burst at its onset, over the time its arrivals span', () => {
    expect(onsetRate([now - 400, now - 200, now], now, DEFAULT_ADAPTIVE_PARAMS)).toBeCloseTo(2 / 500); // never under 500 ms
    expect(onsetRate([now - 1_000, now - 500, now], now, DEFAULT_ADAPTIVE_PARAMS)).toBeCloseTo(2 / 1_000);
    expect(onsetRate([now - 500, now], now, DEFAULT_ADAPTIVE_PARAMS)).toBe(0); // two pods are no burst
  });

  it('a single burst is not a sustained rate; arrivals in both halves of the window are', () => {
    const burst = every(20, 100);
    expect(sustainedArrivalRate(burst, now, [600_000])).toBe(0);
    expect(sustainedArrivalRate(every(60, 10_000), now, [600_000])).toBeCloseTo(60 / 600_000);
  });

  it('takes the busiest window, and one arrival alone is no burst', () => {
    const burst = every(10, 500); // 10 in the last 4.5 s
    expect(peakArrivalRate(burst, now, [10_000, 600_000])).toBeCloseTo(9 / 10_000);
    const old = burst.map((t) => t - 120_000); // the same burst 2 min ago: only the 10-min window sees it
    expect(peakArrivalRate(old, now, [10_000, 600_000])).toBeCloseTo(9 / 600_000);
    expect(peakArrivalRate([now], now, [2_000])).toBe(0);
  });

  it('forgets arrivals older than the longest window', () => {
    // The longest memory is the quiet time (15 min): older arrivals go.
    expect(pruneArrivals([now - 1_000_000, now - 800_000, now], now, DEFAULT_ADAPTIVE_PARAMS)).toEqual([now - 800_000, now]);
  });

  it('ewma starts at the first sample and moves toward new ones', () => {
    expect(ewma(undefined, 300)).toBe(300);
    expect(ewma(300, 1300, 0.5)).toBe(800);
  });
});
