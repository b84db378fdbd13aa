/**
 * The daemon's request handlers: ADD, DEL, CHECK, GC and STATUS. Ties the pool, the datapath and
 * the checkpoint together with the ordering that keeps addresses from leaking or doubling:
 * an allocation is on disk before the pod's network exists, and stays on disk until it is gone.
 */
import { serviceStatus } from './service-status.js';
import { HeldAddresses, type HeldAddress, type LivePodAddresses } from './held-addresses.js';
import type { Logger } from 'pino';
import type { Datapath, PodNetworkSpec } from '../cni/datapath/types.js';
import { POD_GATEWAY } from '../cni/datapath/types.js';
import { hostVethName } from '../cni/datapath/veth-name.js';
import { RpcServiceError } from '../rpc/errors.js';
import type {
  AddParams,
  AddResult,
  AllocationKey,
  CheckParams,
  CheckResult,
  DelParams,
  GcParams,
  GcResult,
  PodRef,
  StatusResult,
} from '../rpc/protocol.js';
import { CHECKPOINT_VERSION, CheckpointError, type Checkpoint, type CheckpointAllocation, type CheckpointData } from './checkpoint.js';
import { ExclusiveGate, KeyedMutex } from './keyed-mutex.js';
import type { PoolManager } from './pool-manager.js';

export interface IpamServiceOptions {
  readonly pool: PoolManager;
  readonly datapath: Datapath;
  readonly checkpoint: Checkpoint;
  readonly logger: Logger;
  readonly mtu: number;
  readonly vethPrefix: string;
  readonly ipCooldownMs: number;
  /** Whether a pod's network namespace still exists; a pod whose namespace is gone has ended. */
  readonly netnsExists: (path: string) => Promise<boolean>;
  /**
   * True when the cluster says a live pod of that name holds the address (the Kubernetes API's
   * `status.podIPs`): its allocation is kept even when its namespace looks gone, so a reconcile
   * never frees a live pod's address. Unset: the namespace alone decides.
   */
  readonly livePodHolds?: (podNamespace: string | undefined, podName: string | undefined, address: string) => boolean;
  /** Called when an ADD gets no address (the pool is exhausted, blocked or still growing), with the reason the pod gets. */
  readonly onAddressRefused?: (pod: PodRef, reason: string) => void;
  /** False while the cluster's view is stale (the API away); unset: no cluster. */
  readonly clusterSynced?: () => boolean;
  /** True when the cluster says some live pod on this node holds the address (any name). Unset: none known. */
  readonly liveAddress?: (address: string) => boolean;
  /**
   * With SNAT of traffic leaving the VPC: the destinations (VPC CIDRs, SNAT exclusions) that a pod
   * on a secondary interface reaches through that interface; read at each ADD and CHECK. Unset or
   * undefined: that interface carries all of the pod's traffic.
   */
  readonly fromRuleDestinations?: () => readonly string[] | undefined;
  /** The provider's resume state (CloudProvider.resumeState), saved with every checkpoint. */
  readonly providerState?: () => unknown;
  readonly clock?: () => number;
}

export function allocationKey(key: AllocationKey): string {
  return `${key.networkName}/${key.containerId}/${key.ifName}`;
}

export class IpamService {
  readonly #options: IpamServiceOptions;
  readonly #clock: () => number;
  readonly #locks = new KeyedMutex();
  /** ADD, DEL, CHECK and GC share it; a rewrite of every pod's host rules takes it alone. */
  readonly #gate = new ExclusiveGate();
  readonly #allocations = new Map<string, CheckpointAllocation>();
  /** Until the checkpoint is restored, a write would drop the allocations it holds. */
  #restored = false;
  /** Whether the API's podIPs are held too: only when the checkpoint was lost or damaged. */
  #holdFromApi = false;
  readonly #held: HeldAddresses;

  constructor(options: IpamServiceOptions) {
    this.#options = options;
    this.#clock = options.clock ?? Date.now;
    this.#held = new HeldAddresses({ pool: options.pool, datapath: options.datapath, vethPrefix: options.vethPrefix, cooldownMs: options.ipCooldownMs, logger: options.logger });
  }

