/**
 * Warm-pool arithmetic with the AWS VPC CNI's semantics. Pure: plain data in, a plan out.
 *
 * Two modes, as in the AWS VPC CNI:
 * - ENI mode (neither WARM_IP_TARGET nor MINIMUM_IP_TARGET set): keep `warmEniTarget` whole
 *   interfaces' worth of addresses available. Grow fills an interface with room completely, else
 *   attaches a new, full one. Shrink deletes an idle interface we created once the pool holds
 *   more than that without it. Single addresses are never released.
 * - IP mode (either set; WARM_ENI_TARGET is then ignored): keep `warmIpTarget` addresses
 *   available and at least `minimumIpTarget` in total. Grow assigns exactly the shortfall, in one
 *   call. Shrink deletes a whole idle interface when the targets hold without it, else releases
 *   the excess free addresses, from the interface with the fewest pods first.
 * In both modes, pods waiting for an address (`pending`) add to the shortfall, and addresses
 * cooling down count toward the total but not as available, and are never released.
 */
import type { AdaptiveTargets } from './adaptive-plan.js';
import { ADDRESSES_PER_PREFIX } from './prefix-cidr.js';
import type { InterfaceLimits } from '../../../core/types.js';

export interface WarmTargets {
  readonly warmEniTarget: number;
  readonly warmIpTarget?: number | undefined;
  readonly minimumIpTarget?: number | undefined;
  /** Cap on attached interfaces, below the instance limit (MAX_ENI). */
  readonly maxEni?: number | undefined;
  /** ENABLE_PREFIX_DELEGATION: grow with /28 prefixes (planned by prefix-targets.ts). */
  readonly prefixDelegation?: boolean | undefined;
  /** WARM_PREFIX_TARGET: free prefixes to keep, in prefix mode when no IP target is set. */
  readonly warmPrefixTarget?: number | undefined;
  /** nativeip's adaptive default (no AWS knob set): the band of the moment (adaptive-plan.ts). */
  readonly adaptive?: AdaptiveTargets | undefined;
}

export interface PlanInterface {
  readonly id: string;
  readonly deviceIndex: number;
  /** Created by us: may be deleted. The primary interface never is. */
  readonly managed: boolean;
  /** Secondary addresses on it. */
  readonly addresses: number;
  readonly assigned: number;
  readonly coolingDown: number;
  /** Free, cooled-down secondary addresses (not in a prefix), in the order they should be released. */
  readonly releasable: readonly string[];
  /** Delegated prefixes on it (each takes one IPv4 slot); `addresses` includes their 16 each. */
  readonly prefixes?: number;
  /** Prefixes none of whose addresses is assigned or cooling, in the order they should be released. */
  readonly releasablePrefixes?: readonly string[];
  /**
   * Address slots this interface offers the pool in total, when fewer than the limits give (slots
   * taken by others: {@link CloudInterface.capacity}). Unset: {@link addressesPerInterface}.
   */
  readonly capacity?: number;
}

export interface PlanInput {
  /** The pool's interfaces. */
  readonly interfaces: readonly PlanInterface[];
  /** Device indexes of every attached interface, the pool's and any other. */
  readonly usedDeviceIndexes: readonly number[];
  readonly limits: InterfaceLimits;
  readonly targets: WarmTargets;
  /** ADDs waiting for an address right now. */
  readonly pending: number;
  /** Most addresses the node can use (its max pods): the pool never grows past it. Unset: no cap. */
  readonly maxPods?: number;
  /** Prefix mode only: no prefix can be had now (fragmented subnet); grow with single addresses. */
  readonly prefixesUnavailable?: boolean;
}

