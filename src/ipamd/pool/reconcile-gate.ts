/**
 * Decides, for each reconcile, whether the instance's own view of the node (CloudProvider
 * observeNode, AWS IMDS) is enough or the cloud's API must be asked. Pure, with time passed in.
 *
 * The instance's view trails the cloud by a second or two after a change (AWS: IMDS after an
 * assign or attach), so right after the pool's own change it may not show it yet. Such a
 * difference is checked once more after the lag; only one that persists, or one with no recent
 * change of ours to explain it, costs a describe. A reconcile thus makes at most one extra
 * observation and one describe, and never loops on the lag.
 */

export interface ReconcileGateOptions {
  /** How long after our own change a difference may be the view's lag. */
  readonly settleMs: number;
  /** Describe at least this often even when observations keep matching. */
  readonly fullReconcileMs: number;
}

/** How each reconcile learned the node's state. */
export interface ReconcileCounts {
  /** Settled by the instance's own view alone: no cloud API call. */
  readonly observedMatch: number;
  /** Differences seen right after our own change and checked again after the lag. */
  readonly rechecked: number;
  /** Described from the cloud's API. */
  readonly described: number;
}

export type ObservationOutcome = { readonly kind: 'match' } | { readonly kind: 'differs'; readonly difference: string } | { readonly kind: 'unknown' };

export type ReconcileDecision = { readonly action: 'none' } | { readonly action: 'recheck'; readonly inMs: number } | { readonly action: 'describe' };

export class ReconcileGate {
  readonly #options: ReconcileGateOptions;
  #lastChangeMs = Number.NEGATIVE_INFINITY;
  #lastDescribeMs = Number.NEGATIVE_INFINITY;
  #counts = { observedMatch: 0, rechecked: 0, described: 0 };

  constructor(options: ReconcileGateOptions) {
    this.#options = options;
  }

  get counts(): ReconcileCounts {
    return { ...this.#counts };
  }

  /** The pool changed the node in the cloud (a grow or shrink call ended, however it ended). */
  changed(nowMs: number): void {
    this.#lastChangeMs = nowMs;
  }

  /** The node was described from the cloud's API. */
  described(nowMs: number): void {
    this.#lastDescribeMs = nowMs;
  }

  /** False when the periodic full describe is due: do not bother observing. */
  mayObserve(nowMs: number): boolean {
    return nowMs - this.#lastDescribeMs < this.#options.fullReconcileMs;
  }

  /** What to do after an observation; `mayRecheck` is false on the recheck itself. */
  decide(outcome: ObservationOutcome, nowMs: number, mayRecheck: boolean): ReconcileDecision {
    if (outcome.kind === 'match') {
      this.#counts.observedMatch += 1;
      return { action: 'none' };
    }
    const sinceChangeMs = nowMs - this.#lastChangeMs;
    if (outcome.kind === 'differs' && mayRecheck && sinceChangeMs < this.#options.settleMs) {
      this.#counts.rechecked += 1;
      return { action: 'recheck', inMs: this.#options.settleMs - sinceChangeMs };
    }
    this.#counts.described += 1;
    return { action: 'describe' };
  }
}