  /**
   * Restores the checkpoint (`saved`, or read now with {@link loadCheckpoint}), then holds every
   * address the kernel shows a pod of ours using that no allocation records (a lost, damaged or
   * older checkpoint): never handed to another pod.
   */
  async restore(saved: CheckpointData | undefined | 'load' = 'load'): Promise<void> {
    const restored = await this.#loadCheckpoint(saved === 'load' ? await this.loadCheckpoint() : saved);
    // Without a usable checkpoint the API's podIPs are a record too (with one, an address a
    // terminating pod still shows is simply one its DEL released).
    this.#holdFromApi = !restored;
    const read = await this.#held.holdFromKernel(this.#ownedAddresses());
    if (!read && !restored && this.#options.datapath.listPodRoutes !== undefined) {
      throw new Error('no usable checkpoint and the kernel\'s pod routes cannot be read: nothing would keep live pods\' addresses from other pods; retrying at the next start');
    }
  }

  /**
   * Reads the checkpoint. A damaged one (truncated, not JSON, invalid) is set aside and read as
   * none: its pods' addresses are then held from the kernel and the API (restore), never handed
   * out again. A version this daemon does not read, or a file it cannot read, still throws.
   */
  async loadCheckpoint(): Promise<CheckpointData | undefined> {
    const { checkpoint, logger } = this.#options;
    try {
      return await checkpoint.load();
    } catch (error) {
      if (!(error instanceof CheckpointError) || !error.damaged || checkpoint.setAside === undefined) throw error;
      const aside = await checkpoint.setAside();
      logger.error({ err: error, setAsideAs: aside }, `damaged checkpoint set aside as ${aside}: the pods it recorded are held from the kernel and the Kubernetes API`);
      return undefined;
    }
  }

