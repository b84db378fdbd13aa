/**
 * nativeip's default warm target, used when none of the AWS VPC CNI knobs is set. Pure.
 *
 * Instead of a fixed number of spare addresses, the pool keeps a band [low, high] that follows
 * the node's recent pod arrivals:
 * - low: the arrivals expected during one cloud round trip for a grow (an assign on an interface
 *   with room), at the busiest recent rate, times a safety factor, and never below `minWarm`.
 *   When free addresses drop below low, one call tops the pool up to high.
 * - high: low plus a chunk sized to the arrivals of the next `chunkHorizonMs` at that rate (at
 *   least `minChunk`), so steady churn costs few calls.
 * - Addresses above high are released only after they have stayed above it for `holdMs`, in one
 *   call, back down to high: a burst that ends and comes back soon finds its addresses still there.
 * - An idle secondary interface stays attached (it costs one address) until it has held no
 *   address for `emptyInterfaceHoldMs`, so the next grow is a fast assign, not create + attach.
 * The busiest recent rate is the highest of the arrival rates over several windows (10 s, 1 min,
 * 10 min), so a burst raises the band within seconds and a quiet stretch lowers it.
 */

export interface AdaptiveParams {
  readonly minWarm: number;
  readonly minChunk: number;
  /** Safety factor on the arrivals expected during one grow. */
  readonly headroom: number;
  /** Windows the arrival rate is measured over; the highest rate wins. */
  readonly rateWindowsMs: readonly number[];
  /** Arrivals to be ready for beyond the round trip, at the busiest rate. */
  readonly chunkHorizonMs: number;
  readonly holdMs: number;
  readonly emptyInterfaceHoldMs: number;
}

export const DEFAULT_ADAPTIVE_PARAMS: AdaptiveParams = {
  minWarm: 2,
  minChunk: 4,
  headroom: 2,
  rateWindowsMs: [10_000, 60_000, 600_000],
  chunkHorizonMs: 120_000,
  holdMs: 600_000,
  emptyInterfaceHoldMs: 3_600_000,
};

export interface WarmBand {
  readonly low: number;
  readonly high: number;
  /** Arrivals per second at the busiest recent rate. */
  readonly ratePerSec: number;
}

/**
 * Arrivals per ms over the busiest of the windows ending at `nowMs`. A window with n arrivals
 * counts n − 1 of them: one pod alone in a 10-second window is no burst.
 */
export function peakArrivalRate(arrivalsMs: readonly number[], nowMs: number, windowsMs: readonly number[]): number {
  let peak = 0;
  for (const window of windowsMs) {
    let count = 0;
    for (const t of arrivalsMs) if (t > nowMs - window && t <= nowMs) count += 1;
    peak = Math.max(peak, Math.max(0, count - 1) / window);
  }
  return peak;
}

/**
 * The band of free addresses to keep, from recent arrivals and the measured latency of a grow.
 */
export function adaptiveBand(input: {
  readonly arrivalsMs: readonly number[];
  readonly nowMs: number;
  /** Measured (or assumed) latency of one grow call, ms. */
  readonly growLatencyMs: number;
  readonly params?: AdaptiveParams;
}): WarmBand {
  const p = input.params ?? DEFAULT_ADAPTIVE_PARAMS;
  const rate = peakArrivalRate(input.arrivalsMs, input.nowMs, p.rateWindowsMs);
  const low = Math.max(p.minWarm, Math.ceil(rate * input.growLatencyMs * p.headroom));
  const chunk = Math.max(p.minChunk, Math.ceil(rate * p.chunkHorizonMs));
  return { low, high: low + chunk, ratePerSec: rate * 1000 };
}

/** Drops arrivals older than the longest window; keeps the list short. Pure. */
export function pruneArrivals(arrivalsMs: readonly number[], nowMs: number, params: AdaptiveParams = DEFAULT_ADAPTIVE_PARAMS): number[] {
  const horizon = nowMs - Math.max(...params.rateWindowsMs);
  return arrivalsMs.filter((t) => t > horizon);
}

/** Exponentially weighted moving average, for measured call latencies. */
export function ewma(previous: number | undefined, sample: number, weight = 0.3): number {
  return previous === undefined ? sample : previous * (1 - weight) + sample * weight;
}
