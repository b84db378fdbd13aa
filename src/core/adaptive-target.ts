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
 * - Free addresses are released, in one call, back down to high only after they have stayed above
 *   `releaseAbove` (high plus another chunk) for `holdMs`: a burst that ends and comes
 *   back soon finds its addresses still there, and ordinary churn around the band does not turn
 *   into release-and-assign-again calls.
 * - An idle secondary interface stays attached (it costs one address) until it has held no
 *   address for `emptyInterfaceHoldMs`, so the next grow is a fast assign, not create + attach.
 * - When arrivals are fast enough that the pool would run dry while an interface attaches, the
 *   next interface is attached early (`lowForAttach`).
 * - For `startupWindowMs` after the daemon starts, high is at least one interface's worth: a new
 *   node is about to receive the pods that made the cluster scale up.
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
  /** Arrivals to be ready for beyond the round trip, at the busiest sustained rate. */
  readonly chunkHorizonMs: number;
  /** Windows the sustained rate (for the chunk) is measured over. */
  readonly sustainedWindowsMs: readonly number[];
  /** During a burst (the busiest short-window rate), the chunk covers this much more of it. */
  readonly burstHorizonMs: number;
  readonly holdMs: number;
  readonly emptyInterfaceHoldMs: number;
  /**
   * A node that just started is about to receive its pods (nodes join because pods are pending):
   * for this long after start the band's high is at least one interface's worth of addresses.
   */
  readonly startupWindowMs: number;
}

export const DEFAULT_ADAPTIVE_PARAMS: AdaptiveParams = {
  minWarm: 2,
  minChunk: 6,
  headroom: 2,
  rateWindowsMs: [2_000, 10_000, 60_000, 600_000],
  chunkHorizonMs: 600_000,
  sustainedWindowsMs: [600_000],
  burstHorizonMs: 5_000,
  holdMs: 300_000,
  emptyInterfaceHoldMs: 6 * 3_600_000,
  startupWindowMs: 600_000,
};

export interface WarmBand {
  /** Grow below this many free addresses, when an attached interface has room (an assign). */
  readonly low: number;
  /** Grow below this many, counting the room left on attached interfaces, when the next grow must attach an interface. */
  readonly lowForAttach: number;
  /** Grow up to this many. */
  readonly high: number;
  /** Release down to `high` once free addresses stay above this for the hold time. */
  readonly releaseAbove: number;
  /** Arrivals per second at the busiest recent rate. */
  readonly ratePerSec: number;
}

/**
 * Arrivals per ms over the busiest of the windows ending at `nowMs`. A window with n arrivals
 * counts n − 1 of them: one pod alone in a 10-second window is no burst.
 */
export function peakArrivalRate(arrivalsMs: readonly number[], nowMs: number, windowsMs: readonly number[]): number {
  // Arrivals are recorded in time order: count each window with two binary searches.
  const end = firstAfter(arrivalsMs, nowMs);
  let peak = 0;
  for (const window of windowsMs) {
    const count = end - firstAfter(arrivalsMs, nowMs - window);
    peak = Math.max(peak, Math.max(0, count - 1) / window);
  }
  return peak;
}

/** Index of the first element greater than `t` in an ascending array. */
function firstAfter(sorted: readonly number[], t: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] ?? 0) <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The band of free addresses to keep, from recent arrivals and the measured latency of a grow.
 */
export function adaptiveBand(input: {
  readonly arrivalsMs: readonly number[];
  readonly nowMs: number;
  /** Measured (or assumed) latency of one assign on an attached interface, ms. */
  readonly growLatencyMs: number;
  /** Measured (or assumed) latency of create + attach until the node sees the interface, ms. */
  readonly attachLatencyMs: number;
  readonly params?: AdaptiveParams;
}): WarmBand {
  const p = input.params ?? DEFAULT_ADAPTIVE_PARAMS;
  const rate = peakArrivalRate(input.arrivalsMs, input.nowMs, p.rateWindowsMs);
  const low = Math.max(p.minWarm, Math.ceil(rate * input.growLatencyMs * p.headroom));
  const lowForAttach = Math.max(low, Math.ceil(rate * input.attachLatencyMs * p.headroom));
  const sustained = peakArrivalRate(input.arrivalsMs, input.nowMs, p.sustainedWindowsMs);
  const chunk = Math.max(p.minChunk, Math.ceil(sustained * p.chunkHorizonMs), Math.ceil(rate * p.burstHorizonMs));
  return { low, lowForAttach, high: low + chunk, releaseAbove: low + 2 * chunk, ratePerSec: rate * 1000 };
}

/** Drops arrivals older than the longest window (the list is in time order). Pure. */
export function pruneArrivals(arrivalsMs: readonly number[], nowMs: number, params: AdaptiveParams = DEFAULT_ADAPTIVE_PARAMS): number[] {
  const horizon = nowMs - Math.max(...params.rateWindowsMs, ...params.sustainedWindowsMs);
  const first = firstAfter(arrivalsMs, horizon);
  return first === 0 ? [...arrivalsMs] : arrivalsMs.slice(first);
}

/** Exponentially weighted moving average, for measured call latencies. */
export function ewma(previous: number | undefined, sample: number, weight = 0.3): number {
  return previous === undefined ? sample : previous * (1 - weight) + sample * weight;
}
