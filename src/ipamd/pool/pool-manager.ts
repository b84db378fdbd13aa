/**
 * Keeps the node's address pool at its warm targets: grows it through the cloud provider when it
 * runs short, shrinks it when it holds too much, and reconciles it with what the cloud reports.
 * All cloud mutations run on one serial queue, so the pool never races itself; assignment and
 * release stay synchronous on the pool.
 */
import type { Logger } from 'pino';
import { AddressPool, type Assignment } from './plan/address-pool.js';
import { computeMaxPods } from './plan/max-pods.js';
import type { PoolOutlook } from '../../core/node-availability.js';
import { expectedNodeOf } from './plan/node-observation.js';
import { planInputOf } from './plan/plan-input.js';
import { planPoolGrow, planPoolShrink } from './plan/pool-plan.js';
import { CloudError, type CloudProvider, type NodeSnapshot } from '../../core/types.js';
import { addressesPerInterface, type PlanInput, type ShrinkPlan, type WarmTargets } from './plan/warm-targets.js';
import type { Datapath } from '../datapath/types.js';
import type { WarmPoolStatus } from '../../rpc/protocol.js';
import type { AdaptiveController } from './adaptive-controller.js';
import type { WarmBand } from './plan/adaptive-target.js';
import { ChangeSignal, firstCooldownEnd, stillGrowingError, wakeAtMs } from '../service/address-waiters.js';
import { jittered, noAddressError, type GrowBlock } from './grow-block.js';
import { MIN_BACKOFF_MS, doubledBackoff, shrinkDeferredByThrottling } from './grow-backoff.js';
import { SerialQueue } from '../../core/serial-queue.js';
import { PoolCloudSync, type GrowStep } from './pool-cloud-sync.js';
import { PoolGrower } from './pool-grower.js';
import { PoolReconciler } from './pool-reconciler.js';
import { sleepUnref } from '../../core/sleep.js';
import { CoalescedDelay } from './pool-timers.js';
import type { ReconcileCounts } from './reconcile-gate.js';
import type { PoolObserver } from './pool-observer.js';
import { warmPoolStatusOf } from './warm-pool-status.js';

export interface PoolManagerOptions {
  readonly provider: CloudProvider;
  readonly datapath: Pick<Datapath, 'setupInterface' | 'teardownInterface'>;
  readonly targets: WarmTargets;
  readonly mtu: number;
  readonly attachTimeoutMs: number;
  /** How long an ADD waits for a grow under way before answering "try again later". */
  readonly acquireTimeoutMs: number;
  readonly logger: Logger;
  readonly clock?: () => number;
  /** Waits `ms` on the same clock; the churn simulator passes a virtual one. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** nativeip's adaptive default, when no AWS warm-pool knob is set. */
  readonly adaptive?: AdaptiveController;
  /** Random numbers in [0, 1) for backoff jitter. */
  readonly random?: () => number;
  /**
   * After the pool's own cloud change, how long an observation that differs from the pool is put
   * down to the metadata's lag (AWS IMDS trails EC2 by ~1–2 s) and checked again instead of
   * calling the cloud. Default {@link OBSERVATION_SETTLE_MS}.
   */
  readonly observationSettleMs?: number;
  /** Even when observations keep matching, describe the node from the cloud this often. Default {@link FULL_RECONCILE_MS}. */
  readonly fullReconcileMs?: number;
  /**
   * Pods the cluster lets this node run that take an address from the pool (the Node's
   * `status.capacity.pods` less its host-network pods), when known; growth stops there too.
   * Called whenever the pool plans. Undefined: only the instance's own max-pods applies.
   */
  readonly clusterPodCapacity?: () => number | undefined;
  /**
   * Why the pool may not shrink yet (release addresses, delete interfaces), or undefined when it
   * may: until every record of who holds what is read, a free-looking address may be a live pod's.
   */
  readonly unsettledReason?: () => string | undefined;
  /** Told of pods that waited or got no address, and of what reconciles found (metrics). */
  readonly observer?: PoolObserver;
}

