/**
 * Bursts that come back: a node running cron-like jobs, or a Deployment scaled up on a schedule,
 * sees a batch of pods at a regular interval. Pure. The adaptive controller records each burst (its
 * first arrival, the pods it brought); from the last three this says whether they recur, when the
 * next is due and how many pods it will bring.
 *
 * What the pool does with it (adaptive-controller.ts), all from what the node measured:
 * - During the expected burst it is ready for the pods still to come (the last bursts' size less
 *   those arrived), not for twice the band: growing by twice the band at every burst (the rule for a
 *   burst nobody expected) left about two bursts' worth idle and released and grew it again.
 * - Between bursts it keeps the next burst's worth if that costs, averaged over the interval, at most
 *   half an interface's worth of idle addresses — half what the AWS VPC CNI's spare interface idles
 *   all the time, the reference the pool is judged against — so keeping is cheap next to the calls
 *   (a release and an assign per interface the burst spans) and the waits of growing it again.
 *   Otherwise it gives the addresses back as soon as the last burst's are back from their pods and
 *   cooldown (not after the fixed hold), and grows them again an interface's latency before the next
 *   burst is due. The choice is made again at each plan: close to the next burst, keeping wins.
 */

/** One burst: its first arrival and the pods it brought. */
export interface BurstRecord {
  readonly startMs: number;
  readonly size: number;
}

export interface Recurrence {
  /** When the next burst is due. */
  readonly nextMs: number;
  /** The interval between the last two. */
  readonly intervalMs: number;
  /** Pods it is expected to bring (the larger of the last two). */
  readonly size: number;
  /** How much the last two differed in size. */
  readonly sizeVariation: number;
  /** How far off its start may fall: the interval's own variation plus the onset window. */
  readonly toleranceMs: number;
}

/**
 * The recurrence of the last three bursts, if their two intervals agree within the onset window
 * (a burst's start is known to within the shortest rate window) plus `leadMs` (how early the pool
 * grows ahead of a burst, so an error this small costs no wait); otherwise undefined: the bursts are
 * not periodic.
 */
export function recurrenceOf(bursts: readonly BurstRecord[], options: { readonly onsetWindowMs: number; readonly leadMs: number }): Recurrence | undefined {
  const [a, b, c] = bursts.slice(-3);
  if (a === undefined || b === undefined || c === undefined) return undefined;
  const earlier = b.startMs - a.startMs;
  const later = c.startMs - b.startMs;
  const variation = Math.abs(later - earlier);
  if (variation > options.onsetWindowMs + options.leadMs) return undefined;
  return { nextMs: c.startMs + later, intervalMs: later, size: Math.max(b.size, c.size), sizeVariation: Math.abs(b.size - c.size), toleranceMs: variation + options.onsetWindowMs };
}

/** How many of the arrivals (in time order) are at or after `fromMs`. */
export function arrivalsSince(arrivalsMs: readonly number[], fromMs: number): number {
  let lo = 0;
  let hi = arrivalsMs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((arrivalsMs[mid] ?? 0) < fromMs) lo = mid + 1;
    else hi = mid;
  }
  return arrivalsMs.length - lo;
}
