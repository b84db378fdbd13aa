/**
 * The daemon's request handlers: ADD, DEL, CHECK, GC and STATUS. Ties the pool, the datapath and
 * the checkpoint together with the ordering that keeps addresses from leaking or doubling:
 * an allocation is on disk before the pod's network exists, and stays on disk until it is gone.
 */
import { serviceStatus } from './service-status.js';
import type { HeldAddress, HeldAddresses, LivePodAddresses } from './held-addresses.js';
import type { Logger } from 'pino';
import type { Datapath, PodNetworkSpec } from '../datapath/types.js';
import { POD_GATEWAY } from '../datapath/types.js';
import { hostVethName } from '../datapath/veth-name.js';
import { RpcServiceError } from '../../rpc/errors.js';
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
} from '../../rpc/protocol.js';
import { CHECKPOINT_VERSION, type Checkpoint, type CheckpointAllocation, type CheckpointData } from '../checkpoint/checkpoint.js';
import { ExclusiveGate, KeyedMutex } from './keyed-mutex.js';
import { NodeRecords, allocationKey } from './node-records.js';
import { addTimings, podRefOf, round, type AddMarks } from './add-timings.js';
import { EndedPods } from './ended-pods.js';
import { encodeVethAlias } from '../datapath/veth-alias.js';
import type { PoolManager } from '../pool/pool-manager.js';

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
   * Whether the Kubernetes API is a record to wait for: after a lost or damaged checkpoint the node
   * is settled (may release and delete) only once the API's pods have been held too.
   */
  readonly clusterConnected?: boolean;
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

export { allocationKey } from './node-records.js';

export class IpamService {
  readonly #options: IpamServiceOptions;
  readonly #clock: () => number;
  readonly #locks = new KeyedMutex();
  /** ADD, DEL, CHECK and GC share it; a rewrite of every pod's host rules takes it alone. */
  readonly #gate = new ExclusiveGate();
  readonly #records: NodeRecords;
  readonly #allocations: Map<string, CheckpointAllocation>;
  readonly #held: HeldAddresses;
  readonly #ended: EndedPods;

  constructor(options: IpamServiceOptions) {
    this.#options = options;
    this.#clock = options.clock ?? Date.now;
    this.#records = new NodeRecords({
      pool: options.pool,
      datapath: options.datapath,
      checkpoint: options.checkpoint,
      vethPrefix: options.vethPrefix,
      ipCooldownMs: options.ipCooldownMs,
      logger: options.logger,
      clusterConnected: options.clusterConnected ?? false,
      clock: this.#clock,
    });
    this.#allocations = this.#records.allocations;
    this.#held = this.#records.held;
    this.#ended = new EndedPods({
      options,
      allocations: this.#allocations,
      held: this.#held,
      del: (allocation) => this.del(allocation),
      unsettledReason: () => this.unsettledReason(),
      exclusively: (task) => this.#gate.exclusive(task),
    });
  }

  /** See NodeRecords.restore. */
  restore(saved: CheckpointData | undefined | 'load' = 'load'): Promise<void> {
    return this.#records.restore(saved);
  }

  /** See NodeRecords.loadCheckpoint: a damaged checkpoint is set aside and read as none. */
  loadCheckpoint(): Promise<CheckpointData | undefined> {
    return this.#records.loadCheckpoint();
  }

  /** Holds the addresses live pods on this node show in the API that no allocation records. */
  holdLivePodAddresses(pods: readonly LivePodAddresses[]): void {
    this.#records.holdLivePodAddresses(pods);
  }

  /** Why the node may not release or delete yet (see NodeRecords.unsettledReason); undefined once it may. */
  unsettledReason(): string | undefined {
    return this.#records.unsettledReason();
  }

  /** Addresses held for pods no allocation records (see held-addresses.ts). */
  heldAddresses(): readonly HeldAddress[] {
    return this.#records.heldAddresses();
  }

  /** True when the allocation's address is no longer on the node in the cloud (see checkpoint-audit.ts). */
  isStranded(key: AllocationKey): boolean {
    return this.#records.isStranded(allocationKey(key));
  }

  /** See NodeRecords.settleStranded: how many stranded allocations have their address again. */
  settleStranded(): number {
    return this.#records.settleStranded();
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
      this.#records.forget(key);
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

  /** See EndedPods.gc. */
  gc(params: GcParams): Promise<GcResult> {
    return this.#ended.gc(params);
  }

  /** See EndedPods.removeLeftovers. */
  removeLeftovers(): Promise<string[]> {
    return this.#ended.removeLeftovers();
  }

  /** See EndedPods.releaseEndedPods. */
  releaseEndedPods(): Promise<number> {
    return this.#ended.releaseEndedPods();
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
    return serviceStatus(this.#options.pool, this.#allocations.values(), this.#clock(), { held: this.#held.list(), unsettled: this.#records.unsettledReason() });
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
      await this.#quarantine(key, allocation, log);
      await this.#save().catch((saveError: unknown) => log.error({ err: saveError }, 'checkpoint write after a failed ADD failed'));
      throw new RpcServiceError('DatapathFailed', `setting up the network of ${params.containerId}: ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * After a failed ADD, the address goes back to the pool only if nothing of another pod's network
   * is left on it: when the kernel still routes it to a veth (another pod's, which no record
   * showed), it is held for that pod like any address the kernel shows; otherwise it cools down
   * like a used one, so the next ADD does not pick it straight back.
   */
  async #quarantine(key: string, allocation: CheckpointAllocation, log: Logger): Promise<void> {
    const { pool, ipCooldownMs } = this.#options;
    // The kernel is read first: between the release and the hold nothing may run, or a concurrent
    // ADD could take the address back.
    const routes = await this.#held.kernelPodRoutes();
    const other = routes?.filter((r) => r.address === allocation.address && r.hostVeth !== allocation.hostVeth) ?? [];
    pool.release(key, { used: true, cooldownMs: ipCooldownMs });
    if (other.length > 0 && this.#held.holdFromRoutes(other, new Set()).length > 0) {
      log.warn({ address: allocation.address, hostVeth: other[0]!.hostVeth }, 'the failed ADD\'s address is routed to another pod\'s veth: held for that pod, not handed out again');
    }
  }

  #podSpec(allocation: CheckpointAllocation, mtu: number | undefined): PodNetworkSpec {
    const { routeTable } = allocation;
    const fromRuleDestinations = routeTable === undefined ? undefined : this.#options.fromRuleDestinations?.();
    const hostAlias = encodeVethAlias(allocation);
    return {
      netnsPath: allocation.netns,
      podIfName: allocation.ifName,
      hostVethName: allocation.hostVeth,
      address: allocation.address,
      mtu: mtu ?? this.#options.mtu,
      ...(routeTable === undefined ? {} : { routeTable }),
      ...(fromRuleDestinations === undefined ? {} : { fromRuleDestinations }),
      ...(hostAlias === undefined ? {} : { hostAlias }),
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
   * Runs `task` while no ADD, DEL, CHECK or GC is in flight, and holds new ones back until it
   * ends: for work on every pod's host objects at once (rewriting their `from` rules).
   */
  exclusively<T>(task: () => Promise<T>): Promise<T> {
    return this.#gate.exclusive(task);
  }

  /**
   * Writes the checkpoint now (the provider's resume state changed); resolves once it is on disk.
   * Before {@link restore} it does nothing: the file still holds allocations not loaded yet.
   */
  persist(): Promise<void> {
    return this.#records.restored ? this.#save() : Promise.resolve();
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
