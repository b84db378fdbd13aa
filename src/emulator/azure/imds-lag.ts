/** How far the emulated Azure IMDS trails ARM. Pure, with time passed in. */

/**
 * IMDS network lag the emulator models by default: an assumption of a few seconds, since Azure
 * publishes no figure for how long after an ARM change IMDS shows it (AWS IMDS: ~1–2 s). Below the
 * reconciler's 5 s recheck (OBSERVATION_SETTLE_MS), so a pool's own change is confirmed by its
 * recheck, as on AWS.
 */
export const DEFAULT_AZURE_IMDS_PROPAGATION_MS = 3_000;

/**
 * One VM's network as its IMDS shows it over time: each change ARM committed becomes visible
 * `propagationMs` later, as the metadata a VM reads trails the control plane. The first view (the
 * VM at creation) is visible at once.
 */
export class LaggedView<T> {
  readonly #propagationMs: number;
  #entries: { readonly at: number; readonly view: T; readonly key: string }[] = [];

  constructor(propagationMs: number) {
    if (!(propagationMs >= 0)) throw new RangeError(`IMDS propagation must be ≥ 0 ms, got ${propagationMs}`);
    this.#propagationMs = propagationMs;
  }

  /** Records the view at `at` (never earlier than the last) when it differs from the last one, compared by `key`. */
  record(at: number, view: T, key: string): void {
    const last = this.#entries[this.#entries.length - 1];
    if (last === undefined) {
      this.#entries.push({ at: Number.NEGATIVE_INFINITY, view, key });
      return;
    }
    if (last.key === key) return;
    this.#entries.push({ at, view, key });
    // Views older than the one visible now can never be shown again.
    const cutoff = at - this.#propagationMs;
    let visible = 0;
    this.#entries.forEach((e, i) => {
      if (e.at <= cutoff) visible = i;
    });
    if (visible > 0) this.#entries = this.#entries.slice(visible);
  }

  /** The view IMDS shows at `now`; undefined before anything was recorded. */
  viewAt(now: number): T | undefined {
    const cutoff = now - this.#propagationMs;
    let visible = this.#entries[0];
    for (const entry of this.#entries) {
      if (entry.at <= cutoff) visible = entry;
      else break;
    }
    return visible?.view;
  }
}
