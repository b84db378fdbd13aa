/**
 * Who holds which address on this node, from every record there is: the checkpoint's allocations
 * (checked against the kernel and the cloud first, see checkpoint-audit.ts), the addresses the
 * kernel shows our pods using that no allocation records, and after a lost or damaged checkpoint
 * those the Kubernetes API shows live pods holding (held-addresses.ts). Until all of them have been
 * read the node is unsettled: nothing is released to the cloud and no interface is deleted.
 */
import type { Logger } from 'pino';
import type { Datapath } from '../datapath/types.js';
import { allocationKey, auditCheckpoint, type KernelPodRoute } from '../checkpoint/checkpoint-audit.js';
import { CheckpointError, type Checkpoint, type CheckpointAllocation, type CheckpointData } from '../checkpoint/checkpoint.js';
import { decodeVethAlias } from '../datapath/veth-alias.js';
import { HeldAddresses, type HeldAddress, type LivePodAddresses } from './held-addresses.js';
import type { PoolManager } from '../pool/pool-manager.js';

export { allocationKey } from '../checkpoint/checkpoint-audit.js';

export interface NodeRecordsOptions {
  readonly pool: PoolManager;
  readonly datapath: Pick<Datapath, 'listPodRoutes' | 'delPod'>;
  readonly checkpoint: Checkpoint;
  readonly vethPrefix: string;
  readonly ipCooldownMs: number;
  readonly logger: Logger;
  /** Whether the Kubernetes API is a record to wait for after a lost or damaged checkpoint. */
  readonly clusterConnected: boolean;
  readonly clock: () => number;
}

export class NodeRecords {
  readonly #options: NodeRecordsOptions;
  /** The checkpoint's allocations, by {@link allocationKey}. */
  readonly allocations = new Map<string, CheckpointAllocation>();
  /** Addresses held for pods no allocation records. */
  readonly held: HeldAddresses;
  /** Allocations whose address the node no longer has in the cloud (keys). */
  readonly #stranded = new Set<string>();
  /** Until the checkpoint is restored, a write would drop the allocations it holds. */
  #restored = false;
  /** Whether the API's podIPs are held too: only when the checkpoint was lost or damaged. */
  #holdFromApi = false;
  /** Whether the API's pods have been held since a lost checkpoint. */
  #heldFromApi = false;

  constructor(options: NodeRecordsOptions) {
    this.#options = options;
    const { pool, datapath, vethPrefix, ipCooldownMs, logger } = options;
    this.held = new HeldAddresses({ pool, datapath, vethPrefix, cooldownMs: ipCooldownMs, logger });
  }

  get restored(): boolean {
    return this.#restored;
  }

