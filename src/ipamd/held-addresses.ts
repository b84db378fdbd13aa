/**
 * Addresses a live pod holds that no allocation records: found in the host's kernel (a pod's
 * `/32` route over one of our veths) or in the Kubernetes API (`status.podIPs`), after the
 * checkpoint was lost, truncated or older than the kernel. Each is held in the pool under a key of
 * its own, so it is never handed to another pod, never released to the cloud, and its interface
 * is never deleted; it is let go when kubelet deletes the pod (DEL, matched by the host veth the
 * pod's name gives) or once neither record shows it any more.
 */
import type { Logger } from 'pino';
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

export class HeldAddresses {
  readonly #pool: PoolManager;
  readonly #logger: Logger;
  readonly #held = new Map<string, HeldAddress>();

  constructor(options: { pool: PoolManager; logger: Logger }) {
    this.#pool = options.pool;
    this.#logger = options.logger;
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

  /** The held address a DEL for the pod with this host veth concerns. */
  byHostVeth(hostVeth: string): HeldAddress | undefined {
    for (const entry of this.#held.values()) if (entry.hostVeth === hostVeth) return entry;
    return undefined;
  }

  /** The interface a held address is on. */
  interfaceOf(address: string): string | undefined {
    return this.#pool.pool.lookup(`${KEY_PREFIX}${address}`)?.interfaceId;
  }

  /** Lets one go back to the pool (cooling down like any released address). */
  release(address: string, cooldownMs: number): void {
    if (!this.#held.delete(address)) return;
    this.#pool.release(`${KEY_PREFIX}${address}`, { used: true, cooldownMs });
  }

  /**
   * Lets go of those neither the kernel (`kernelAddresses`) nor a live pod in the API
   * (`liveInApi`) shows any more; returns them.
   */
  releaseGone(kernelAddresses: ReadonlySet<string>, liveInApi: (entry: HeldAddress) => boolean, cooldownMs: number): HeldAddress[] {
    const gone = this.list().filter((entry) => !kernelAddresses.has(entry.address) && !liveInApi(entry));
    for (const entry of gone) this.release(entry.address, cooldownMs);
    if (gone.length > 0) this.#logger.info({ released: gone }, 'held addresses no record shows any more: released');
    return gone;
  }
}
