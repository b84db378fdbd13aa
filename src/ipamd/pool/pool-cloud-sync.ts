/**
 * The pool's cloud-facing side: carries out grow and shrink plans through the cloud provider and
 * the datapath, and makes the pool and the node snapshot match what the cloud describes. It
 * decides nothing; PoolManager plans, serialises and backs off.
 */
import type { Logger } from 'pino';
import type { AddressPool } from './plan/address-pool.js';
import { prefixAddresses } from './plan/prefix-cidr.js';
import type { CloudInterface, CloudProvider, NodeSnapshot } from '../../core/types.js';
import type { GrowPlan, ShrinkPlan } from './plan/warm-targets.js';
import type { Datapath, HostInterfaceSpec } from '../datapath/types.js';
import type { AdaptiveController } from './adaptive-controller.js';
import type { PoolObserver, ReconcileFinding } from './pool-observer.js';

/** A grow plan that calls the cloud. */
export type ExecutableGrowPlan = Exclude<GrowPlan, { kind: 'none' | 'blocked' }>;
/** A shrink plan that calls the cloud. */
export type ExecutableShrinkPlan = Exclude<ShrinkPlan, { kind: 'none' }>;

export interface PoolCloudSyncOptions {
  /** The pool this applies the cloud's changes to. */
  readonly pool: AddressPool;
  /** Where interfaces, addresses and prefixes come from and go back to. */
  readonly provider: CloudProvider;
  /** Sets up and tears down the host side of secondary interfaces. */
  readonly datapath: Pick<Datapath, 'setupInterface' | 'teardownInterface'>;
  /** MTU of the host interfaces. */
  readonly mtu: number;
  /** How long a new interface may take to appear on the host. */
  readonly attachTimeoutMs: number;
  readonly logger: Logger;
  readonly clock: () => number;
  /** Learns how long assigns and attaches take. */
  readonly adaptive?: AdaptiveController;
  /** Called as soon as the cloud has described the node, before the pool is brought in line. */
  readonly onDescribed: () => void;
  /** Told what a describe found changed behind the pool's back (not the first describe, which finds everything). */
  readonly observer?: PoolObserver;
}

/** What a grow under way is doing now, for STATUS (a stalled grow says where it stalled). */
export interface GrowStep {
  readonly doing: string;
  readonly sinceMs: number;
}

export class PoolCloudSync {
  readonly #options: PoolCloudSyncOptions;
  readonly #pool: AddressPool;
  #node: NodeSnapshot | undefined;
  #step: GrowStep | undefined;

  constructor(options: PoolCloudSyncOptions) {
    this.#options = options;
    this.#pool = options.pool;
  }

  /** The node as last described, with the pool's own interface changes since; undefined before the first describe. */
  get node(): NodeSnapshot | undefined {
    return this.#node;
  }

  /** The step of the grow under way; undefined when none is. */
  get growStep(): GrowStep | undefined {
    return this.#step;
  }

  async executeGrow(plan: ExecutableGrowPlan): Promise<void> {
    try {
      await this.#grow(plan);
    } finally {
      this.#step = undefined;
    }
  }

