/**
 * The state behind nativeip's adaptive default: recent pod arrivals, the measured latency of a
 * grow, how long excess addresses have lasted and how long each secondary interface has been
 * empty. Turns it into the pure planner's AdaptiveTargets (src/core/adaptive-plan.ts).
 */
import type { AddressPool } from '../core/address-pool.js';
import type { AdaptiveTargets } from '../core/adaptive-plan.js';
import { DEFAULT_ADAPTIVE_PARAMS, adaptiveBand, ewma, pruneArrivals, type AdaptiveParams, type WarmBand } from '../core/adaptive-target.js';

/** Assumed latencies before any has been measured: an assign, and create + attach until the link shows. */
const INITIAL_GROW_LATENCY_MS = 500;
const INITIAL_ATTACH_LATENCY_MS = 6_000;

export class AdaptiveController {
  readonly #params: AdaptiveParams;
  #arrivals: number[] = [];
  #growLatencyMs: number | undefined;
  #attachLatencyMs: number | undefined;
  #excessSinceMs: number | undefined;
  readonly #emptySinceMs = new Map<string, number>();
  #startedAtMs: number | undefined;

  constructor(params: AdaptiveParams = DEFAULT_ADAPTIVE_PARAMS) {
    this.#params = params;
  }

  recordArrival(nowMs: number): void {
    this.#arrivals.push(nowMs);
    if (this.#arrivals.length > 256) this.#arrivals = pruneArrivals(this.#arrivals, nowMs, this.#params);
  }

  recordGrowLatency(ms: number): void {
    this.#growLatencyMs = ewma(this.#growLatencyMs, ms);
  }

  recordAttachLatency(ms: number): void {
    this.#attachLatencyMs = ewma(this.#attachLatencyMs, ms);
  }

  band(nowMs: number): WarmBand {
    this.#arrivals = pruneArrivals(this.#arrivals, nowMs, this.#params);
    return adaptiveBand({
      arrivalsMs: this.#arrivals,
      nowMs,
      growLatencyMs: this.#growLatencyMs ?? INITIAL_GROW_LATENCY_MS,
      attachLatencyMs: this.#attachLatencyMs ?? INITIAL_ATTACH_LATENCY_MS,
      params: this.#params,
    });
  }

  /**
   * The targets for one planning round; also advances the hold timers. `interfaceCapacity` is the
   * addresses one interface holds (the start-up band's floor).
   */
  targets(pool: AddressPool, nowMs: number, interfaceCapacity: number): AdaptiveTargets {
    this.#startedAtMs ??= nowMs;
    const measured = this.band(nowMs);
    const starting = nowMs - this.#startedAtMs < this.#params.startupWindowMs;
    const band = starting
      ? { ...measured, high: Math.max(measured.high, interfaceCapacity), releaseAbove: Math.max(measured.releaseAbove, interfaceCapacity) }
      : measured;
    const { available } = pool.stats(nowMs);
    if (available > band.releaseAbove) this.#excessSinceMs ??= nowMs;
    else this.#excessSinceMs = undefined;

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
      lowForAttach: band.lowForAttach,
      high: band.high,
      releaseExcess: this.#excessSinceMs !== undefined && nowMs - this.#excessSinceMs >= this.#params.holdMs,
      deletableInterfaceIds: deletable,
    };
  }
}
