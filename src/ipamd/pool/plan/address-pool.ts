/**
 * The node's address pool: which cloud interfaces the pool uses, which addresses each holds, which
 * are assigned to which allocation key, and which are cooling down. Pure and synchronous, so each
 * assign and release is atomic on the event loop. Time is passed in.
 */
import { compareIpv4, ipv4ToInt } from '../../../core/ipv4.js';
import { prefixAddresses } from './prefix-cidr.js';
import type { CloudInterface } from '../../../core/types.js';

export interface PoolInterface {
  readonly id: string;
  readonly mac: string;
  readonly deviceIndex: number;
  readonly subnetId: string;
  readonly subnetCidr: string;
  readonly primaryIp: string;
  readonly managed: boolean;
}

export interface PoolAddress {
  readonly address: string;
  readonly interfaceId: string;
  /** Allocation key of the pod holding it, if any. */
  readonly owner: string | undefined;
  /** Epoch ms until which a released address is not handed out again. */
  readonly coolingUntilMs: number | undefined;
  /** The delegated prefix the address belongs to; undefined for a secondary address. */
  readonly prefix: string | undefined;
}

export interface PoolStats {
  /** Addresses on the pool's interfaces (secondary addresses only). */
  readonly total: number;
  readonly assigned: number;
  /** Free, but released too recently to hand out. */
  readonly coolingDown: number;
  /** Free and ready to hand out now. */
  readonly available: number;
}

export interface Assignment {
  readonly address: string;
  readonly interfaceId: string;
}

interface MutableAddress {
  /** The address as a number, computed once: sorting and assignment compare it on every ADD. */
  readonly value: number;
  interfaceId: string;
  owner: string | undefined;
  coolingUntilMs: number | undefined;
  prefix: string | undefined;
}

export class AddressPool {
  readonly #interfaces = new Map<string, PoolInterface>();
  readonly #addresses = new Map<string, MutableAddress>();
  readonly #byOwner = new Map<string, string>();
  /** Delegated prefix → interface id. */
  readonly #prefixes = new Map<string, string>();
  /** Addresses a key holds that the pool does not have yet (see {@link awaitAddress}): address → key. */
  readonly #awaited = new Map<string, string>();

