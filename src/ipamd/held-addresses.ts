/**
 * Addresses a live pod holds that no allocation records: found in the host's kernel (a pod's
 * `/32` route over one of our veths) or in the Kubernetes API (`status.podIPs`), after the
 * checkpoint was lost, truncated or older than the kernel. Each is held in the pool under a key of
 * its own, so it is never handed to another pod, never released to the cloud, and its interface
 * is never deleted; it is let go when kubelet deletes the pod (DEL, matched by the host veth the
 * pod's name gives) or once neither record shows it any more.
 */
import type { Logger } from 'pino';
import type { Datapath } from '../cni/datapath/types.js';
import type { PoolManager } from './pool-manager.js';

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

  constructor(options: HeldAddressesOptions) {
    this.#options = options;
    this.#pool = options.pool;
    this.#logger = options.logger;
  }

  /** Holds what the kernel shows our pods using, but for the addresses in `owned` (allocations). */
  async holdFromKernel(owned: ReadonlySet<string>): Promise<void> {
    const routes = await this.#kernelPodRoutes();
    if (routes === undefined) return;
    this.hold(routes.filter((r) => !owned.has(r.address)).map((r) => ({ address: r.address, hostVeth: r.hostVeth, source: 'kernel' as const })));
  }

  /** Holds what the API shows live pods on this node using, but for the addresses in `owned`. */
  holdFromApi(pods: readonly { namespace: string; name: string; podIps: readonly string[] }[], owned: ReadonlySet<string>): void {
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
    const interfaceId = this.#pool.pool.lookup(`${KEY_PREFIX}${entry.address}`)?.interfaceId;
    const routeTable = interfaceId === undefined ? undefined : routeTableOf(interfaceId);
    await this.#options.datapath.delPod({ hostVethName: hostVeth, address: entry.address, ...(routeTable === undefined ? {} : { routeTable }) });
    this.release(entry.address);
    return entry.address;
  }

  async #kernelPodRoutes(): Promise<readonly { address: string; hostVeth: string }[] | undefined> {
    const { datapath, vethPrefix } = this.#options;
    if (datapath.listPodRoutes === undefined) return undefined;
    try {
      return await datapath.listPodRoutes(vethPrefix);
    } catch (error) {
      this.#logger.warn({ err: error }, 'could not read the pods routes from the kernel');
      return undefined;
    }
  }

  /** Every address held this way now. */
  list(): HeldAddress[] {
    return [...this.#held.values()];
  }

  /**
   * Holds each address that the pool has and nothing owns; an address an allocation owns is
   * already safe, and one the node no longer has in the cloud is only reported. Returns those
   * newly held.
   */
  hold(found: readonly HeldAddress[]): HeldAddress[] {
    const added: HeldAddress[] = [];
    for (const entry of found) {
      const known = this.#held.get(entry.address);
      if (known !== undefined) {
        this.#held.set(entry.address, { ...known, ...entry, source: known.source });
        continue;
      }
      const owner = this.#pool.pool.ownerOf(entry.address);
      if (owner !== undefined && owner !== `${KEY_PREFIX}${entry.address}`) continue;
      const problem = this.#pool.pool.restore(`${KEY_PREFIX}${entry.address}`, entry.address);
      if (problem !== undefined) {
        this.#logger.warn({ ...entry, problem }, 'a pod holds an address nativeip cannot hold for it');
        continue;
      }
      this.#held.set(entry.address, entry);
      added.push(entry);
    }
    if (added.length > 0) this.#logger.warn({ held: added }, `holding ${added.length} addresses live pods use that no allocation records (lost or older checkpoint)`);
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
    if (this.#held.size === 0) return 0;
    const routes = await this.#kernelPodRoutes();
    if (routes === undefined) return 0;
    const inKernel = new Set(routes.map((r) => r.address));
    const gone = this.list().filter((entry) => !inKernel.has(entry.address) && !liveInApi(entry));
    for (const entry of gone) this.release(entry.address);
    if (gone.length > 0) this.#logger.info({ released: gone }, 'held addresses no record shows any more: released');
    return gone.length;
  }
}
