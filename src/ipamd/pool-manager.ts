/**
 * Keeps the node's address pool at its warm targets: grows it through the cloud provider when it
 * runs short, shrinks it when it holds too much, and reconciles it with what the cloud reports.
 * All cloud mutations run on one serial queue, so the pool never races itself; assignment and
 * release stay synchronous on the pool.
 */
import type { Logger } from 'pino';
import { AddressPool, type Assignment } from '../core/address-pool.js';
import { computeMaxPods } from '../core/max-pods.js';
import { expectedNodeOf, observationDifference } from '../core/node-observation.js';
import { planInputOf } from '../core/plan-input.js';
import { planPoolGrow, planPoolShrink } from '../core/pool-plan.js';
import { CloudError, type CloudProvider, type NodeSnapshot } from '../core/types.js';
import { addressesPerInterface, type GrowPlan, type WarmTargets } from '../core/warm-targets.js';
import type { Datapath } from '../cni/datapath/types.js';
import { RpcServiceError } from '../rpc/errors.js';
import type { AdaptiveController } from './adaptive-controller.js';
import { jittered, noAddressError, type GrowBlock } from './grow-block.js';
import { SerialQueue } from './keyed-mutex.js';
import { PoolCloudSync } from './pool-cloud-sync.js';
import { ReconcileGate, type ObservationOutcome, type ReconcileCounts } from './reconcile-gate.js';

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
}

