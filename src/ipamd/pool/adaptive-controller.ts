/**
 * The state behind nativeip's adaptive default: recent pod arrivals, the measured latency of a
 * grow, how long excess addresses have lasted and how long each secondary interface has been
 * empty. Turns it into the pure planner's AdaptiveTargets (src/ipamd/pool/plan/adaptive-plan.ts).
 */
import type { AddressPool } from './plan/address-pool.js';
import type { AdaptiveTargets } from './plan/adaptive-plan.js';
import { DEFAULT_ADAPTIVE_PARAMS, adaptiveBand, arrivalMemoryMs, ewma, pruneArrivals, type AdaptiveParams, type WarmBand } from './plan/adaptive-target.js';
import { arrivalsSince, recurrenceOf, type BurstRecord } from './plan/burst-recurrence.js';

/** Assumed latency of an assign before one has been measured. */
const INITIAL_GROW_LATENCY_MS = 500;
/**
 * Assumed latency of creating and attaching an interface before one has been measured: ten
 * assigns' worth (on EC2 a create, an attach and the link showing take seconds, not a fraction).
 */
const INITIAL_INTERFACE_LATENCY_FACTOR = 10;

export class AdaptiveController {
  readonly #params: AdaptiveParams;
  #arrivals: number[] = [];
  #departures: number[] = [];
  /** Allocation keys seen within the longest window, so a retried ADD counts once. */
  readonly #recentKeys = new Map<string, number>();
  #growLatencyMs: number | undefined;
  #interfaceLatencyMs: number | undefined;
  #excessSinceMs: number | undefined;
  /** The hold has passed: release until free addresses are back at high. */
  #releasing = false;
  readonly #emptySinceMs = new Map<string, number>();
  #startedAtMs: number | undefined;
  /** Addresses one interface holds, as of the last planning round. */
  #interfaceCapacity: number | undefined;
  /** The last bursts (start, pods brought), oldest first. */
  #bursts: BurstRecord[] = [];
  /** First arrival of the burst in progress. */
  #burstStartMs: number | undefined;
  /** How long excess must last before it is released: doubled when a grow undid a release within it. */
  #holdMs: number;
  /** When the last release started, until a grow undoes it or the hold passes without one. */
  #releaseStartedMs: number | undefined;
  /** Bursts recur: the pool gives back and grows again on their schedule, not by the hold. */
  #recurring = false;

  readonly #horizonMs: number;

  constructor(params: AdaptiveParams = DEFAULT_ADAPTIVE_PARAMS) {
    this.#params = params;
    this.#horizonMs = arrivalMemoryMs(params);
    this.#holdMs = params.holdMs;
  }

