/**
 * Reconciles the pool with the node, then takes one shrink step under the targets. When the
 * provider can observe the node (AWS: IMDS), the cloud's API is called only if the observation
 * differs from the pool (see reconcile-gate.ts). Cloud work runs on the pool's cloud queue; a
 * recheck waits outside it, so grows go on meanwhile.
 */
import type { Logger } from 'pino';
import { observationDifference, type ExpectedNode } from './plan/node-observation.js';
import type { CloudProvider } from '../../core/types.js';
import type { ShrinkPlan } from './plan/warm-targets.js';
import type { SerialQueue } from '../../core/serial-queue.js';
import type { PoolCloudSync } from './pool-cloud-sync.js';
import { ReconcileGate, type ObservationOutcome, type ReconcileCounts } from './reconcile-gate.js';

export interface PoolReconcilerOptions {
  readonly provider: Pick<CloudProvider, 'observeNode'>;
  /** Describes the node from the cloud and carries out shrink plans. */
  readonly cloud: Pick<PoolCloudSync, 'syncWithCloud' | 'executeShrink'>;
  /** The queue every cloud call of the pool runs on. */
  readonly cloudQueue: SerialQueue;
  readonly logger: Logger;
  readonly clock: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** How long after the pool's own change a differing observation may be the view's lag. */
  readonly settleMs: number;
  /** Describe the node from the cloud at least this often. */
  readonly fullReconcileMs: number;
  /** The node as the pool expects the instance to see it; may throw before the pool has started. */
  readonly expected: () => ExpectedNode;
  /** The shrink the targets ask for now. */
  readonly shrinkPlan: () => ShrinkPlan;
  /** True once the pool is closed: no recheck is waited for. */
  readonly closed: () => boolean;
}

export class PoolReconciler {
  readonly #options: PoolReconcilerOptions;
  readonly #gate: ReconcileGate;

  constructor(options: PoolReconcilerOptions) {
    this.#options = options;
    this.#gate = new ReconcileGate({ settleMs: options.settleMs, fullReconcileMs: options.fullReconcileMs });
  }

  /** How reconciles learned the node's state (observation alone, recheck, describe). */
  get counts(): ReconcileCounts {
    return this.#gate.counts;
  }

  /** The pool changed the node in the cloud (a grow or shrink call ended, however it ended). */
  changed(nowMs: number): void {
    this.#gate.changed(nowMs);
  }

  /** The node was described from the cloud's API. */
  described(nowMs: number): void {
    this.#gate.described(nowMs);
  }

  /** Makes the pool match the node, then one shrink step. */
  async reconcile(): Promise<void> {
    const { cloudQueue } = this.#options;
    const recheckInMs = await cloudQueue.run(() => this.#reconcileOnce(true));
    if (recheckInMs !== undefined && !this.#options.closed()) {
      await this.#options.sleep(recheckInMs);
      await cloudQueue.run(() => this.#reconcileOnce(false));
    }
  }

  /** Returns the wait before a recheck when the observation may only be lagging our own change. */
  async #reconcileOnce(mayRecheck: boolean): Promise<number | undefined> {
    const { logger, clock, cloud } = this.#options;
    const outcome = await this.#observe();
    const decision = this.#gate.decide(outcome, clock(), mayRecheck);
    if (decision.action === 'recheck') {
      logger.debug({ outcome, recheckInMs: decision.inMs }, 'node view differs right after our change; checking again');
      return decision.inMs;
    }
    if (decision.action === 'describe') {
      if (outcome.kind === 'differs') logger.info({ difference: outcome.difference }, 'node view differs from the pool; describing the node');
      await cloud.syncWithCloud();
    }
    await this.#shrinkOnce();
    return undefined;
  }

  /** The instance's own view against the pool; `unknown` without one, on failure, or when a full describe is due. */
  async #observe(): Promise<ObservationOutcome> {
    const { provider, logger, clock, expected } = this.#options;
    if (provider.observeNode === undefined || !this.#gate.mayObserve(clock())) return { kind: 'unknown' };
    try {
      const difference = observationDifference(await provider.observeNode(), expected());
      return difference === undefined ? { kind: 'match' } : { kind: 'differs', difference };
    } catch (error) {
      logger.warn({ err: error }, 'reading the node from instance metadata failed; describing it from the cloud');
      return { kind: 'unknown' };
    }
  }

  async #shrinkOnce(): Promise<void> {
    const plan = this.#options.shrinkPlan();
    if (plan.kind === 'none') return;
    try {
      await this.#options.cloud.executeShrink(plan);
    } finally {
      this.#gate.changed(this.#options.clock());
    }
  }
}
