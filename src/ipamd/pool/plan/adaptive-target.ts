/**
 * nativeip's default warm target, used when none of the AWS VPC CNI knobs is set. Pure.
 *
 * Instead of a fixed number of spare addresses, the pool keeps a band [low, high] of free
 * addresses that follows the node's recent pod arrivals:
 * - low: the arrivals expected during one cloud round trip for a grow, at the busiest recent
 *   rate, times a safety factor, and never below `minWarm`. Below low, one call tops the pool up
 *   to high.
 * - high: low plus a chunk: at least `minChunk` (`quietChunk` once no pod has arrived for
 *   `quietAfterMs`, where a grow is fast; outside a burst at most a quarter of an interface, see
 *   chunkFloor), the arrivals of the next `chunkHorizonMs` at the rate the node has kept up
 *   (each half of the window must be that busy, so one burst does not pass for a busy ten
 *   minutes), and during a burst its next `burstHorizonMs` — never more than the burst has brought
 *   so far (a burst is expected to last about as long again as it has lasted).
 * - A burst is three or more arrivals within the shortest window. At its onset the rate is
 *   measured over the time those arrivals actually span, the pool grows as soon as free addresses
 *   are below high (not low), and each assign takes twice the band (an AWS ENI's whole room): a
 *   burst runs short of calls, not addresses, and the excess goes back in one call afterwards.
 * - Grows land on the highest interface that can take the whole shortfall in one call, else the
 *   one with most room; pods take the lowest addresses. So a burst's addresses gather on the
 *   higher interfaces and go back in one call per interface.
 * - Free addresses are released only after they have stayed above `releaseAbove` (high plus
 *   another chunk, or more where pods come and go fast enough to move the free count further by
 *   chance within the hold, see churnNoise) for `holdMs`, and then down to high: churn around the
 *   band costs no calls, and a burst that comes back within the hold finds its addresses still there.
 * - An idle secondary interface stays attached (it costs one address) until it has held no
 *   address for `emptyInterfaceHoldMs`, so the next grow is a fast assign, not create + attach.
 * - For `startupWindowMs` after the daemon starts, high is at least one interface's worth (at most
 *   `startupMaxAddresses`): a new node is about to receive the pods that made the cluster scale up.
 * - Bursts that recur at a regular interval are kept, or given back and grown again ahead of the
 *   next, by what the node measured of them (burst-recurrence.ts, adaptive-controller.ts).
 * The rates are the highest over several windows (2 s, 10 s, 1 min, 10 min), so a burst raises
 * the band within a second and a quiet stretch lowers it. Measured against the AWS VPC CNI's
 * policies in bench/churn.ts (BENCHMARKS.md "Warm pool under churn").
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
  /** The burst part of the chunk is at most the arrivals of this window (what the burst brought so far). */
  readonly burstMemoryMs: number;
  /** The onset rate is measured over at least this span (three arrivals 10 ms apart are not 100/s). */
  readonly onsetMinSpanMs: number;
  readonly holdMs: number;
  /** No arrival for this long: the node is quiet and the chunk shrinks to `quietChunk`. */
  readonly quietAfterMs: number;
  readonly quietChunk: number;
  /**
   * A quiet node shrinks its chunk only where a grow is this fast or faster (an EC2 assign, not
   * an Azure NIC PUT of 10–60 s): the first pods after a quiet stretch wait one grow.
   */
  readonly quietMaxGrowLatencyMs: number;
  readonly emptyInterfaceHoldMs: number;
  /**
   * A node that just started is about to receive its pods (nodes join because pods are pending):
   * for this long after start the band's high is at least one interface's worth of addresses.
   */
  readonly startupWindowMs: number;
  /**
   * The start-up floor is at most this many addresses: an AWS ENI's worth on most instance types,
   * where an Azure NIC's worth (255) would be far more than the pods a new node receives first.
   */
  readonly startupMaxAddresses: number;
}

