/**
 * Addresses a live pod holds that no allocation records: found in the host's kernel (a pod's
 * `/32` route over one of our veths) or in the Kubernetes API (`status.podIPs`), after the
 * checkpoint was lost, truncated or older than the kernel. Each is held in the pool under a key of
 * its own, so it is never handed to another pod, never released to the cloud, and its interface
 * is never deleted; it is let go when kubelet deletes the pod (DEL, matched by the host veth the
 * pod's name gives) or once neither record shows it any more.
 */
import type { Logger } from 'pino';
import type { Datapath } from '../datapath/types.js';
import type { PoolManager } from '../pool/pool-manager.js';

/** A pod the cluster says is alive on this node, with the addresses it shows. */
export interface LivePodAddresses {
  readonly namespace: string;
  readonly name: string;
  readonly podIps: readonly string[];
}

export interface HeldAddress {
  readonly address: string;
  /** The pod's host veth, when the kernel showed one. */
  readonly hostVeth?: string;
  /** The pod, when the API named it. */
  readonly pod?: { readonly namespace: string; readonly name: string };
  readonly source: 'kernel' | 'api';
}

const KEY_PREFIX = 'held:';

export interface HeldAddressesOptions {
  readonly pool: PoolManager;
  readonly datapath: Pick<Datapath, 'listPodRoutes' | 'delPod'>;
  /** Host veth prefix of our pods (AWS_VPC_K8S_CNI_VETHPREFIX). */
  readonly vethPrefix: string;
  /** How long a released address rests (IP_COOLDOWN_PERIOD). */
  readonly cooldownMs: number;
  readonly logger: Logger;
}

export class HeldAddresses {
  readonly #options: HeldAddressesOptions;
  readonly #pool: PoolManager;
  readonly #logger: Logger;
  readonly #held = new Map<string, HeldAddress>();
  /** Addresses a pod shows that the pool does not have: reported once. */
  readonly #unholdable = new Map<string, HeldAddress>();

  constructor(options: HeldAddressesOptions) {
    this.#options = options;
    this.#pool = options.pool;
    this.#logger = options.logger;
  }

  /**
   * Holds what the kernel shows our pods using, but for the addresses in `owned` (allocations).
   * False when the kernel could not be read (or the datapath cannot list routes).
   */
  async holdFromKernel(owned: ReadonlySet<string>): Promise<boolean> {
    const routes = await this.kernelPodRoutes();
    if (routes === undefined) return false;
    this.holdFromRoutes(routes, owned);
    return true;
  }

  /** Holds the addresses of `routes` (read by {@link kernelPodRoutes}), but for those in `owned`. */
  holdFromRoutes(routes: readonly { address: string; hostVeth: string }[], owned: ReadonlySet<string>): HeldAddress[] {
    return this.hold(routes.filter((r) => !owned.has(r.address)).map((r) => ({ address: r.address, hostVeth: r.hostVeth, source: 'kernel' as const })));
  }

  /** Holds what the API shows live pods on this node using, but for the addresses in `owned`. */
  holdFromApi(pods: readonly LivePodAddresses[], owned: ReadonlySet<string>): void {
    this.hold(pods.flatMap((pod) => pod.podIps.filter((ip) => !owned.has(ip)).map((address) => ({ address, pod: { namespace: pod.namespace, name: pod.name }, source: 'api' as const }))));
  }

