/**
 * What ended pods leave behind, released: allocations of pods whose namespace is gone (their DEL
 * never reached the daemon), allocations the runtime's GC no longer lists, held addresses no record
 * shows any more, and host objects (veths, routes, rules) no pod owns. Each waits until the node
 * is settled (node-records.ts) where a record still unread could show a live pod.
 */
import { RpcServiceError } from '../../rpc/errors.js';
import type { GcParams, GcResult } from '../../rpc/protocol.js';
import type { CheckpointAllocation } from '../checkpoint/checkpoint.js';
import type { HeldAddresses } from './held-addresses.js';
import type { IpamServiceOptions } from './ipam-service.js';

/** What of IpamServiceOptions the cleanup reads (see there). */
export type EndedPodsOptions = Pick<IpamServiceOptions, 'pool' | 'datapath' | 'logger' | 'vethPrefix' | 'netnsExists' | 'livePodHolds' | 'clusterSynced' | 'liveAddress'>;

/** The service's records and operations the cleanup works through. */
export interface EndedPodsParts {
  readonly options: EndedPodsOptions;
  readonly allocations: ReadonlyMap<string, CheckpointAllocation>;
  readonly held: HeldAddresses;
  /** The service's DEL of one allocation (its lock, the datapath, the checkpoint). */
  readonly del: (allocation: CheckpointAllocation) => Promise<unknown>;
  readonly unsettledReason: () => string | undefined;
  /** Runs a task with no ADD, DEL, CHECK or GC in flight. */
  readonly exclusively: <T>(task: () => Promise<T>) => Promise<T>;
}

export class EndedPods {
  readonly #parts: EndedPodsParts;

  constructor(parts: EndedPodsParts) {
    this.#parts = parts;
  }

  /**
   * Releases every allocation of the network whose attachment is not in the valid list, then
   * removes host objects no allocation (of any network) owns. Keeps going past a failure and
   * throws DatapathFailed listing every one at the end (spec 1.1 GC: remove as much as possible).
   */
  async gc(params: GcParams): Promise<GcResult> {
    const valid = new Set(params.validAttachments.map((a) => `${a.containerId}/${a.ifName}`));
    const stale = [...this.#parts.allocations.values()].filter(
      (a) => a.networkName === params.networkName && !valid.has(`${a.containerId}/${a.ifName}`),
    );
    const failures: string[] = [];
    let released = 0;
    for (const allocation of stale) {
      try {
        await this.#parts.del(allocation);
        released += 1;
      } catch (error) {
        failures.push((error as Error).message);
      }
    }
    let removed: string[] = [];
    try {
      removed = await this.removeLeftovers();
    } catch (error) {
      failures.push(`removing leftovers: ${(error as Error).message}`);
    }
    this.#parts.options.logger.info({ network: params.networkName, valid: valid.size, released, removed, failures }, 'GC');
    if (failures.length > 0) {
      throw new RpcServiceError('DatapathFailed', `GC released ${released} of ${stale.length} stale allocations; failed: ${failures.join('; ')}`);
    }
    return removed.length > 0 ? { released, removed } : { released };
  }