const MIN_BACKOFF_MS = 1_000;
/** How long after an ADD took an address the pool checks whether it should grow. */
const GROW_CHECK_DELAY_MS = 10;
const MAX_BACKOFF_MS = 60_000;
/** A full subnet does not empty itself quickly; the AWS VPC CNI also waits 2 minutes. */
const SUBNET_FULL_BACKOFF_MS = 120_000;
/** After a fragmented subnet refused a prefix, grow with single addresses this long before trying prefixes again. */
export const PREFIX_RETRY_MS = 300_000;
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
  #growing: Promise<void> | undefined;
  #block: GrowBlock | undefined;
  #backoffMs = MIN_BACKOFF_MS;
  #closed = false;
  #growCheckScheduled = false;
  #changed = newSignal();
  /** Until when prefixes are not asked for (the subnet was too fragmented for a /28). */
  #prefixesUnavailableUntilMs = 0;
  readonly #reconcileGate: ReconcileGate;

  constructor(options: PoolManagerOptions) {
    this.#options = options;
    this.#clock = options.clock ?? Date.now;
    this.#sleep = options.sleep ?? sleep;
    this.#random = options.random ?? Math.random;
    this.#reconcileGate = new ReconcileGate({
      settleMs: options.observationSettleMs ?? OBSERVATION_SETTLE_MS,
      fullReconcileMs: options.fullReconcileMs ?? FULL_RECONCILE_MS,
    });
    this.#cloud = new PoolCloudSync({
      pool: this.pool,
      provider: options.provider,
      datapath: options.datapath,
      mtu: options.mtu,
      attachTimeoutMs: options.attachTimeoutMs,
      logger: options.logger,
      clock: this.#clock,
      ...(options.adaptive === undefined ? {} : { adaptive: options.adaptive }),
      onDescribed: () => this.#reconcileGate.described(this.#clock()),
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
    return this.prefixMode && this.#prefixesUnavailableUntilMs > this.#clock();
  }

  /** Pods the node can run (EKS max-pods calculator); the pool never holds more addresses. */
  get maxPods(): number {
    const { limits } = this.node;
    return computeMaxPods({
      maxInterfaces: limits.maxInterfaces,
      ipv4PerInterface: limits.ipv4PerInterface,
      vcpus: limits.vcpus,
      prefixDelegation: this.prefixMode,
      maxEni: this.#options.targets.maxEni,
    }).maxPods;
  }

  get growing(): boolean {
    return this.#growing !== undefined;
  }

  /** The reason the pool cannot grow, while it cannot. */
  get block(): GrowBlock | undefined {
    return this.#block !== undefined && this.#block.untilMs > this.#clock() ? this.#block : undefined;
  }

  /** Reads the node from the cloud and sets up every interface the pool uses. */
  async start(): Promise<void> {
    // At a cluster's scale-up, thousands of daemons start at once and EC2 throttles some of
    // them: a retryable failure waits (with jitter) and tries again rather than crash-looping.
    for (let backoff = MIN_BACKOFF_MS; ; backoff = Math.min(MAX_BACKOFF_MS, backoff * 2)) {
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

  close(): void {
    this.#closed = true;
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
      this.#checkGrowSoon();
      return immediate;
    }
    const deadline = this.#clock() + this.#options.acquireTimeoutMs;
    this.#pending += 1;
    try {
      for (;;) {
        const block = this.block;
        // Blocked (limits, full subnet, throttling), a pod still gets an address that leaves its
        // cooldown before the deadline: it waits for that rather than failing.
        const cooled = this.#nextCooldownEnd();
        if (block !== undefined && (cooled === undefined || cooled > deadline)) throw noAddressError(block, this.#clock());
        if (block === undefined) void this.kickGrow();
        const now = this.#clock();
        if (now >= deadline) break;
        // Sleep until something can have changed: a grow or release (signalled), a cooldown
        // ending, the block lifting, or the deadline. No polling: a thousand waiting pods cost
        // nothing while they wait.
        const wakeAt = Math.min(deadline, cooled ?? Number.POSITIVE_INFINITY, block?.untilMs ?? Number.POSITIVE_INFINITY);
        await Promise.race([this.#changed.promise, this.#sleep(Math.max(1, wakeAt - now))]);
        const assignment = this.pool.assign(key, this.#clock());
        if (assignment !== undefined) return assignment;
      }
    } finally {
      this.#pending -= 1;
    }
    const cooling = this.pool.stats(this.#clock()).coolingDown;
    throw new RpcServiceError(
      'PoolEmptyGrowing',
      `no free address yet: the pool is growing${cooling > 0 ? ` (${cooling} addresses are cooling down)` : ''}; try again later`,
    );
  }

  /** Frees `key`'s address, cooling it down unless `used` is false; then rechecks the targets later. */
  release(key: string, options: { used: boolean; cooldownMs: number }): Assignment | undefined {
    const released = this.pool.release(key, this.#clock(), options.used ? options.cooldownMs : 0);
    if (released !== undefined) this.#notifyChanged();
    return released;
  }

  /** Wakes every ADD waiting for an address: the pool may have one now. */
  #notifyChanged(): void {
    const current = this.#changed;
    this.#changed = newSignal();
    current.resolve();
  }

  /**
   * Plans a grow shortly after an ADD took an address: planning walks the whole pool, so the ADD
   * (its checkpoint write and datapath) does not wait for it, and a burst of ADDs plans once. The
   * delay is nothing next to a cloud call.
   */
  #checkGrowSoon(): void {
    if (this.#growCheckScheduled) return;
    this.#growCheckScheduled = true;
    void this.#sleep(GROW_CHECK_DELAY_MS).then(() => {
      this.#growCheckScheduled = false;
      void this.kickGrow();
    });
  }

  /** When the first cooling address becomes free again; undefined when none is cooling. */
  #nextCooldownEnd(): number | undefined {
    let first: number | undefined;
    for (const { untilMs } of this.pool.cooldowns(this.#clock())) if (first === undefined || untilMs < first) first = untilMs;
    return first;
  }

  /** Starts a grow when the targets ask for one (single flight); resolves when it ends. */
  kickGrow(): Promise<void> {
    if (this.#growing !== undefined) return this.#growing;
    if (this.#closed || this.block !== undefined || planPoolGrow(this.#planInput()).kind === 'none') return Promise.resolve();
    this.#growing = this.#cloudQueue
      .run(() => this.#growLoop())
      .finally(() => {
        this.#growing = undefined;
        this.#notifyChanged();
      });
    return this.#growing;
  }

  /** How reconciles learned the node's state (observation alone, recheck, describe). */
  get reconcileCounts(): ReconcileCounts {
    return this.#reconcileGate.counts;
  }

  /**
   * Makes the pool match the node, then one shrink step under the targets. When the provider can
   * observe the node (AWS: IMDS), the cloud's API is called only if the observation differs from
   * the pool (see reconcile-gate.ts); a recheck waits outside the cloud queue, so grows go on.
   */
  async reconcile(): Promise<void> {
    const recheckInMs = await this.#cloudQueue.run(() => this.#reconcileOnce(true));
    if (recheckInMs !== undefined && !this.#closed) {
      await this.#sleep(recheckInMs);
      await this.#cloudQueue.run(() => this.#reconcileOnce(false));
    }
    await this.kickGrow();
  }

  /** Returns the wait before a recheck when the observation may only be lagging our own change. */
  async #reconcileOnce(mayRecheck: boolean): Promise<number | undefined> {
    const outcome = await this.#observe();
    const decision = this.#reconcileGate.decide(outcome, this.#clock(), mayRecheck);
    if (decision.action === 'recheck') {
      this.#options.logger.debug({ outcome, recheckInMs: decision.inMs }, 'node view differs right after our change; checking again');
      return decision.inMs;
    }
    if (decision.action === 'describe') {
      if (outcome.kind === 'differs') this.#options.logger.info({ difference: outcome.difference }, 'node view differs from the pool; describing the node');
      await this.#cloud.syncWithCloud();
    }
    await this.#shrinkOnce();
    return undefined;
  }

  /** The instance's own view against the pool; `unknown` without one, on failure, or when a full describe is due. */
  async #observe(): Promise<ObservationOutcome> {
    const { provider, logger } = this.#options;
    if (provider.observeNode === undefined || !this.#reconcileGate.mayObserve(this.#clock())) return { kind: 'unknown' };
    try {
      const difference = observationDifference(await provider.observeNode(), expectedNodeOf(this.node, this.pool));
      return difference === undefined ? { kind: 'match' } : { kind: 'differs', difference };
    } catch (error) {
      logger.warn({ err: error }, 'reading the node from instance metadata failed; describing it from the cloud');
      return { kind: 'unknown' };
    }
  }

  async #growLoop(): Promise<void> {
    for (;;) {
      if (this.#closed) return;
      const plan = planPoolGrow(this.#planInput());
      if (plan.kind === 'none') return;
      if (plan.kind === 'blocked') {
        // Limits do not lift by themselves; recheck on the next reconcile or release.
        this.#block = { reason: plan.reason, retryable: false, untilMs: this.#clock() + MIN_BACKOFF_MS };
        this.#options.logger.warn({ shortfall: plan.shortfall, reason: plan.reason }, 'pool cannot grow');
        return;
      }
      try {
        await this.#cloud.executeGrow(plan);
        this.#notifyChanged();
        this.#block = undefined;
        this.#backoffMs = MIN_BACKOFF_MS;
      } catch (error) {
        if (this.#fallBackFromPrefixes(plan, error)) continue;
        this.#blockAfter(error);
        return;
      } finally {
        this.#reconcileGate.changed(this.#clock());
      }
    }
  }

  /**
   * A prefix request the subnet could not satisfy for lack of an aligned free /28: grow with
   * single addresses for a while instead of failing pods (the AWS VPC CNI has no fallback).
   */
  #fallBackFromPrefixes(plan: GrowPlan, error: unknown): boolean {
    const askedPrefixes = plan.kind === 'assign-prefixes' || (plan.kind === 'create' && (plan.prefixCount ?? 0) > 0);
    if (!askedPrefixes || !(error instanceof CloudError) || error.code !== 'SubnetExhausted' || !error.fragmented) return false;
    this.#prefixesUnavailableUntilMs = this.#clock() + PREFIX_RETRY_MS;
    this.#options.logger.warn(
      { err: error, retryPrefixesInMs: PREFIX_RETRY_MS },
      'subnet too fragmented for a /28 prefix; growing with single addresses',
    );
    return true;
  }

  async #shrinkOnce(): Promise<void> {
    const plan = planPoolShrink(this.#planInput());
    if (plan.kind === 'none') return;
    try {
      await this.#cloud.executeShrink(plan);
    } finally {
      this.#reconcileGate.changed(this.#clock());
    }
  }

  /**
   * Pauses growth after a failed cloud call. Throttling composes in three layers: the provider
   * keeps this node within the cloud's request budget (AWS: ec2-request-limiter.ts), the SDK
   * retries a throttled request itself (AWS standard mode: 3 attempts, full jitter), and only then
   * does the failure reach this backoff: equal jitter (half the delay plus up to half again at
   * random), doubling from 1 s to 60 s, so a fleet throttled together spreads its retries (the
   * backoff EC2 asks clients for: https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html).
   * A full subnet waits 120 s, as the AWS VPC CNI does. Pods meanwhile get the reason and the wait.
   */
  #blockAfter(error: unknown): void {
    const now = this.#clock();
    const retryAfter = error instanceof CloudError ? error.retryAfterMs : undefined;
    const subnetFull = error instanceof CloudError && error.code === 'SubnetExhausted';
    const waitMs = subnetFull ? SUBNET_FULL_BACKOFF_MS : Math.min(MAX_BACKOFF_MS, retryAfter ?? jittered(this.#backoffMs, this.#random));
    this.#backoffMs = Math.min(MAX_BACKOFF_MS, this.#backoffMs * 2);
    const reason = error instanceof Error ? error.message : String(error);
    const retryable = error instanceof CloudError ? error.retryable : true;
    this.#block = { reason, retryable, untilMs: now + waitMs, backoff: true };
    this.#options.logger.warn({ err: error, backoffMs: waitMs }, 'growing the pool failed');
  }

  #planInput() {
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

interface Signal {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
}

function newSignal(): Signal {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