  #stepping(doing: string): void {
    this.#step = { doing, sinceMs: this.#options.clock() };
  }

  async #grow(plan: ExecutableGrowPlan): Promise<void> {
    const { provider, logger, clock } = this.#options;
    if (plan.kind === 'assign') {
      // Assigns to several interfaces in one round run concurrently (the cloud takes them on
      // different interfaces at once): the round costs one call's latency. What succeeded is kept;
      // the first failure is the round's, and any other is logged with its interface.
      const parts = [{ interfaceId: plan.interfaceId, count: plan.count }, ...(plan.alongside ?? [])];
      this.#stepping(`assigning ${parts.map((p) => `${p.count} addresses to ${p.interfaceId}`).join(', ')}`);
      const results = await Promise.allSettled(
        parts.map(async ({ interfaceId, count }) => {
          const started = clock();
          const added = await provider.assignAddresses(interfaceId, count);
          this.#options.adaptive?.recordGrowLatency(clock() - started);
          this.#options.adaptive?.recordGrown(clock());
          this.#pool.addAddresses(interfaceId, added);
          logger.info({ interfaceId, added }, 'assigned addresses');
        }),
      );
      const [failed, ...alsoFailed] = results.flatMap((r, i) => (r.status === 'rejected' ? [{ part: parts[i]!, reason: r.reason as unknown }] : []));
      for (const { part, reason } of alsoFailed) logger.warn({ interfaceId: part.interfaceId, count: part.count, err: reason }, 'assigning addresses in the same round failed too');
      if (failed !== undefined) throw failed.reason;
    } else if (plan.kind === 'assign-prefixes') {
      if (provider.assignPrefixes === undefined) throw new Error(`provider ${provider.name} cannot delegate prefixes`);
      this.#stepping(`assigning ${plan.count} prefixes to ${plan.interfaceId}`);
      const added = await provider.assignPrefixes(plan.interfaceId, plan.count);
      this.#pool.addPrefixes(plan.interfaceId, added);
      logger.info({ interfaceId: plan.interfaceId, prefixes: added }, 'assigned prefixes');
    } else {
      const started = clock();
      this.#stepping(`creating and attaching an interface at device ${plan.deviceIndex}`);
      const created = await provider.createInterface({
        deviceIndex: plan.deviceIndex,
        secondaryCount: plan.secondaryCount,
        ...(plan.prefixCount === undefined ? {} : { prefixCount: plan.prefixCount }),
      });
      logger.info(
        { interfaceId: created.id, deviceIndex: created.deviceIndex, addresses: created.secondaryIps.length, prefixes: created.prefixes ?? [] },
        'created interface',
      );
      this.#stepping(`waiting for interface ${created.id} (MAC ${created.mac}) to appear on the host, up to ${Math.round(this.#options.attachTimeoutMs / 1000)} s`);
      await this.#useInterface(created);
      this.#options.adaptive?.recordInterfaceLatency(clock() - started);
      if (created.secondaryIps.length > 0) this.#options.adaptive?.recordGrown(clock());
    }
  }

  /** Gives excess addresses, prefixes or an idle interface back; a failure is logged and the pool keeps them. */
  async executeShrink(plan: ExecutableShrinkPlan): Promise<void> {
    const { provider, logger } = this.#options;
    const pool = this.#pool;
    if (plan.kind === 'release-prefixes') {
      if (provider.releasePrefixes === undefined) return;
      // Out of the pool first, so no pod can be handed an address the cloud is taking back.
      pool.removePrefixes(plan.prefixes);
      try {
        await provider.releasePrefixes(plan.interfaceId, plan.prefixes);
        logger.info({ interfaceId: plan.interfaceId, released: plan.prefixes }, 'released excess prefixes');
      } catch (error) {
        pool.addPrefixes(plan.interfaceId, plan.prefixes);
        logger.warn({ err: error, interfaceId: plan.interfaceId }, 'releasing excess prefixes failed');
      }
      return;
    }
    if (plan.kind === 'release') {
      // Out of the pool first, so no pod can be handed an address the cloud is taking back.
      pool.removeAddresses(plan.addresses);
      try {
        await provider.releaseAddresses(plan.interfaceId, plan.addresses);
        logger.info({ interfaceId: plan.interfaceId, released: plan.addresses }, 'released excess addresses');
      } catch (error) {
        pool.addAddresses(plan.interfaceId, plan.addresses);
        logger.warn({ err: error, interfaceId: plan.interfaceId }, 'releasing excess addresses failed');
      }
      return;
    }
    const pif = pool.interfaces().find((i) => i.id === plan.interfaceId);
    if (pif === undefined) return;
    const addresses = pool.addressesOf(pif.id).filter((a) => a.prefix === undefined).map((a) => a.address);
    const prefixes = pool.prefixesOf(pif.id);
    pool.removeInterface(pif.id);
    try {
      await this.#options.datapath.teardownInterface(this.#hostSpec(pif));
      await provider.deleteInterface(pif.id);
      const node = this.#requireNode();
      this.#node = { ...node, interfaces: node.interfaces.filter((i) => i.id !== pif.id) };
      logger.info({ interfaceId: pif.id, deviceIndex: pif.deviceIndex }, 'deleted idle interface');
    } catch (error) {
      logger.warn({ err: error, interfaceId: pif.id }, 'deleting idle interface failed; keeping it');
      pool.addInterface({ ...pif, secondaryIps: addresses, prefixes });
      await this.#options.datapath.setupInterface(this.#hostSpec(pif)).catch(() => undefined);
    }
  }

  /** Makes the pool match the cloud: new interfaces and addresses join, vanished ones leave. */
  async syncWithCloud(): Promise<void> {
    const node = await this.#options.provider.describeNode();
    this.#options.onDescribed();
    const first = this.#node === undefined;
    const found = (finding: ReconcileFinding, count: number) => {
      if (!first && count > 0) this.#options.observer?.reconcileFound?.(finding, count);
    };
    this.#node = node;
    const pool = this.#pool;
    const usable = node.interfaces.filter((i) => i.deviceIndex === 0 || i.managed || i.pooled === true);
    for (const cloud of usable) {
      if (!pool.hasInterface(cloud.id)) {
        await this.#useInterface(cloud);
        found('interfaces_appeared', 1);
        continue;
      }
      const known = new Set(pool.addressesOf(cloud.id).map((a) => a.address));
      found('addresses_appeared', cloud.secondaryIps.filter((a) => !known.has(a)).length);
      pool.addAddresses(cloud.id, cloud.secondaryIps);
      const cloudPrefixes = cloud.prefixes ?? [];
      pool.addPrefixes(cloud.id, cloudPrefixes);
      const inCloud = new Set([...cloud.secondaryIps, ...cloudPrefixes.flatMap(prefixAddresses)]);
      const vanished = pool.addressesOf(cloud.id).filter((a) => !inCloud.has(a.address));
      found('addresses_vanished', vanished.length);
      found('pod_addresses_vanished', this.#forget(vanished.map((a) => a.address)));
      const vanishedPrefixes = pool.prefixesOf(cloud.id).filter((p) => !cloudPrefixes.includes(p));
      pool.removePrefixes(vanishedPrefixes);
    }
    const attached = new Set(usable.map((i) => i.id));
    for (const pif of pool.interfaces()) {
      if (!attached.has(pif.id)) {
        const orphaned = pool.removeInterface(pif.id);
        found('interfaces_vanished', 1);
        found('pod_addresses_vanished', orphaned.length);
        this.#options.logger.error({ interfaceId: pif.id, orphaned }, 'interface is no longer attached to this node');
      }
    }
  }

  #requireNode(): NodeSnapshot {
    if (this.#node === undefined) throw new Error('pool manager not started');
    return this.#node;
  }

  /** Drops addresses gone from the cloud; returns how many a pod held. */
  #forget(addresses: string[]): number {
    if (addresses.length === 0) return 0;
    const orphaned = this.#pool.removeAddresses(addresses);
    const log = this.#options.logger;
    if (orphaned.length > 0) log.error({ addresses, orphaned }, 'addresses held by pods were removed from the node in the cloud');
    else log.info({ addresses }, 'addresses no longer on the node were dropped from the pool');
    return orphaned.length;
  }

  async #useInterface(cloud: CloudInterface): Promise<void> {
    if (cloud.deviceIndex > 0) {
      // A reconcile that found an interface waits for it too; a grow queued behind shows this step.
      const reconciling = this.#step === undefined;
      if (reconciling) this.#stepping(`waiting for interface ${cloud.id} (MAC ${cloud.mac}) to appear on the host, up to ${Math.round(this.#options.attachTimeoutMs / 1000)} s`);
      try {
        await this.#options.datapath.setupInterface(this.#hostSpec(cloud), { timeoutMs: this.#options.attachTimeoutMs });
      } finally {
        if (reconciling) this.#step = undefined;
      }
    }
    this.#pool.addInterface(cloud);
    if (this.#node !== undefined && !this.#node.interfaces.some((i) => i.id === cloud.id)) {
      this.#node = { ...this.#node, interfaces: [...this.#node.interfaces, cloud].sort((a, b) => a.deviceIndex - b.deviceIndex) };
    }
  }

  #hostSpec(pif: Pick<CloudInterface, 'mac' | 'primaryIp' | 'subnetCidr' | 'deviceIndex'>): HostInterfaceSpec {
    return { mac: pif.mac, primaryIp: pif.primaryIp, subnetCidr: pif.subnetCidr, mtu: this.#options.mtu, routeTable: pif.deviceIndex + 1 };
  }
}