export type GrowPlan =
  | { readonly kind: 'none' }
  | {
      readonly kind: 'assign';
      readonly interfaceId: string;
      readonly count: number;
      /** Assigns to other interfaces made in the same round, concurrently (each within its interface's room). */
      readonly alongside?: readonly { readonly interfaceId: string; readonly count: number }[];
    }
  | { readonly kind: 'assign-prefixes'; readonly interfaceId: string; readonly count: number }
  | { readonly kind: 'create'; readonly deviceIndex: number; readonly secondaryCount: number; readonly prefixCount?: number }
  | { readonly kind: 'blocked'; readonly shortfall: number; readonly reason: string; readonly cause: 'MaxPods' | 'InterfaceLimit' };

export type ShrinkPlan =
  | { readonly kind: 'none' }
  | { readonly kind: 'release'; readonly interfaceId: string; readonly addresses: readonly string[] }
  | { readonly kind: 'release-prefixes'; readonly interfaceId: string; readonly prefixes: readonly string[] }
  | { readonly kind: 'delete'; readonly interfaceId: string };

/** Secondary addresses one interface can hold: its limit less its own primary address. */
export function addressesPerInterface(limits: InterfaceLimits): number {
  return Math.max(0, limits.ipv4PerInterface - 1);
}

/** Address slots the pool may use on this interface in total: the limits, less what others took. */
export function slotsOf(pif: PlanInterface, limits: InterfaceLimits): number {
  const perInterface = addressesPerInterface(limits);
  return pif.capacity === undefined ? perInterface : Math.max(0, Math.min(perInterface, pif.capacity));
}

/** Slots still free on the interface. */
export function roomOn(pif: PlanInterface, limits: InterfaceLimits): number {
  return Math.max(0, slotsOf(pif, limits) - slotsUsed(pif));
}

export function isIpMode(targets: WarmTargets): boolean {
  return targets.warmIpTarget !== undefined || targets.minimumIpTarget !== undefined;
}

export function maxInterfaces(limits: InterfaceLimits, targets: WarmTargets): number {
  return Math.min(limits.maxInterfaces, targets.maxEni ?? Number.POSITIVE_INFINITY);
}

export interface Totals {
  readonly total: number;
  readonly available: number;
}

export function totals(input: PlanInput): Totals {
  let total = 0;
  let available = 0;
  for (const pif of input.interfaces) {
    total += pif.addresses;
    available += pif.addresses - pif.assigned - pif.coolingDown;
  }
  return { total, available };
}

/** Addresses the pool lacks under the targets, counting pods waiting now. */
export function shortfall(input: PlanInput): number {
  const { total, available } = totals(input);
  const demand = input.pending - available;
  if (isIpMode(input.targets)) {
    const warm = (input.targets.warmIpTarget ?? 0) - available;
    const minimum = (input.targets.minimumIpTarget ?? 0) - total;
    return Math.max(0, warm, minimum, demand);
  }
  const perInterface = addressesPerInterface(input.limits);
  return Math.max(0, perInterface * input.targets.warmEniTarget - available, demand);
}

/** Addresses the pool holds beyond the IP-mode targets (0 in ENI mode, which frees whole interfaces). */
export function excess(input: PlanInput): number {
  if (!isIpMode(input.targets) || input.pending > 0) return 0;
  const { total, available } = totals(input);
  const overWarm = available - (input.targets.warmIpTarget ?? 0);
  const overMinimum = total - (input.targets.minimumIpTarget ?? 0);
  return Math.max(0, Math.min(overWarm, overMinimum));
}

/**
 * Addresses the pool may still add under the max-pods cap (Infinity without one), and the plan
 * when it may add none: blocked when pods wait for an address, else nothing to do.
 */
export function maxPodsRoom(input: PlanInput, short: number): { room: number; stop?: GrowPlan } {
  if (input.maxPods === undefined) return { room: Number.POSITIVE_INFINITY };
  const room = input.maxPods - totals(input).total;
  if (room > 0) return { room };
  const waiting = input.pending - totals(input).available;
  if (waiting <= 0) return { room: 0, stop: { kind: 'none' } };
  return {
    room: 0,
    stop: {
      kind: 'blocked',
      shortfall: short,
      cause: 'MaxPods',
      reason: `the node holds ${totals(input).total} addresses, as many as its max pods (${input.maxPods}) can use`,
    },
  };
}