  /**
   * Restores the checkpoint (`saved`, or read now with {@link loadCheckpoint}), then holds every
   * address the kernel shows a pod of ours using that no allocation records (a lost, damaged or
   * older checkpoint): never handed to another pod.
   */
  async restore(saved: CheckpointData | undefined | 'load'): Promise<void> {
    const data = saved === 'load' ? await this.loadCheckpoint() : saved;
    const routes = await this.held.kernelPodRoutes();
    const restored = this.#loadCheckpoint(data, routes);
    // Without a usable checkpoint the API's podIPs are a record too (with one, an address a
    // terminating pod still shows is simply one its DEL released).
    this.#holdFromApi = !restored;
    if (routes !== undefined) this.held.holdFromRoutes(this.#rebuildFromAliases(routes), this.ownedAddresses());
    else if (!restored && this.#options.datapath.listPodRoutes !== undefined) {
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

  ownedAddresses(): Set<string> {
    return new Set([...this.allocations.values()].map((a) => a.address));
  }

  /** Holds the addresses live pods on this node show in the API that no allocation records. */
  holdLivePodAddresses(pods: readonly LivePodAddresses[]): void {
    if (!this.#restored || !this.#holdFromApi) return;
    const { pool, clock, logger } = this.#options;
    const now = clock();
    const owned = this.ownedAddresses();
    for (const address of pool.pool.interfaces().flatMap((pif) => pool.pool.addressesOf(pif.id))) {
      // A cooling address was released by a DEL: the API still shows it until the pod is gone.
      if (pool.pool.isCooling(address.address, now)) owned.add(address.address);
    }
    this.held.holdFromApi(pods, owned);
    if (!this.#heldFromApi) logger.info({ pods: pods.length, held: this.held.list().length }, 'the Kubernetes API\'s pods are held too: the node is settled');
    this.#heldFromApi = true;
  }

  /**
   * Why the node may not release addresses or delete interfaces yet, or undefined once it may:
   * every record of who holds what has been read (the checkpoint, the kernel, and after a lost or
   * damaged checkpoint the Kubernetes API's pods when connected).
   */
  unsettledReason(): string | undefined {
    if (!this.#restored) return 'the checkpoint is not restored yet';
    if (this.#holdFromApi && this.#options.clusterConnected && !this.#heldFromApi) {
      return 'the checkpoint was lost or damaged and the Kubernetes API\'s pods have not been read yet';
    }
    return undefined;
  }

  heldAddresses(): readonly HeldAddress[] {
    return this.held.list();
  }

  /** True when the allocation's address is no longer on the node in the cloud (see checkpoint-audit.ts). */
  isStranded(key: string): boolean {
    return this.#stranded.has(key);
  }

  /**
   * Stranded allocations whose address the pool now has (the cloud's view caught up, or the
   * address came back): the pool gave it to them as it arrived (AddressPool.awaitAddress), so they
   * are whole again. Returns how many recovered; their pods' `from` rules are still to be written.
   */
  settleStranded(): number {
    const { pool, logger } = this.#options;
    let recovered = 0;
    for (const key of [...this.#stranded]) {
      const allocation = this.allocations.get(key);
      if (allocation === undefined) {
        this.#stranded.delete(key);
        continue;
      }
      if (pool.pool.lookup(key)?.address !== allocation.address) continue;
      this.#stranded.delete(key);
      recovered += 1;
      logger.info({ containerId: allocation.containerId, address: allocation.address }, 'a stranded allocation\'s address is on the node again: restored');
    }
    return recovered;
  }

  /** The allocation is gone (its DEL, a failed ADD). */
  forget(key: string): void {
    this.allocations.delete(key);
    this.#stranded.delete(key);
  }

  /**
   * Rebuilds the allocations the kernel still shows that no record holds (a lost or damaged
   * checkpoint), from each pod's `/32` route and its host veth's alias (veth-alias.ts): the key,
   * the namespace and the host veth from the kernel, the interface and route table from the pool.
   * A rebuilt pod is whole again (DEL, CHECK, GC and a repeated ADD find it by its key). Returns
   * the routes it could not rebuild (no alias, an address the pool lacks): held as before.
   */
  #rebuildFromAliases(routes: readonly KernelPodRoute[]): KernelPodRoute[] {
    const { pool, clock, logger } = this.#options;
    const owned = this.ownedAddresses();
    const rest: KernelPodRoute[] = [];
    const rebuilt: CheckpointAllocation[] = [];
    for (const route of routes) {
      const named = owned.has(route.address) ? undefined : decodeVethAlias(route.alias);
      const key = named === undefined ? undefined : allocationKey(named);
      const pif = pool.pool.interfaceOf(route.address);
      if (named === undefined || key === undefined || this.allocations.has(key) || pif === undefined || pool.pool.restore(key, route.address) !== undefined) {
        rest.push(route);
        continue;
      }
      const routeTable = pool.routeTableOf(pif.id);
      const allocation: CheckpointAllocation = {
        ...named,
        address: route.address,
        interfaceId: pif.id,
        hostVeth: route.hostVeth,
        ...(routeTable === undefined ? {} : { routeTable }),
        assignedAtMs: clock(),
      };
      this.allocations.set(key, allocation);
      owned.add(route.address);
      rebuilt.push(allocation);
    }
    if (rebuilt.length > 0) {
      logger.warn(
        { rebuilt: rebuilt.map((a) => ({ containerId: a.containerId, ifName: a.ifName, address: a.address, hostVeth: a.hostVeth })) },
        `rebuilt ${rebuilt.length} allocations no checkpoint recorded from the kernel (pod routes and host veth aliases)`,
      );
    }
    return rest;
  }

  #loadCheckpoint(saved: CheckpointData | undefined, routes: readonly KernelPodRoute[] | undefined): boolean {
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
    const audit = auditCheckpoint(saved.allocations, routes, (address) => pool.pool.interfaceOf(address) !== undefined);
    for (const finding of audit.findings) logger.error(finding, `checkpoint: ${finding.detail}`);
    const stranded = new Set(audit.stranded);
    for (const allocation of audit.kept) {
      const key = allocationKey(allocation);
      this.allocations.set(key, allocation);
      const problem = stranded.has(allocation) ? 'not on the node' : pool.pool.restore(key, allocation.address);
      if (problem !== undefined) {
        this.#stranded.add(key);
        // Should the cloud's view of the node show the address later, it goes to this pod, not to a new one.
        const unpromised = pool.pool.interfaceOf(allocation.address) === undefined ? pool.pool.awaitAddress(key, allocation.address) : undefined;
        if (unpromised !== undefined) logger.error({ containerId: allocation.containerId, address: allocation.address, problem: unpromised }, 'a stranded allocation\'s address cannot be promised to it should the cloud show it later');
      }
      if (problem !== undefined && !stranded.has(allocation)) {
        logger.error({ containerId: allocation.containerId, address: allocation.address, problem }, 'restored allocation has no address in the pool');
      }
    }
    for (const { address, untilMs } of saved.cooldowns) pool.pool.restoreCooldown(address, untilMs);
    logger.info({ allocations: audit.kept.length, dropped: saved.allocations.length - audit.kept.length, stranded: this.#stranded.size, cooldowns: saved.cooldowns.length }, 'restored checkpoint');
    return true;
  }
}