  /**
   * Removes host objects no pod owns (what GC removes), once the node is settled: a veth, route or
   * rule whose record was lost with a damaged checkpoint, or that a crash left half made, which no
   * DEL will ever name. Runs after start-up and each reconcile; returns what it removed.
   *
   * Objects are found and deleted by name and address, so the removal runs with no ADD or DEL in
   * flight: otherwise a pod set up between the look and the delete, with the same veth name (a
   * StatefulSet's pod again) or the same address, could lose what it had just made. Most sweeps
   * find nothing; they look without holding pods back, and only a sweep with work takes the gate.
   */
  async removeLeftovers(): Promise<string[]> {
    const { datapath, vethPrefix } = this.#parts.options;
    if (datapath.removePodLeftovers === undefined || this.#parts.unsettledReason() !== undefined) return [];
    const removeLeftovers = datapath.removePodLeftovers.bind(datapath);
    const inUse = () => this.#inUse();
    if ((await removeLeftovers({ vethPrefix, inUse, dryRun: true })).length === 0) return [];
    return this.#parts.exclusively(() => (this.#parts.unsettledReason() === undefined ? removeLeftovers({ vethPrefix, inUse }) : Promise.resolve([])));
  }

  /** Host veths and addresses live pods hold, plus the node's interface addresses. */
  #inUse(): { veths: Set<string>; addresses: Set<string> } {
    const allocations = [...this.#parts.allocations.values()];
    const held = [...this.#parts.held.list(), ...this.#parts.held.unholdable()];
    const addresses = new Set([...allocations.map((a) => a.address), ...held.map((h) => h.address)]);
    for (const pif of this.#parts.options.pool.node.interfaces) addresses.add(pif.primaryIp);
    const veths = new Set([...allocations.map((a) => a.hostVeth), ...held.flatMap((h) => (h.hostVeth === undefined ? [] : [h.hostVeth]))]);
    return { veths, addresses };
  }

  /**
   * Releases allocations whose pod network namespace no longer exists: pods whose DEL never
   * reached us (the daemon was down; DEL succeeds then so the runtime can move on).
   */
  async releaseEndedPods(): Promise<number> {
    let released = 0;
    let routes: ReadonlySet<string> | undefined;
    for (const allocation of [...this.#parts.allocations.values()]) {
      if (await this.#parts.options.netnsExists(allocation.netns)) continue;
      // A pod's veth (and so its route) goes with its namespace: while the kernel still routes the
      // address to the pod's veth, the pod lives, whatever path the record names.
      if (routes === undefined) {
        const read = await this.#parts.held.kernelPodRoutes();
        // Without the kernel's word, a wrong path could look like an ended pod: try at the next reconcile.
        if (read === undefined && this.#parts.options.datapath.listPodRoutes !== undefined) break;
        routes = new Set(read?.map((r) => `${r.address} ${r.hostVeth}`) ?? []);
      }
      if (routes.has(`${allocation.address} ${allocation.hostVeth}`)) {
        this.#parts.options.logger.warn({ containerId: allocation.containerId, netns: allocation.netns, address: allocation.address, hostVeth: allocation.hostVeth }, 'pod namespace not found but the kernel still routes its address to its veth: kept');
        continue;
      }
      if (this.#parts.options.livePodHolds?.(allocation.podNamespace, allocation.podName, allocation.address) === true) {
        this.#parts.options.logger.warn(
          { containerId: allocation.containerId, netns: allocation.netns, address: allocation.address, pod: `${allocation.podNamespace}/${allocation.podName}` },
          'pod namespace is gone but the API says the pod still holds its address: kept until kubelet deletes it or the pod leaves',
        );
        continue;
      }
      this.#parts.options.logger.info({ containerId: allocation.containerId, netns: allocation.netns, address: allocation.address }, 'pod namespace is gone: releasing its address');
      try {
        await this.#parts.del(allocation);
        released += 1;
      } catch (error) {
        // One pod's failure must not stop the others, nor the daemon's start: tried again next reconcile.
        this.#parts.options.logger.error({ err: error, containerId: allocation.containerId }, 'could not release the address of an ended pod; trying again at the next reconcile');
      }
    }
    const { livePodHolds, liveAddress, clusterSynced } = this.#parts.options;
    // Until every record has been read, what one of them shows may be a live pod's.
    if (this.#parts.unsettledReason() !== undefined) return released;
    released += await this.#parts.held.releaseGone(
      (entry) =>
        // While the API is away, what only the API showed stays held: records must agree to release.
        (entry.source === 'api' && clusterSynced?.() === false) ||
        liveAddress?.(entry.address) === true ||
        (entry.pod !== undefined && livePodHolds?.(entry.pod.namespace, entry.pod.name, entry.address) === true),
    );
    return released;
  }
}