export function planGrow(input: PlanInput): GrowPlan {
  const needed = shortfall(input);
  if (needed === 0) return { kind: 'none' };
  const { room: podRoom, stop } = maxPodsRoom(input, needed);
  if (stop !== undefined) return stop;
  const short = Math.min(needed, podRoom);
  const perInterface = addressesPerInterface(input.limits);
  const ipMode = isIpMode(input.targets);

  const withRoom = [...input.interfaces]
    .sort((a, b) => a.deviceIndex - b.deviceIndex)
    .find((pif) => roomOn(pif, input.limits) > 0);
  if (withRoom !== undefined) {
    const room = roomOn(withRoom, input.limits);
    return { kind: 'assign', interfaceId: withRoom.id, count: Math.min(podRoom, ipMode ? Math.min(short, room) : room) };
  }

  const cap = maxInterfaces(input.limits, input.targets);
  const deviceIndex = freeDeviceIndex(input.usedDeviceIndexes);
  if (input.usedDeviceIndexes.length >= cap || perInterface === 0) {
    return { kind: 'blocked', shortfall: short, cause: 'InterfaceLimit', reason: interfacesFullReason(input, cap) };
  }
  return { kind: 'create', deviceIndex, secondaryCount: Math.min(podRoom, ipMode ? Math.min(short, perInterface) : perInterface) };
}

/** Why no interface can take more addresses and none can be attached; names slots others hold. */
export function interfacesFullReason(input: PlanInput, cap: number): string {
  const which = cap < input.limits.maxInterfaces ? `MAX_ENI=${cap}` : 'the instance type limit';
  const perInterface = addressesPerInterface(input.limits);
  const taken = input.interfaces.reduce((sum, pif) => sum + perInterface - slotsOf(pif, input.limits), 0);
  return (
    `the node has ${input.usedDeviceIndexes.length} of ${cap} network interfaces (${which}) ` +
    `and every one holds its ${perInterface} secondary addresses` +
    (taken > 0 ? ` (${taken} of those slots hold addresses nativeip does not manage)` : '')
  );
}

/** IPv4 slots an interface uses: one per secondary address, one per delegated prefix. */
export function slotsUsed(pif: PlanInterface): number {
  const prefixes = pif.prefixes ?? 0;
  return pif.addresses - prefixes * ADDRESSES_PER_PREFIX + prefixes;
}

export function planShrink(input: PlanInput): ShrinkPlan {
  if (input.pending > 0) return { kind: 'none' };
  const { available } = totals(input);
  const idle = [...input.interfaces]
    .filter((pif) => pif.managed && pif.deviceIndex > 0 && pif.assigned === 0 && pif.coolingDown === 0)
    .sort((a, b) => b.deviceIndex - a.deviceIndex);

  if (!isIpMode(input.targets)) {
    const keep = addressesPerInterface(input.limits) * input.targets.warmEniTarget;
    const deletable = idle.find((pif) => available - pif.addresses >= keep);
    return deletable === undefined ? { kind: 'none' } : { kind: 'delete', interfaceId: deletable.id };
  }

  const over = excess(input);
  if (over === 0) return { kind: 'none' };
  const wholeInterface = idle.find((pif) => pif.addresses <= over);
  if (wholeInterface !== undefined) return { kind: 'delete', interfaceId: wholeInterface.id };

  const source = [...input.interfaces]
    .filter((pif) => pif.releasable.length > 0)
    .sort((a, b) => a.assigned - b.assigned || b.deviceIndex - a.deviceIndex)[0];
  if (source === undefined) return { kind: 'none' };
  return { kind: 'release', interfaceId: source.id, addresses: source.releasable.slice(0, over) };
}

/** Lowest device index not in use (0 is the primary interface's, always taken). */
export function freeDeviceIndex(used: readonly number[]): number {
  const taken = new Set(used);
  let index = 1;
  while (taken.has(index)) index += 1;
  return index;
}