  #ownedAddresses(): Set<string> {
    return new Set([...this.#allocations.values()].map((a) => a.address));
  }

  /** Holds the addresses live pods on this node show in the API that no allocation records. */
  holdLivePodAddresses(pods: readonly LivePodAddresses[]): void {
    if (!this.#restored || !this.#holdFromApi) return;
    const now = this.#clock();
    const owned = this.#ownedAddresses();
    for (const address of this.#options.pool.pool.interfaces().flatMap((pif) => this.#options.pool.pool.addressesOf(pif.id))) {
      // A cooling address was released by a DEL: the API still shows it until the pod is gone.
      if (this.#options.pool.pool.isCooling(address.address, now)) owned.add(address.address);
    }
    this.#held.holdFromApi(pods, owned);
  }

  /** Addresses held for pods no allocation records (see held-addresses.ts). */
  heldAddresses(): readonly HeldAddress[] {
    return this.#held.list();
  }

  async #loadCheckpoint(saved: CheckpointData | undefined): Promise<boolean> {
    const { pool, logger } = this.#options;
    this.#restored = true;
    if (saved === undefined) {
      logger.info('no checkpoint: fresh node');
      return false;
    }
    if (saved.instanceId !== pool.node.instanceId) {
      logger.warn({ checkpointInstance: saved.instanceId, instance: pool.node.instanceId }, 'checkpoint belongs to another instance; not restoring it');
      return false;
    }
    for (const allocation of saved.allocations) {
      const key = allocationKey(allocation);
      this.#allocations.set(key, allocation);
      const problem = pool.pool.restore(key, allocation.address);
      if (problem !== undefined) {
        logger.error({ containerId: allocation.containerId, address: allocation.address, problem }, 'restored allocation has no address in the pool');
      }
    }
    for (const { address, untilMs } of saved.cooldowns) pool.pool.restoreCooldown(address, untilMs);
    logger.info({ allocations: saved.allocations.length, cooldowns: saved.cooldowns.length }, 'restored checkpoint');
    return true;
  }

  add(params: AddParams): Promise<AddResult> {
    const key = allocationKey(params);
    return this.#locks.run(key, () => this.#gate.shared(async () => {
      const log = this.#options.logger.child({ containerId: params.containerId, ifName: params.ifName });
      const existing = this.#allocations.get(key);
      if (existing !== undefined && existing.netns !== params.netns) {
        throw new RpcServiceError(
          'InvalidRequest',
          `container ${params.containerId} (${params.ifName}) already has ${existing.address} in ${existing.netns}; DEL it before adding it to ${params.netns}`,
        );
      }
      const started = performance.now();
      if (existing !== undefined) {
        // A repeated ADD: rebuild the pod's network with the address it already holds.
        await this.#options.datapath.delPod(this.#teardownSpec(existing));
        return this.#plumb(existing, params, log, { started });
      }
      let assignment;
      try {
        assignment = await this.#options.pool.acquire(key);
      } catch (error) {
        if (error instanceof RpcServiceError) this.#options.onAddressRefused?.(params, error.message);
        throw error;
      }
      const acquired = performance.now();
      const routeTable = this.#options.pool.routeTableOf(assignment.interfaceId);
      const allocation: CheckpointAllocation = {
        networkName: params.networkName,
        containerId: params.containerId,
        ifName: params.ifName,
        address: assignment.address,
        interfaceId: assignment.interfaceId,
        netns: params.netns,
        hostVeth: this.#vethName(params),
        ...(routeTable === undefined ? {} : { routeTable }),
        ...podRefOf(params),
        assignedAtMs: this.#clock(),
      };
      this.#allocations.set(key, allocation);
      try {
        await this.#save();
      } catch (error) {
        this.#allocations.delete(key);
        this.#options.pool.release(key, { used: false, cooldownMs: 0 });
        throw new RpcServiceError('Internal', `cannot write the checkpoint: ${(error as Error).message}`, { cause: error });
      }
      return this.#plumb(allocation, params, log, { started, acquired, saved: performance.now() });
    }));
  }

  del(params: DelParams): Promise<Record<string, never>> {
    const key = allocationKey(params);
    return this.#locks.run(key, () => this.#gate.shared(async () => {
      const allocation = this.#allocations.get(key);
      const log = this.#options.logger.child({ containerId: params.containerId, ifName: params.ifName });
      if (allocation === undefined) {
        // A pod the checkpoint had lost: its network is ours to remove, its address goes back.
        let address: string | undefined;
        try {
          address = await this.#held.delByHostVeth(this.#vethName(params), (id) => this.#options.pool.routeTableOf(id));
        } catch (error) {
          throw new RpcServiceError('DatapathFailed', `removing the network of ${params.containerId}: ${(error as Error).message}`, { cause: error });
        }
        if (address === undefined) log.info('DEL of an unknown allocation: nothing to do');
        else log.info({ address }, 'released an address held for a pod the checkpoint had lost');
        return {};
      }
      const started = performance.now();
      try {
        await this.#options.datapath.delPod(this.#teardownSpec(allocation));
      } catch (error) {
        throw new RpcServiceError('DatapathFailed', `removing the network of ${params.containerId}: ${(error as Error).message}`, { cause: error });
      }
      const removed = performance.now();
      this.#allocations.delete(key);
      this.#options.pool.release(key, { used: true, cooldownMs: this.#options.ipCooldownMs });
      await this.#save();
      const done = performance.now();
      log.info({ address: allocation.address, ms: { datapath: round(removed - started), checkpoint: round(done - removed), total: round(done - started) } }, 'released');
      return {};
    }));
  }

  check(params: CheckParams): Promise<CheckResult> {
    const key = allocationKey(params);
    return this.#locks.run(key, () => this.#gate.shared(async () => {
      const allocation = this.#allocations.get(key);
      if (allocation === undefined) {
        return { ok: false, problems: [`no allocation for container ${params.containerId} interface ${params.ifName} in network ${params.networkName}`] };
      }
      const problems = await this.#options.datapath.checkPod(this.#podSpec(allocation, params.mtu));
      if (this.#options.pool.pool.lookup(key)?.address !== allocation.address) {
        problems.push(`address ${allocation.address} is no longer on any of the node's interfaces in the cloud`);
      }
      const held = `${allocation.address}/32`;
      if (params.prevAddresses !== undefined && !params.prevAddresses.includes(held)) {
        const given = params.prevAddresses.length === 0 ? 'no address' : params.prevAddresses.join(', ');
        problems.push(`prevResult gives ${params.ifName} ${given}, but its allocation holds ${held}`);
      }
      return { ok: problems.length === 0, problems };
    }));
  }

  /**
   * Releases every allocation of the network whose attachment is not in the valid list, then
   * removes host objects no allocation (of any network) owns. Keeps going past a failure and
   * throws DatapathFailed listing every one at the end (spec 1.1 GC: remove as much as possible).
   */
  async gc(params: GcParams): Promise<GcResult> {
    const valid = new Set(params.validAttachments.map((a) => `${a.containerId}/${a.ifName}`));
    const stale = [...this.#allocations.values()].filter(
      (a) => a.networkName === params.networkName && !valid.has(`${a.containerId}/${a.ifName}`),
    );
    const failures: string[] = [];
    let released = 0;
    for (const allocation of stale) {
      try {
        await this.del(allocation);
        released += 1;
      } catch (error) {
        failures.push((error as Error).message);
      }
    }
    let removed: string[] = [];
    const { datapath, vethPrefix, logger } = this.#options;
    if (datapath.removePodLeftovers !== undefined) {
      const removeLeftovers = datapath.removePodLeftovers.bind(datapath);
      try {
        removed = await this.#gate.shared(() => removeLeftovers({ vethPrefix, inUse: () => this.#inUse() }));
      } catch (error) {
        failures.push(`removing leftovers: ${(error as Error).message}`);
      }
    }
    logger.info({ network: params.networkName, valid: valid.size, released, removed, failures }, 'GC');
    if (failures.length > 0) {
      throw new RpcServiceError('DatapathFailed', `GC released ${released} of ${stale.length} stale allocations; failed: ${failures.join('; ')}`);
    }
    return removed.length > 0 ? { released, removed } : { released };
  }

  /** Host veths and addresses live pods hold, plus the node's interface addresses. */
  #inUse(): { veths: Set<string>; addresses: Set<string> } {
    const allocations = [...this.#allocations.values()];
    const held = this.#held.list();
    const addresses = new Set([...allocations.map((a) => a.address), ...held.map((h) => h.address)]);
    for (const pif of this.#options.pool.node.interfaces) addresses.add(pif.primaryIp);
    const veths = new Set([...allocations.map((a) => a.hostVeth), ...held.flatMap((h) => (h.hostVeth === undefined ? [] : [h.hostVeth]))]);
    return { veths, addresses };
  }

  /**
   * Releases allocations whose pod network namespace no longer exists: pods whose DEL never
   * reached us (the daemon was down; DEL succeeds then so the runtime can move on).
   */
  async releaseEndedPods(): Promise<number> {
    let released = 0;
    for (const allocation of [...this.#allocations.values()]) {
      if (await this.#options.netnsExists(allocation.netns)) continue;
      if (this.#options.livePodHolds?.(allocation.podNamespace, allocation.podName, allocation.address) === true) {
        this.#options.logger.warn(
          { containerId: allocation.containerId, netns: allocation.netns, address: allocation.address, pod: `${allocation.podNamespace}/${allocation.podName}` },
          'pod namespace is gone but the API says the pod still holds its address: kept until kubelet deletes it or the pod leaves',
        );
        continue;
      }
      this.#options.logger.info({ containerId: allocation.containerId, netns: allocation.netns, address: allocation.address }, 'pod namespace is gone: releasing its address');
      await this.del(allocation);
      released += 1;
    }
    const { livePodHolds, liveAddress, clusterSynced } = this.#options;
    released += await this.#held.releaseGone(
      (entry) =>
        // While the API is away, what only the API showed stays held: records must agree to release.
        (entry.source === 'api' && clusterSynced?.() === false) ||
        liveAddress?.(entry.address) === true ||
        (entry.pod !== undefined && livePodHolds?.(entry.pod.namespace, entry.pod.name, entry.address) === true),
    );
    return released;
  }

  /**
   * STATUS for the plugin: with the pool empty, first lets the pool plan a grow, so a limit or a
   * full subnet shows as `blocked` now rather than after the next ADD fails.
   */
  async currentStatus(): Promise<StatusResult> {
    const { pool } = this.#options;
    if (pool.pool.stats(this.#clock()).available === 0 && pool.block === undefined) {
      void pool.kickGrow().catch(() => undefined);
      await new Promise((resolve) => setImmediate(resolve));
    }
    return this.status();
  }

  /** `blocked` when the pool is empty and a limit, a full subnet or throttling stops it growing. */
  status(): StatusResult {
    return serviceStatus(this.#options.pool, this.#allocations.values(), this.#clock());
  }

  async #plumb(allocation: CheckpointAllocation, params: AddParams, log: Logger, marks: AddMarks): Promise<AddResult> {
    const spec = this.#podSpec(allocation, params.mtu);
    try {
      const before = performance.now();
      const result = await this.#options.datapath.addPod(spec);
      const ms = addTimings(marks, before, performance.now());
      log.info({ address: allocation.address, interfaceId: allocation.interfaceId, hostVeth: result.hostVeth.name, ms }, 'added');
      return {
        address: `${allocation.address}/32`,
        gateway: POD_GATEWAY,
        mtu: spec.mtu,
        interfaceId: allocation.interfaceId,
        hostInterface: result.hostVeth,
        podInterface: { ...result.podInterface, sandbox: params.netns },
      };
    } catch (error) {
      const key = allocationKey(allocation);
      this.#allocations.delete(key);
      this.#options.pool.release(key, { used: false, cooldownMs: 0 });
      await this.#save().catch((saveError: unknown) => log.error({ err: saveError }, 'checkpoint write after a failed ADD failed'));
      throw new RpcServiceError('DatapathFailed', `setting up the network of ${params.containerId}: ${(error as Error).message}`, { cause: error });
    }
  }

  #podSpec(allocation: CheckpointAllocation, mtu: number | undefined): PodNetworkSpec {
    const { routeTable } = allocation;
    const fromRuleDestinations = routeTable === undefined ? undefined : this.#options.fromRuleDestinations?.();
    return {
      netnsPath: allocation.netns,
      podIfName: allocation.ifName,
      hostVethName: allocation.hostVeth,
      address: allocation.address,
      mtu: mtu ?? this.#options.mtu,
      ...(routeTable === undefined ? {} : { routeTable }),
      ...(fromRuleDestinations === undefined ? {} : { fromRuleDestinations }),
    };
  }

  #teardownSpec(allocation: CheckpointAllocation) {
    const { routeTable } = allocation;
    return { hostVethName: allocation.hostVeth, address: allocation.address, ...(routeTable === undefined ? {} : { routeTable }) };
  }

  #vethName(params: AddParams | DelParams): string {
    const pod = params.podNamespace !== undefined && params.podName !== undefined ? { namespace: params.podNamespace, name: params.podName } : params.containerId;
    return hostVethName(this.#options.vethPrefix, pod);
  }

  /**
   * Writes the checkpoint now (the provider's resume state changed); resolves once it is on disk.
   * Before {@link restore} it does nothing: the file still holds allocations not loaded yet.
   */
  /**
   * Runs `task` while no ADD, DEL, CHECK or GC is in flight, and holds new ones back until it
   * ends: for work on every pod's host objects at once (rewriting their `from` rules).
   */
  exclusively<T>(task: () => Promise<T>): Promise<T> {
    return this.#gate.exclusive(task);
  }

  persist(): Promise<void> {
    return this.#restored ? this.#save() : Promise.resolve();
  }

  #save(): Promise<void> {
    return this.#options.checkpoint.save(() => this.#snapshot());
  }

  #snapshot(): CheckpointData {
    const providerState = this.#options.providerState?.();
    return {
      version: CHECKPOINT_VERSION,
      instanceId: this.#options.pool.node.instanceId,
      allocations: [...this.#allocations.values()],
      cooldowns: this.#options.pool.pool.cooldowns(this.#clock()),
      ...(providerState === undefined ? {} : { providerState }),
    };
  }
}

/** performance.now() marks of one ADD: start, address in hand, checkpoint on disk. */
interface AddMarks {
  readonly started: number;
  readonly acquired?: number;
  readonly saved?: number;
}

/** Where an ADD's time went, in ms, for its log line. */
function addTimings(marks: AddMarks, datapathStart: number, end: number): Record<string, number> {
  const { started, acquired, saved } = marks;
  return {
    ...(acquired === undefined ? {} : { pool: round(acquired - started) }),
    ...(acquired === undefined || saved === undefined ? {} : { checkpoint: round(saved - acquired) }),
    datapath: round(end - datapathStart),
    total: round(end - started),
  };
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

function podRefOf(ref: PodRef): PodRef {
  return {
    ...(ref.podNamespace === undefined ? {} : { podNamespace: ref.podNamespace }),
    ...(ref.podName === undefined ? {} : { podName: ref.podName }),
  };
}