  /**
   * A DEL for the pod whose host veth is `hostVeth` that no allocation records: removes its
   * network and lets its held address go. Returns the address, or undefined when none is held for it.
   */
  async delByHostVeth(hostVeth: string, routeTableOf: (interfaceId: string) => number | undefined): Promise<string | undefined> {
    let entry: HeldAddress | undefined;
    for (const held of this.#held.values()) if (held.hostVeth === hostVeth) entry = held;
    if (entry === undefined) return undefined;
    // Out of the map before any await: a second DEL of the same pod finds nothing to do.
    this.#held.delete(entry.address);
    const interfaceId = this.#pool.pool.lookup(`${KEY_PREFIX}${entry.address}`)?.interfaceId;
    const routeTable = interfaceId === undefined ? undefined : routeTableOf(interfaceId);
    try {
      await this.#options.datapath.delPod({ hostVethName: hostVeth, address: entry.address, ...(routeTable === undefined ? {} : { routeTable }) });
    } catch (error) {
      this.#held.set(entry.address, entry);
      throw error;
    }
    this.#pool.release(`${KEY_PREFIX}${entry.address}`, { used: true, cooldownMs: this.#options.cooldownMs });
    return entry.address;
  }

  /** The kernel's pod routes over our veths; undefined when they cannot be read. */
  async kernelPodRoutes(): Promise<readonly { address: string; hostVeth: string }[] | undefined> {
    const { datapath, vethPrefix } = this.#options;
    if (datapath.listPodRoutes === undefined) return undefined;
    try {
      return await datapath.listPodRoutes(vethPrefix);
    } catch (error) {
      this.#logger.warn({ err: error }, 'could not read the pods routes from the kernel');
      return undefined;
    }
  }

  /**
   * Addresses live pods use that the pool could not hold (not on the node in the cloud, as the
   * pool sees it): never handed out since the pool lacks them, and their host objects (veth,
   * route, rules) are a live pod's, never leftovers.
   */
  unholdable(): HeldAddress[] {
    this.#settleUnholdable();
    return [...this.#unholdable.values()];
  }

  /** Every address held this way now. */
  list(): HeldAddress[] {
    this.#settleUnholdable();
    return [...this.#held.values()];
  }

  /** Unholdable addresses the pool has since received: it gave each to its hold as it arrived. */
  #settleUnholdable(): void {
    for (const [address, entry] of this.#unholdable) {
      if (this.#pool.pool.ownerOf(address) !== `${KEY_PREFIX}${address}`) continue;
      this.#unholdable.delete(address);
      this.#held.set(address, entry);
      this.#logger.info({ ...entry }, 'an address a pod holds is on the node again: held for it');
    }
  }

  /**
   * Holds each address that the pool has and nothing owns; an address an allocation owns is
   * already safe, and one the node no longer has in the cloud is only reported. Returns those
   * newly held.
   */
  hold(found: readonly HeldAddress[]): HeldAddress[] {
    const added: HeldAddress[] = [];
    for (const entry of found) {
      const key = `${KEY_PREFIX}${entry.address}`;
      const owner = this.#pool.pool.ownerOf(entry.address);
      const known = this.#held.get(entry.address);
      if (owner === key && known !== undefined) {
        this.#held.set(entry.address, { ...known, ...entry, source: known.source });
        continue;
      }
      // The pool decides: an address someone else owns is safe (and no longer ours to hold).
      if (owner !== undefined && owner !== key) {
        this.#held.delete(entry.address);
        continue;
      }
      const problem = this.#pool.pool.restore(key, entry.address);
      if (problem !== undefined) {
        if (!this.#unholdable.has(entry.address)) this.#logger.warn({ ...entry, problem }, 'a pod holds an address nativeip cannot hold for it');
        this.#unholdable.set(entry.address, entry);
        // Should the cloud's view of the node show the address later, it goes to this hold, not to a new pod.
        const unpromised = this.#pool.pool.interfaceOf(entry.address) === undefined ? this.#pool.pool.awaitAddress(key, entry.address) : undefined;
        if (unpromised !== undefined) this.#logger.warn({ ...entry, problem: unpromised }, 'an address a pod holds cannot be promised to it should the cloud show it later');
        continue;
      }
      this.#unholdable.delete(entry.address);
      this.#held.set(entry.address, entry);
      added.push(entry);
    }
    if (added.length > 0) this.#logger.warn({ held: added }, `holding ${added.length} addresses live pods use that no allocation records (a lost or damaged checkpoint, or pods another CNI set up before the switch)`);
    return added;
  }

  /** Lets one go back to the pool (cooling down like any released address). */
  release(address: string): void {
    if (!this.#held.delete(address)) return;
    this.#pool.release(`${KEY_PREFIX}${address}`, { used: true, cooldownMs: this.#options.cooldownMs });
  }

  /**
   * Lets go of those neither the kernel nor a live pod in the API (`liveInApi`) shows any more;
   * returns how many. Nothing is let go when the kernel cannot be read.
   */
  async releaseGone(liveInApi: (entry: HeldAddress) => boolean): Promise<number> {
    if (this.#held.size === 0 && this.#unholdable.size === 0) return 0;
    const routes = await this.kernelPodRoutes();
    if (routes === undefined) return 0;
    const inKernel = new Set(routes.map((r) => r.address));
    for (const address of this.unholdable().map((entry) => entry.address)) {
      if (inKernel.has(address)) continue;
      this.#unholdable.delete(address);
      this.#pool.release(`${KEY_PREFIX}${address}`, { used: true, cooldownMs: this.#options.cooldownMs });
    }
    for (const entry of this.list()) {
      if (this.#pool.pool.ownerOf(entry.address) !== `${KEY_PREFIX}${entry.address}`) this.#held.delete(entry.address);
    }
    const gone = this.list().filter((entry) => !inKernel.has(entry.address) && !liveInApi(entry));
    for (const entry of gone) this.release(entry.address);
    if (gone.length > 0) this.#logger.info({ released: gone }, 'held addresses no record shows any more: released');
    return gone.length;
  }
}