  /**
   * Adds an interface with its secondary addresses and prefixes; an interface already known gains
   * only new ones.
   */
  addInterface(cloud: CloudInterface): void {
    const { secondaryIps, prefixes, ...rest } = cloud;
    if (!this.#interfaces.has(cloud.id)) this.#interfaces.set(cloud.id, { ...rest });
    this.addAddresses(cloud.id, secondaryIps);
    this.addPrefixes(cloud.id, prefixes ?? []);
  }

  /**
   * Adds delegated /28 prefixes to a known interface: each brings its 16 addresses, free. A prefix
   * already in the pool keeps its addresses' owners and cooldowns.
   */
  addPrefixes(interfaceId: string, prefixes: readonly string[]): void {
    if (!this.#interfaces.has(interfaceId)) throw new Error(`interface ${interfaceId} is not in the pool`);
    for (const prefix of prefixes) {
      this.#prefixes.set(prefix, interfaceId);
      for (const address of prefixAddresses(prefix)) {
        const known = this.#addresses.get(address);
        if (known === undefined) {
          this.#addresses.set(address, { value: ipv4ToInt(address), interfaceId, owner: undefined, coolingUntilMs: undefined, prefix });
          this.#settleAwaited(address);
        } else {
          known.interfaceId = interfaceId;
          known.prefix = prefix;
        }
      }
    }
  }

  /** Removes prefixes and their addresses; returns orphaned allocation keys as removeAddresses. */
  removePrefixes(prefixes: readonly string[]): string[] {
    const orphaned: string[] = [];
    for (const prefix of prefixes) {
      if (!this.#prefixes.delete(prefix)) continue;
      orphaned.push(...this.removeAddresses(prefixAddresses(prefix)));
    }
    return orphaned;
  }

  /** The prefixes delegated to an interface, lowest first. */
  prefixesOf(interfaceId: string): string[] {
    return [...this.#prefixes]
      .filter(([, owner]) => owner === interfaceId)
      .map(([prefix]) => prefix)
      .sort((a, b) => compareIpv4(a.split('/')[0] ?? '', b.split('/')[0] ?? ''));
  }

  /** Adds free addresses to a known interface. Addresses already in the pool are left as they are. */
  addAddresses(interfaceId: string, addresses: readonly string[]): void {
    if (!this.#interfaces.has(interfaceId)) throw new Error(`interface ${interfaceId} is not in the pool`);
    for (const address of addresses) {
      const known = this.#addresses.get(address);
      if (known === undefined) {
        this.#addresses.set(address, { value: ipv4ToInt(address), interfaceId, owner: undefined, coolingUntilMs: undefined, prefix: undefined });
        this.#settleAwaited(address);
      } else if (known.interfaceId !== interfaceId) {
        // The cloud moved the address (reassignment); the cloud's view wins.
        known.interfaceId = interfaceId;
      }
    }
  }

  /**
   * Removes addresses from the pool. Returns the allocation keys that held any of them: those pods
   * lost their address in the cloud and the caller must say so loudly.
   */
  removeAddresses(addresses: readonly string[]): string[] {
    const orphaned: string[] = [];
    for (const address of addresses) {
      const entry = this.#addresses.get(address);
      if (entry === undefined) continue;
      if (entry.owner !== undefined) {
        orphaned.push(entry.owner);
        this.#byOwner.delete(entry.owner);
      }
      this.#addresses.delete(address);
    }
    return orphaned;
  }

  /** Removes an interface and its addresses; returns orphaned allocation keys as removeAddresses. */
  removeInterface(interfaceId: string): string[] {
    const orphaned = this.removeAddresses(this.addressesOf(interfaceId).map((a) => a.address));
    for (const prefix of this.prefixesOf(interfaceId)) this.#prefixes.delete(prefix);
    this.#interfaces.delete(interfaceId);
    return orphaned;
  }

  hasInterface(interfaceId: string): boolean {
    return this.#interfaces.has(interfaceId);
  }

  interfaces(): PoolInterface[] {
    return [...this.#interfaces.values()].sort((a, b) => a.deviceIndex - b.deviceIndex);
  }

  interfaceOf(address: string): PoolInterface | undefined {
    const entry = this.#addresses.get(address);
    return entry === undefined ? undefined : this.#interfaces.get(entry.interfaceId);
  }

  addressesOf(interfaceId: string): PoolAddress[] {
    const out: Array<{ value: number; entry: PoolAddress }> = [];
    for (const [address, entry] of this.#addresses) {
      if (entry.interfaceId === interfaceId) {
        out.push({ value: entry.value, entry: { address, interfaceId: entry.interfaceId, owner: entry.owner, coolingUntilMs: entry.coolingUntilMs, prefix: entry.prefix } });
      }
    }
    return out.sort((a, b) => a.value - b.value).map((x) => x.entry);
  }

  /**
   * Hands a free, cooled-down address to `key`. Idempotent: a key that already holds an address
   * gets the same one. Deterministic: lowest device index first (so secondary interfaces empty
   * first and can be freed), then lowest address. Undefined when nothing is available.
   */
  assign(key: string, nowMs: number): Assignment | undefined {
    const held = this.lookup(key);
    if (held !== undefined) return held;
    // One pass without allocating: this runs on every ADD, over every address of the node.
    let best: { address: string; interfaceId: string; deviceIndex: number; value: number } | undefined;
    for (const [address, entry] of this.#addresses) {
      if (entry.owner !== undefined || isCooling(entry.coolingUntilMs, nowMs)) continue;
      const deviceIndex = this.#interfaces.get(entry.interfaceId)?.deviceIndex;
      if (deviceIndex === undefined || (best !== undefined && deviceIndex > best.deviceIndex)) continue;
      const { value } = entry;
      if (best === undefined || deviceIndex < best.deviceIndex || value < best.value) {
        best = { address, interfaceId: entry.interfaceId, deviceIndex, value };
      }
    }
    if (best === undefined) return undefined;
    this.#claim(key, best.address);
    return { address: best.address, interfaceId: best.interfaceId };
  }

  /**
   * Gives `key` a specific address (restoring a checkpoint). Fails, returning a reason, when the
   * address is not in the pool or is held by another key.
   */
  restore(key: string, address: string): string | undefined {
    const entry = this.#addresses.get(address);
    if (entry === undefined) return `address ${address} is not on any of the node's interfaces`;
    if (entry.owner !== undefined && entry.owner !== key) return `address ${address} is already held by ${entry.owner}`;
    const held = this.#byOwner.get(key);
    if (held !== undefined && held !== address) return `${key} already holds ${held}`;
    this.#claim(key, address);
    return undefined;
  }

  /**
   * A live pod (`key`) uses `address`, which the pool does not have (the cloud's view of the node
   * lacks it, or lags): the moment the address comes into the pool it goes to `key`, never free,
   * so it is never handed to another pod. Returns a reason when it cannot be promised: the pool
   * has the address already (use restore), another key awaits it, or `key` holds or awaits another.
   * Released by {@link release} of `key`.
   */
  awaitAddress(key: string, address: string): string | undefined {
    if (this.#addresses.has(address)) return `address ${address} is in the pool already`;
    const waiting = this.#awaited.get(address);
    if (waiting !== undefined && waiting !== key) return `address ${address} is awaited by ${waiting} already`;
    const held = this.#byOwner.get(key) ?? this.awaitedBy(key);
    if (held !== undefined && held !== address) return `${key} already holds ${held}`;
    this.#awaited.set(address, key);
    return undefined;
  }

  /** The address `key` awaits (see awaitAddress); undefined when none. */
  awaitedBy(key: string): string | undefined {
    for (const [address, waiting] of this.#awaited) if (waiting === key) return address;
    return undefined;
  }

  /** Marks an address as cooling until `untilMs` (restoring a checkpoint). Unknown addresses are ignored. */
  restoreCooldown(address: string, untilMs: number): void {
    const entry = this.#addresses.get(address);
    if (entry !== undefined && entry.owner === undefined) entry.coolingUntilMs = untilMs;
  }

  /**
   * Frees the address held by `key`; it cools down for `cooldownMs` before it is handed out again
   * (0: at once, for an address a pod never used). Idempotent: undefined when `key` holds nothing.
   * An address `key` awaits is no longer awaited.
   */
  release(key: string, nowMs: number, cooldownMs: number): Assignment | undefined {
    const awaited = this.awaitedBy(key);
    if (awaited !== undefined) this.#awaited.delete(awaited);
    const address = this.#byOwner.get(key);
    if (address === undefined) return undefined;
    this.#byOwner.delete(key);
    const entry = this.#addresses.get(address);
    if (entry === undefined) return undefined;
    entry.owner = undefined;
    entry.coolingUntilMs = cooldownMs > 0 ? nowMs + cooldownMs : undefined;
    return { address, interfaceId: entry.interfaceId };
  }

  /** Who holds `address` now; undefined when nobody does or the pool does not have it. */
  ownerOf(address: string): string | undefined {
    return this.#addresses.get(address)?.owner;
  }

  /** True while `address` rests after a release. */
  isCooling(address: string, nowMs: number): boolean {
    return isCooling(this.#addresses.get(address)?.coolingUntilMs, nowMs);
  }

  lookup(key: string): Assignment | undefined {
    const address = this.#byOwner.get(key);
    if (address === undefined) return undefined;
    const entry = this.#addresses.get(address);
    return entry === undefined ? undefined : { address, interfaceId: entry.interfaceId };
  }

  /** Allocation keys with their addresses. */
  owners(): Array<{ key: string } & Assignment> {
    return [...this.#byOwner].map(([key, address]) => ({
      key,
      address,
      interfaceId: this.#addresses.get(address)?.interfaceId ?? '',
    }));
  }

  /** Addresses whose cooldown has not ended at `nowMs`, with its end. */
  cooldowns(nowMs: number): Array<{ address: string; untilMs: number }> {
    const out: Array<{ address: string; untilMs: number }> = [];
    for (const [address, entry] of this.#addresses) {
      if (entry.owner === undefined && entry.coolingUntilMs !== undefined && entry.coolingUntilMs > nowMs) {
        out.push({ address, untilMs: entry.coolingUntilMs });
      }
    }
    return out;
  }

  stats(nowMs: number): PoolStats {
    let assigned = 0;
    let coolingDown = 0;
    for (const entry of this.#addresses.values()) {
      if (entry.owner !== undefined) assigned += 1;
      else if (isCooling(entry.coolingUntilMs, nowMs)) coolingDown += 1;
    }
    const total = this.#addresses.size;
    return { total, assigned, coolingDown, available: total - assigned - coolingDown };
  }

  /** A new address someone awaits goes to them. */
  #settleAwaited(address: string): void {
    const key = this.#awaited.get(address);
    if (key === undefined) return;
    this.#awaited.delete(address);
    if (!this.#byOwner.has(key)) this.#claim(key, address);
  }

  #claim(key: string, address: string): void {
    const entry = this.#addresses.get(address);
    if (entry === undefined) throw new Error(`address ${address} is not in the pool`);
    entry.owner = key;
    entry.coolingUntilMs = undefined;
    this.#byOwner.set(key, address);
  }
}

/** What an address is doing now: held by a pod, cooling after a release, or free to hand out. Pure. */
export function addressState(address: Pick<PoolAddress, 'owner' | 'coolingUntilMs'>, nowMs: number): 'assigned' | 'cooling' | 'free' {
  if (address.owner !== undefined) return 'assigned';
  return isCooling(address.coolingUntilMs, nowMs) ? 'cooling' : 'free';
}

function isCooling(untilMs: number | undefined, nowMs: number): boolean {
  return untilMs !== undefined && untilMs > nowMs;
}