/** How long after an ADD took an address the pool checks whether it should grow. */
const GROW_CHECK_DELAY_MS = 10;
export { PREFIX_RETRY_MS } from './grow-backoff.js';
export type { GrowBlock } from './grow-block.js';
export const OBSERVATION_SETTLE_MS = 5_000;
/** A safety net for what the instance's own view cannot show (tags, a stale metadata service). */
export const FULL_RECONCILE_MS = 15 * 60_000;

export class PoolManager {
  readonly pool = new AddressPool();
  readonly #options: PoolManagerOptions;
  readonly #clock: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;
  readonly #cloudQueue = new SerialQueue();
  readonly #cloud: PoolCloudSync;
  #pending = 0;
  #closed = false;
  /**
   * Plans a grow shortly after an ADD took an address: planning walks the whole pool, so the ADD
   * (its checkpoint write and datapath) does not wait for it, and a burst of ADDs plans once. The
   * delay is nothing next to a cloud call.
   */
  readonly #growCheck: CoalescedDelay;
  readonly #changed = new ChangeSignal();
  readonly #reconciler: PoolReconciler;
  readonly #grower: PoolGrower;

  constructor(options: PoolManagerOptions) {
    this.#options = options;
    this.#clock = options.clock ?? Date.now;
    this.#sleep = options.sleep ?? sleepUnref;
    this.#random = options.random ?? Math.random;
    this.#growCheck = new CoalescedDelay(GROW_CHECK_DELAY_MS, this.#sleep, () => void this.kickGrow());
    this.#cloud = new PoolCloudSync({
      pool: this.pool,
      provider: options.provider,
      datapath: options.datapath,
      mtu: options.mtu,
      attachTimeoutMs: options.attachTimeoutMs,
      logger: options.logger,
      clock: this.#clock,
      ...(options.adaptive === undefined ? {} : { adaptive: options.adaptive }),
      onDescribed: () => this.#reconciler.described(this.#clock()),
      ...(options.observer === undefined ? {} : { observer: options.observer }),
    });
    this.#reconciler = new PoolReconciler({
      provider: options.provider,
      cloud: this.#cloud,
      cloudQueue: this.#cloudQueue,
      logger: options.logger,
      clock: this.#clock,
      sleep: this.#sleep,
      settleMs: options.observationSettleMs ?? OBSERVATION_SETTLE_MS,
      fullReconcileMs: options.fullReconcileMs ?? FULL_RECONCILE_MS,
      expected: () => expectedNodeOf(this.node, this.pool),
      shrinkPlan: () => this.#shrinkPlan(),
      closed: () => this.#closed,
    });
    this.#grower = new PoolGrower({
      cloud: this.#cloud,
      cloudQueue: this.#cloudQueue,
      provider: options.provider,
      logger: options.logger,
      clock: this.#clock,
      random: this.#random,
      planInput: () => this.#planInput(),
      changed: this.#changed,
      attempted: () => this.#reconciler.changed(this.#clock()),
      closed: () => this.#closed,
    });
  }

  get node(): NodeSnapshot {
    const node = this.#cloud.node;
    if (node === undefined) throw new Error('pool manager not started');
    return node;
  }

  get cloudName(): string {
    return this.#options.provider.name;
  }

  /** True when the pool grows with /28 prefixes (configured, and the provider has them). */
  get prefixMode(): boolean {
    return this.#options.targets.prefixDelegation === true && this.#options.provider.assignPrefixes !== undefined;
  }

  /** True while a fragmented subnet makes the pool grow with single addresses instead of prefixes. */
  get prefixFallback(): boolean {
    return this.prefixMode && this.#grower.prefixesUnavailable;
  }

  /**
   * Pods the node can run that take an address: the EKS max-pods calculator's figure for the
   * instance, or what the cluster allows (Node capacity less host-network pods) when that is
   * lower. The pool never holds more addresses.
   */
  get maxPods(): number {
    const { limits } = this.node;
    const instance = computeMaxPods({
      maxInterfaces: limits.maxInterfaces,
      ipv4PerInterface: limits.ipv4PerInterface,
      vcpus: limits.vcpus,
      prefixDelegation: this.prefixMode,
      maxEni: this.#options.targets.maxEni,
    }).maxPods;
    const cluster = this.#options.clusterPodCapacity?.();
    return cluster === undefined ? instance : Math.max(0, Math.min(instance, cluster));
  }

  /**
   * Whether a pod can get an address now or soon, and if not why (for the Node condition and
   * taint): a grow backing off after a failed call, or the planner's answer for one more pod.
   */
  outlook(): PoolOutlook {
    const stats = this.pool.stats(this.#clock());
    const outlook = { free: stats.available, coolingDown: stats.coolingDown };
    if (stats.available > 0) return outlook;
    const block = this.block;
    if (block !== undefined) return { ...outlook, blocked: { reason: block.cause, message: block.reason } };
    if (this.#grower.growing) return outlook;
    const plan = planPoolGrow({ ...this.#planInput(), pending: this.#pending + 1 });
    return plan.kind === 'blocked' ? { ...outlook, blocked: { reason: plan.cause, message: plan.reason } } : outlook;
  }

  /** The adaptive default's band in force now (start-up floor included); undefined under another policy. */
  adaptiveBand(): WarmBand | undefined {
    return this.prefixMode ? undefined : this.#options.adaptive?.effectiveBand(this.#clock());
  }

  /** The warm-pool policy in force and, for the adaptive default, its band now (for STATUS). */
  warmPoolStatus(): WarmPoolStatus {
    return warmPoolStatusOf({ targets: this.#options.targets, adaptive: this.#options.adaptive, prefixMode: this.prefixMode }, this.#clock());
  }

  /** What the grow under way is doing and since when; undefined when none is. */
  get growStep(): GrowStep | undefined {
    return this.#grower.step;
  }

  get growing(): boolean {
    return this.#grower.growing;
  }

  /** The reason the pool cannot grow, while it cannot. */
  get block(): GrowBlock | undefined {
    return this.#grower.block;
  }

  /** Reads the node from the cloud and sets up every interface the pool uses. */
  async start(): Promise<void> {
    // At a cluster's scale-up, thousands of daemons start at once and EC2 throttles some of
    // them: a retryable failure waits (with jitter) and tries again rather than crash-looping.
    for (let backoff = MIN_BACKOFF_MS; ; backoff = doubledBackoff(backoff)) {
      try {
        await this.#cloudQueue.run(() => this.#cloud.syncWithCloud());
        return;
      } catch (error) {
        if (!(error instanceof CloudError) || !error.retryable || this.#closed) throw error;
        const waitMs = jittered(error.retryAfterMs ?? backoff, this.#random);
        this.#options.logger.warn({ err: error, retryInMs: Math.round(waitMs) }, 'reading the node from the cloud failed; retrying');
        await this.#sleep(waitMs);
      }
    }
  }

  /** Stops planning new cloud work; what is under way goes on (see {@link inFlight}). */
  close(): void {
    this.#closed = true;
  }

  /** The grow under way, if any; resolves when it ends, however it ends. */
  get inFlight(): Promise<void> | undefined {
    return this.#grower.inFlight;
  }

  #shrinkPlan(): ShrinkPlan {
    const unsettled = this.#options.unsettledReason?.();
    if (unsettled !== undefined) {
      const plan = planPoolShrink(this.#planInput());
      if (plan.kind !== 'none') this.#options.logger.info({ deferred: plan.kind, why: unsettled }, 'shrink deferred until the node is settled');
      return { kind: 'none' };
    }
    return shrinkDeferredByThrottling(this.#grower.lastThrottledAtMs(), this.#clock()) ? { kind: 'none' } : planPoolShrink(this.#planInput());
  }

  /** The route table for addresses of an interface; undefined for the primary (main table). */
  routeTableOf(interfaceId: string): number | undefined {
    const pif = this.pool.interfaces().find((i) => i.id === interfaceId);
    return pif === undefined || pif.deviceIndex === 0 ? undefined : pif.deviceIndex + 1;
  }

  /**
   * Assigns an address to `key`, waiting for a grow under way when the pool is empty. Throws an
   * RpcServiceError that says why when none can be had: PoolEmptyGrowing (try again later) or
   * PoolExhausted (limits or subnet).
   */
  async acquire(key: string): Promise<Assignment> {
    this.#options.adaptive?.recordArrival(this.#clock(), key);
    const immediate = this.pool.assign(key, this.#clock());
    if (immediate !== undefined) {
      this.#growCheck.request();
      return immediate;
    }
    const observer = this.#options.observer;
    const started = this.#clock();
    const deadline = started + this.#options.acquireTimeoutMs;
    this.#pending += 1;
    try {
      for (;;) {
        const block = this.block;
        // Blocked (limits, full subnet, throttling), a pod still gets an address that leaves its
        // cooldown before the deadline: it waits for that rather than failing.
        const cooled = firstCooldownEnd(this.pool.cooldowns(this.#clock()));
        if (block !== undefined && (cooled === undefined || cooled > deadline)) {
          observer?.assignFailed?.(block.cause);
          throw noAddressError(block, this.#clock());
        }
        if (block === undefined) void this.kickGrow();
        const now = this.#clock();
        if (now >= deadline) break;
        // Sleep until something can have changed: a grow or release (signalled), a cooldown
        // ending, the block lifting, or the deadline.
        const wakeAt = wakeAtMs(deadline, cooled, block);
        await Promise.race([this.#changed.next(), this.#sleep(Math.max(1, wakeAt - now))]);
        const assignment = this.pool.assign(key, this.#clock());
        if (assignment !== undefined) {
          observer?.podWaited?.(this.#clock() - started);
          return assignment;
        }
      }
    } finally {
      this.#pending -= 1;
    }
    observer?.assignFailed?.('GrowTimeout');
    throw stillGrowingError(this.pool.stats(this.#clock()).coolingDown);
  }

  /** ADDs waiting for an address now. */
  get pending(): number {
    return this.#pending;
  }

  /** Frees `key`'s address, cooling it down unless `used` is false; then rechecks the targets later. */
  release(key: string, options: { used: boolean; cooldownMs: number }): Assignment | undefined {
    const released = this.pool.release(key, this.#clock(), options.used ? options.cooldownMs : 0);
    if (released !== undefined) {
      this.#options.adaptive?.recordDeparture(this.#clock());
      this.#changed.notify();
    }
    return released;
  }

  /** Starts a grow when the targets ask for one (single flight); resolves when it ends. */
  kickGrow(): Promise<void> {
    return this.#grower.kick();
  }

  /** How reconciles learned the node's state (observation alone, recheck, describe). */
  get reconcileCounts(): ReconcileCounts {
    return this.#reconciler.counts;
  }

  /**
   * Makes the pool match the node, then one shrink step under the targets. When the provider can
   * observe the node (AWS: IMDS), the cloud's API is called only if the observation differs from
   * the pool (see reconcile-gate.ts); a recheck waits outside the cloud queue, so grows go on.
   */
  async reconcile(): Promise<void> {
    await this.#reconciler.reconcile();
    await this.kickGrow();
  }

  #planInput(): PlanInput {
    const node = this.node;
    return planInputOf(this.pool, {
      limits: node.limits,
      targets: {
        ...this.#options.targets,
        prefixDelegation: this.prefixMode,
        adaptive: this.prefixMode ? undefined : this.#options.adaptive?.targets(this.pool, this.#clock(), addressesPerInterface(node.limits)),
      },
      usedDeviceIndexes: node.interfaces.map((i) => i.deviceIndex),
      pending: this.#pending,
      nowMs: this.#clock(),
      maxPods: this.maxPods,
      prefixesUnavailable: this.prefixFallback,
      cloudInterfaces: node.interfaces,
    });
  }
}