  /**
   * Records a pod asking for an address. A pod whose ADD is retried (kubelet retries while the
   * pool grows) is one arrival, not one per attempt.
   */
  recordArrival(nowMs: number, key: string): void {
    const seen = this.#recentKeys.get(key);
    if (seen !== undefined && seen > nowMs - this.#horizonMs) return;
    this.#recentKeys.set(key, nowMs);
    this.#arrivals.push(nowMs);
    if (this.#arrivals.length > 256) this.#arrivals = pruneArrivals(this.#arrivals, nowMs, this.#params);
    if (this.#recentKeys.size > 4 * 256) {
      for (const [k, t] of this.#recentKeys) if (t <= nowMs - this.#horizonMs) this.#recentKeys.delete(k);
    }
  }

  /** Records a pod giving its address back (its address returns to the pool after the cooldown). */
  recordDeparture(nowMs: number): void {
    this.#departures.push(nowMs);
    if (this.#departures.length > 256) this.#departures = pruneArrivals(this.#departures, nowMs, this.#params);
  }

  recordGrowLatency(ms: number): void {
    this.#growLatencyMs = ewma(this.#growLatencyMs, ms);
  }

  /** Records how long creating and attaching an interface took, until its addresses were usable. */
  recordInterfaceLatency(ms: number): void {
    this.#interfaceLatencyMs = ewma(this.#interfaceLatencyMs, ms);
  }

  band(nowMs: number): WarmBand {
    // Prune only when the oldest arrival has aged out: the band is computed on every plan.
    const oldest = this.#arrivals[0];
    if (oldest !== undefined && oldest <= nowMs - this.#horizonMs) this.#arrivals = pruneArrivals(this.#arrivals, nowMs, this.#params);
    const oldestDeparture = this.#departures[0];
    if (oldestDeparture !== undefined && oldestDeparture <= nowMs - this.#horizonMs) this.#departures = pruneArrivals(this.#departures, nowMs, this.#params);
    return adaptiveBand({
      arrivalsMs: this.#arrivals,
      departuresMs: this.#departures,
      nowMs,
      growLatencyMs: this.#growLatencyMs ?? INITIAL_GROW_LATENCY_MS,
      interfaceLatencyMs: this.#interfaceLatencyMs ?? INITIAL_INTERFACE_LATENCY_FACTOR * (this.#growLatencyMs ?? INITIAL_GROW_LATENCY_MS),
      interfaceCapacity: this.#interfaceCapacity,
      params: this.#params,
    });
  }

  /**
   * The band in force: the measured one, raised to the start-up floor while the node is new (what
   * STATUS shows). The floor needs the interface size, known from the first planning round on.
   */
  effectiveBand(nowMs: number): WarmBand {
    const measured = this.band(nowMs);
    const startupFloor = this.startupFloor(nowMs);
    if (startupFloor === undefined) return measured;
    return { ...measured, low: Math.max(measured.low, startupFloor), high: Math.max(measured.high, startupFloor), releaseAbove: Math.max(measured.releaseAbove, startupFloor) };
  }

  /** The start-up floor while it is in force (the node is new), else undefined. */
  startupFloor(nowMs: number): number | undefined {
    if (this.#interfaceCapacity === undefined) return undefined;
    if (this.#startedAtMs !== undefined && nowMs - this.#startedAtMs >= this.#params.startupWindowMs) return undefined;
    return Math.min(2 * this.#interfaceCapacity, this.#params.startupMaxAddresses);
  }

  /**
   * The targets for one planning round; also advances the hold timers. `interfaceCapacity` is the
   * addresses one interface holds beyond its primary (the start-up band's floor, the chunk floor's
   * cap, what keeping a recurring burst's worth is compared with).
   */
  targets(pool: AddressPool, nowMs: number, interfaceCapacity: number): AdaptiveTargets {
    this.#startedAtMs ??= nowMs;
    this.#interfaceCapacity = interfaceCapacity;
    const { band, releaseWhenBack } = this.#withRecurrence(this.effectiveBand(nowMs), nowMs);
    const { available, coolingDown } = pool.stats(nowMs);
    this.#relaxHold(nowMs);
    // Between bursts that recur, what the next one needs is kept: the rest is released as soon as
    // the last burst's addresses are back from their pods and cooldown, not after the hold.
    if (releaseWhenBack && coolingDown === 0 && available > band.releaseAbove) {
      this.#releasing = true;
      this.#excessSinceMs ??= nowMs;
    }
    // Excess must last the hold above releaseAbove; once released, it goes all the way to high
    // (a release may take one call per interface), not just back under releaseAbove.
    if (this.#releasing && available <= band.high) this.#releasing = false;
    if (available > band.releaseAbove) this.#excessSinceMs ??= nowMs;
    else if (!this.#releasing) this.#excessSinceMs = undefined;
    if (this.#excessSinceMs !== undefined && nowMs - this.#excessSinceMs >= this.#holdMs && !this.#releasing) {
      this.#releasing = true;
      this.#releaseStartedMs = nowMs;
    }
    if (!this.#releasing && available <= band.releaseAbove) this.#excessSinceMs = undefined;

    const deletable: string[] = [];
    const present = new Set<string>();
    for (const pif of pool.interfaces()) {
      if (pif.deviceIndex === 0) continue;
      present.add(pif.id);
      if (pool.addressesOf(pif.id).length > 0) {
        this.#emptySinceMs.delete(pif.id);
        continue;
      }
      const since = this.#emptySinceMs.get(pif.id) ?? nowMs;
      this.#emptySinceMs.set(pif.id, since);
      if (nowMs - since >= this.#params.emptyInterfaceHoldMs) deletable.push(pif.id);
    }
    for (const id of this.#emptySinceMs.keys()) if (!present.has(id)) this.#emptySinceMs.delete(id);

    return {
      low: band.low,
      high: band.high,
      interfaceLow: band.interfaceLow,
      burst: band.burst,
      releaseExcess: this.#releasing,
      deletableInterfaceIds: deletable,
    };
  }

  /**
   * Records a grow that added addresses (an assign, or an interface created with some; not an empty
   * interface attached ahead). Ski rental on the hold: a release that a grow undoes within the hold
   * bought nothing and cost two calls, so the next excess is held twice as long (at most as long as
   * arrivals are remembered). Not while bursts recur: those grows are planned ahead of the burst.
   */
  recordGrown(nowMs: number): void {
    const started = this.#releaseStartedMs;
    if (started === undefined || this.#recurring) return;
    if (nowMs - started < this.#holdMs) this.#holdMs = Math.min(2 * this.#holdMs, this.#horizonMs);
    this.#releaseStartedMs = undefined;
  }

  /** A release that stood a whole hold without a grow halves the hold back toward `holdMs`. */
  #relaxHold(nowMs: number): void {
    const started = this.#releaseStartedMs;
    if (started === undefined || nowMs - started < this.#holdMs) return;
    this.#holdMs = Math.max(this.#params.holdMs, this.#holdMs / 2);
    this.#releaseStartedMs = undefined;
  }

  /**
   * The band adjusted for bursts that recur (burst-recurrence.ts); records the burst in progress.
   * Once the last three came at a regular interval: during the expected one, ready for the pods it
   * has still to bring; between them, the next one's worth kept (and grown to an interface's latency
   * before it is due) if keeping it idles at most half an interface's worth over the interval, else
   * `releaseWhenBack`: the excess goes as soon as nothing is cooling. A burst that brings more than
   * expected, or comes off time, is a burst like any other.
   */
  #withRecurrence(band: WarmBand, nowMs: number): { band: WarmBand; releaseWhenBack: boolean } {
    const last = this.#arrivals.at(-1);
    const onsetWindowMs = Math.min(...this.#params.rateWindowsMs);
    if (band.burst && this.#burstStartMs === undefined) {
      this.#burstStartMs = this.#arrivals.find((t) => t > nowMs - onsetWindowMs) ?? nowMs;
    }
    const started = this.#burstStartMs;
    if (started !== undefined && !band.burst && (last === undefined || nowMs - last > this.#params.burstMemoryMs)) {
      const size = arrivalsSince(this.#arrivals, started);
      this.#bursts = [...this.#bursts.slice(-2), { startMs: started, size }];
      this.#burstStartMs = undefined;
    }
    const growMs = this.#growLatencyMs ?? INITIAL_GROW_LATENCY_MS;
    const leadMs = (this.#interfaceLatencyMs ?? INITIAL_INTERFACE_LATENCY_FACTOR * growMs) * this.#params.headroom;
    const recurrence = recurrenceOf(this.#bursts, { onsetWindowMs, leadMs });
    this.#recurring = recurrence !== undefined;
    if (recurrence === undefined) return { band, releaseWhenBack: false };
    const current = this.#burstStartMs;
    if (current !== undefined) {
      const onTime = Math.abs(current - recurrence.nextMs) <= recurrence.toleranceMs + leadMs;
      const soFar = arrivalsSince(this.#arrivals, current);
      // More pods than the last bursts brought (beyond what they differed by, and the kept spare): a burst like any other.
      if (!onTime || soFar > recurrence.size + recurrence.sizeVariation + this.#params.minWarm) return { band, releaseWhenBack: false };
      const toCome = Math.max(0, recurrence.size - soFar);
      const ready = toCome + this.#params.minWarm;
      return { band: { ...band, low: toCome, high: ready, interfaceLow: Math.max(band.interfaceLow, ready), releaseAbove: Math.max(band.releaseAbove, ready), burst: false }, releaseWhenBack: false };
    }
    if (nowMs > recurrence.nextMs + recurrence.toleranceMs) return { band, releaseWhenBack: false };
    const dueMs = recurrence.nextMs - leadMs - recurrence.toleranceMs;
    const capacity = this.#interfaceCapacity ?? 0;
    if (nowMs < dueMs && recurrence.size * (dueMs - nowMs) > (capacity / 2) * recurrence.intervalMs) {
      // Keeping the next burst's worth until it is due would idle more, over the interval, than
      // half an interface's worth (half what the AWS VPC CNI's spare interface idles): give the
      // addresses back once the last burst's are back, and grow again before the next.
      return { band, releaseWhenBack: true };
    }
    const keep = band.low + recurrence.size;
    const high = Math.max(band.high, keep);
    const kept: WarmBand = { ...band, high, releaseAbove: high + band.releaseAbove - band.high, interfaceLow: Math.max(band.interfaceLow, keep) };
    // The next burst is due within an interface's latency: hold its worth before it starts.
    if (nowMs >= dueMs) return { band: { ...kept, low: Math.max(band.low, recurrence.size) }, releaseWhenBack: false };
    return { band: kept, releaseWhenBack: true };
  }
}
