/**
 * Grows the pool, one grow at a time, on the pool's serial cloud queue: plans, carries the plan
 * out, and plans again until the targets are met. A failed cloud call blocks growth for a backoff
 * (grow-backoff.ts), so pods hear why and for how long; a subnet too fragmented for a /28 makes the
 * pool grow with single addresses for a while instead.
 */
import type { Logger } from 'pino';
import { planPoolGrow } from './plan/pool-plan.js';
import type { PlanInput } from './plan/warm-targets.js';
import { CloudError, type CloudProvider } from '../../core/types.js';
import type { SerialQueue } from '../../core/serial-queue.js';
import type { ChangeSignal } from '../service/address-waiters.js';
import type { GrowBlock } from './grow-block.js';
import { MIN_BACKOFF_MS, PREFIX_RETRY_MS, backoffAfter, limitBlock, prefixesRefused } from './grow-backoff.js';
import type { GrowStep, PoolCloudSync } from './pool-cloud-sync.js';

export interface PoolGrowerOptions {
  /** Carries out grow plans against the cloud. */
  readonly cloud: Pick<PoolCloudSync, 'executeGrow' | 'growStep'>;
  /** The queue every cloud call of the pool runs on. */
  readonly cloudQueue: SerialQueue;
  readonly provider: Pick<CloudProvider, 'throttledAtMs'>;
  readonly logger: Logger;
  readonly clock: () => number;
  /** Random numbers in [0, 1) for backoff jitter. */
  readonly random: () => number;
  /** The planner's input now: the pool, the node, the targets, the pods waiting. */
  readonly planInput: () => PlanInput;
  /** Notified when a grow added addresses and when it ends, however it ends (pods waiting look again). */
  readonly changed: ChangeSignal;
  /** Called after each attempt to change the node, whether it worked or not. */
  readonly attempted: () => void;
  /** True once the pool is closed: no new grow is planned. */
  readonly closed: () => boolean;
}

export class PoolGrower {
  readonly #options: PoolGrowerOptions;
  #growing: Promise<void> | undefined;
  /** When the grow under way was asked for (it may wait behind a reconcile on the cloud queue). */
  #queuedAtMs = 0;
  #block: GrowBlock | undefined;
  /** When the cloud last throttled a grow of this pool (releases wait a while after it). */
  #throttledAtMs: number | undefined;
  #backoffMs = MIN_BACKOFF_MS;
  /** Until when prefixes are not asked for (the subnet was too fragmented for a /28). */
  #prefixesUnavailableUntilMs = 0;

  constructor(options: PoolGrowerOptions) {
    this.#options = options;
  }

  get growing(): boolean {
    return this.#growing !== undefined;
  }

  /** The grow under way, if any; resolves when it ends, however it ends. */
  get inFlight(): Promise<void> | undefined {
    return this.#growing?.catch(() => undefined);
  }

  /** What the grow under way is doing and since when; undefined when none is. */
  get step(): GrowStep | undefined {
    if (this.#growing === undefined) return undefined;
    // Queued behind a reconcile (which may itself wait for an interface to appear): say so.
    return this.#options.cloud.growStep ?? { doing: 'waiting for a reconcile with the cloud to finish', sinceMs: this.#queuedAtMs };
  }

  /** The reason the pool cannot grow, while it cannot. */
  get block(): GrowBlock | undefined {
    return this.#block !== undefined && this.#block.untilMs > this.#options.clock() ? this.#block : undefined;
  }

  /** True while a fragmented subnet makes the pool grow with single addresses instead of prefixes. */
  get prefixesUnavailable(): boolean {
    return this.#prefixesUnavailableUntilMs > this.#options.clock();
  }

  /** When the cloud last throttled this node: a grow the pool saw fail, or a request the provider saw throttled that a release would also draw on. */
  lastThrottledAtMs(): number | undefined {
    const seen = [this.#throttledAtMs, this.#options.provider.throttledAtMs?.()].filter((t): t is number => t !== undefined);
    return seen.length === 0 ? undefined : Math.max(...seen);
  }

  /** Starts a grow when the targets ask for one (single flight); resolves when it ends. */
  kick(): Promise<void> {
    if (this.#growing !== undefined) return this.#growing;
    const { cloudQueue, changed, closed, clock, planInput } = this.#options;
    if (closed() || this.block !== undefined || planPoolGrow(planInput()).kind === 'none') return Promise.resolve();
    this.#queuedAtMs = clock();
    this.#growing = cloudQueue
      .run(() => this.#growLoop())
      .finally(() => {
        this.#growing = undefined;
        changed.notify();
      });
    return this.#growing;
  }

  async #growLoop(): Promise<void> {
    const { cloud, changed, closed, clock, logger, planInput, attempted } = this.#options;
    for (;;) {
      if (closed()) return;
      const plan = planPoolGrow(planInput());
      if (plan.kind === 'none') return;
      if (plan.kind === 'blocked') {
        this.#block = limitBlock(plan.reason, plan.cause, clock());
        logger.warn({ shortfall: plan.shortfall, reason: plan.reason }, 'pool cannot grow');
        return;
      }
      try {
        await cloud.executeGrow(plan);
        changed.notify();
        this.#block = undefined;
        this.#backoffMs = MIN_BACKOFF_MS;
      } catch (error) {
        if (prefixesRefused(plan, error)) {
          this.#fallBackFromPrefixes(error);
          continue;
        }
        this.#blockAfter(error);
        return;
      } finally {
        attempted();
      }
    }
  }

  /** A fragmented subnet refused a /28: grow with single addresses for a while instead of failing pods. */
  #fallBackFromPrefixes(error: unknown): void {
    this.#prefixesUnavailableUntilMs = this.#options.clock() + PREFIX_RETRY_MS;
    this.#options.logger.warn(
      { err: error, retryPrefixesInMs: PREFIX_RETRY_MS },
      'subnet too fragmented for a /28 prefix; growing with single addresses',
    );
  }

  /** Pauses growth after a failed cloud call (grow-backoff.ts); pods meanwhile get the reason and the wait. */
  #blockAfter(error: unknown): void {
    const { clock, random, logger } = this.#options;
    const { block, waitMs, nextBackoffMs } = backoffAfter(error, this.#backoffMs, clock(), random);
    if (error instanceof CloudError && error.code === 'Throttled') this.#throttledAtMs = clock();
    this.#backoffMs = nextBackoffMs;
    this.#block = block;
    logger.warn({ err: error, backoffMs: waitMs }, 'growing the pool failed');
  }
}