export const DEFAULT_ADAPTIVE_PARAMS: AdaptiveParams = {
  minWarm: 2,
  minChunk: 6,
  headroom: 1.5,
  rateWindowsMs: [2_000, 10_000, 60_000, 600_000],
  chunkHorizonMs: 600_000,
  sustainedWindowsMs: [600_000],
  burstHorizonMs: 5_000,
  burstMemoryMs: 10_000,
  onsetMinSpanMs: 500,
  holdMs: 120_000,
  quietAfterMs: 900_000,
  quietChunk: 3,
  quietMaxGrowLatencyMs: 2_000,
  emptyInterfaceHoldMs: 6 * 3_600_000,
  startupWindowMs: 600_000,
  startupMaxAddresses: 64,
};

export interface WarmBand {
  /** Grow below this many free addresses. */
  readonly low: number;
  /**
   * Attach the next interface ahead when free addresses plus the room left on the attached
   * interfaces fall below this: the arrivals expected while an interface is created and attached
   * (a slower grow than an assign), plus `high`.
   */
  readonly interfaceLow: number;
  /** Grow up to this many. */
  readonly high: number;
  /** Release down to `high` once free addresses stay above this for the hold time. */
  readonly releaseAbove: number;
  /** Arrivals per second at the busiest recent rate. */
  readonly ratePerSec: number;
  /** Pods are arriving in a burst right now (three or more within the shortest window). */
  readonly burst: boolean;
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

/**
 * Arrivals per ms kept up over the busiest of the windows: each window counts only as busy as the
 * quieter of its two halves, so one burst does not pass for a busy ten minutes.
 */
export function sustainedArrivalRate(arrivalsMs: readonly number[], nowMs: number, windowsMs: readonly number[]): number {
  let peak = 0;
  for (const window of windowsMs) {
    const half = window / 2;
    const recent = countSince(arrivalsMs, nowMs - half, nowMs);
    const earlier = countSince(arrivalsMs, nowMs - window, nowMs - half);
    peak = Math.max(peak, (2 * Math.min(recent, earlier)) / window);
  }
  return peak;
}

/**
 * Arrivals per ms at a burst's onset: over the time the arrivals in the shortest window actually
 * span (at least `onsetMinSpanMs`), once there are three or more of them. 0 otherwise.
 */
export function onsetRate(arrivalsMs: readonly number[], nowMs: number, params: Pick<AdaptiveParams, 'rateWindowsMs' | 'onsetMinSpanMs'>): number {
  const window = Math.min(...params.rateWindowsMs);
  const end = firstAfter(arrivalsMs, nowMs);
  const start = firstAfter(arrivalsMs, nowMs - window);
  const count = end - start;
  if (count < 3) return 0;
  const span = nowMs - (arrivalsMs[start] ?? nowMs);
  return (count - 1) / Math.max(span, params.onsetMinSpanMs);
}

/** Events (arrivals or departures) per ms over the longest of the windows ending at `nowMs`. */
function longestWindowRate(departuresMs: readonly number[], nowMs: number, windowsMs: readonly number[]): number {
  const window = Math.max(...windowsMs);
  return countSince(departuresMs, nowMs - window, nowMs) / window;
}

function countSince(arrivalsMs: readonly number[], fromMs: number, nowMs: number): number {
  return firstAfter(arrivalsMs, nowMs) - firstAfter(arrivalsMs, fromMs);
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

/** The band of free addresses to keep, from recent arrivals and the measured latency of a grow. */
export function adaptiveBand(input: {
  readonly arrivalsMs: readonly number[];
  /**
   * Pods that gave their address back, in time order. The chunk follows the node's net growth
   * (arrivals less departures): a departed pod's address serves a later arrival once cooled, so
   * steady churn needs no chunk of new addresses, a rising load does. Unset: arrivals alone.
   */
  readonly departuresMs?: readonly number[];
  readonly nowMs: number;
  /** Measured (or assumed) latency of one assign on an attached interface, ms. */
  readonly growLatencyMs: number;
  /** Measured (or assumed) latency of creating and attaching an interface, ms. */
  readonly interfaceLatencyMs?: number;
  /** Addresses one interface holds beyond its primary: the chunk floor's reach is a share of it. Unset: no cap. */
  readonly interfaceCapacity?: number | undefined;
  readonly params?: AdaptiveParams;
}): WarmBand {
  const p = input.params ?? DEFAULT_ADAPTIVE_PARAMS;
  const { arrivalsMs, nowMs } = input;
  const onset = onsetRate(arrivalsMs, nowMs, p);
  const rate = Math.max(peakArrivalRate(arrivalsMs, nowMs, p.rateWindowsMs), onset);
  const low = Math.max(p.minWarm, Math.ceil(rate * input.growLatencyMs * p.headroom));
  const last = arrivalsMs.at(-1);
  const quiet = input.growLatencyMs <= p.quietMaxGrowLatencyMs && (last === undefined || nowMs - last >= p.quietAfterMs);
  const sustainedArrivals = sustainedArrivalRate(arrivalsMs, nowMs, p.sustainedWindowsMs);
  const sustained = input.departuresMs === undefined ? sustainedArrivals : Math.max(0, sustainedArrivals - longestWindowRate(input.departuresMs, nowMs, p.sustainedWindowsMs));
  const burstSoFar = countSince(arrivalsMs, nowMs - p.burstMemoryMs, nowMs);
  const measuredChunk = Math.max(Math.ceil(sustained * p.chunkHorizonMs), Math.min(Math.ceil(rate * p.burstHorizonMs), burstSoFar));
  const chunk = Math.max(chunkFloor(p, { quiet, burst: onset > 0, interfaceCapacity: input.interfaceCapacity }), measuredChunk);
  const high = low + chunk;
  const interfaceLow = high + Math.ceil(rate * (input.interfaceLatencyMs ?? input.growLatencyMs) * p.headroom);
  const noise = churnNoise(arrivalsMs, input.departuresMs ?? [], nowMs, p);
  return { low, high, interfaceLow, releaseAbove: high + Math.max(chunk, noise), ratePerSec: rate * 1000, burst: onset > 0 };
}

/**
 * The least a grow brings beyond low when the node measures little growth (the chunk's floor). It
 * saves calls, and it is held: the band reaches a chunk above low, and a release waits for as much
 * again. So on a small interface it is at most a quarter of the interface, which keeps those two
 * chunks within half an interface — half the spare interface `WARM_ENI_TARGET=1` idles. It is
 * never below `minWarm` (on a 5-address interface two chunks are 4, not 2.5), and a busy node's
 * release margin can be wider (churnNoise). A burst keeps the whole floor: it runs short of calls,
 * not addresses.
 */
export function chunkFloor(p: AdaptiveParams, node: { readonly quiet: boolean; readonly burst: boolean; readonly interfaceCapacity?: number | undefined }): number {
  const floor = node.quiet ? p.quietChunk : p.minChunk;
  if (node.burst || node.interfaceCapacity === undefined) return floor;
  return Math.min(floor, Math.max(p.minWarm, Math.floor(node.interfaceCapacity / 4)));
}

/**
 * How far the free count strays by chance over the base hold (`holdMs`): pods arriving and leaving
 * move it as a random walk, about the square root of how many came and went (at the last window's
 * pace). Twice that (two standard deviations) above high is excess, not noise, so a release is not
 * undone by the next few arrivals.
 */
export function churnNoise(arrivalsMs: readonly number[], departuresMs: readonly number[], nowMs: number, p: AdaptiveParams): number {
  const perMs = longestWindowRate(arrivalsMs, nowMs, p.sustainedWindowsMs) + longestWindowRate(departuresMs, nowMs, p.sustainedWindowsMs);
  return Math.ceil(2 * Math.sqrt(perMs * p.holdMs));
}

/** How long arrivals are remembered: the longest window, or the quiet time if longer. */
export function arrivalMemoryMs(params: AdaptiveParams): number {
  return Math.max(...params.rateWindowsMs, ...params.sustainedWindowsMs, params.quietAfterMs);
}

/** Drops arrivals older than the longest window (the list is in time order). Pure. */
export function pruneArrivals(arrivalsMs: readonly number[], nowMs: number, params: AdaptiveParams = DEFAULT_ADAPTIVE_PARAMS): number[] {
  const horizon = nowMs - arrivalMemoryMs(params);
  const first = firstAfter(arrivalsMs, horizon);
  return first === 0 ? [...arrivalsMs] : arrivalsMs.slice(first);
}

/** Exponentially weighted moving average, for measured call latencies. */
export function ewma(previous: number | undefined, sample: number, weight = 0.3): number {
  return previous === undefined ? sample : previous * (1 - weight) + sample * weight;
}
