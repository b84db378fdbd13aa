/**
 * Warm-pool arithmetic in prefix mode (ENABLE_PREFIX_DELEGATION), with the AWS VPC CNI's
 * semantics (docs/prefix-and-ip-target.md and ipamd's pool checks). Pure.
 *
 * - WARM_IP_TARGET / MINIMUM_IP_TARGET, when either is set, override WARM_PREFIX_TARGET: the
 *   shortfall in addresses is computed as in IP mode and rounded up to whole prefixes
 *   (MINIMUM_IP_TARGET=20 means 2 prefixes). Excess: whole free prefixes beyond what the targets
 *   need, i.e. ⌊(available − WARM_IP_TARGET) / 16⌋ and ⌊(total − MINIMUM_IP_TARGET) / 16⌋.
 * - Otherwise WARM_PREFIX_TARGET (W): the pool is low when fewer than 16 × W addresses are
 *   available (or, with W = 0, when none is); it then adds max(1, W − free prefixes) prefixes.
 *   It is high when more than W prefixes are free; the extra free prefixes are released.
 * - WARM_ENI_TARGET is ignored in prefix mode.
 * - A prefix takes one IPv4 slot of its interface; a new interface is created only when every
 *   slot of every interface is used, with as many prefixes as the shortfall needs.
 * A free prefix is one none of whose 16 addresses is assigned or cooling down; only such a
 * prefix is released. When no prefix can be had (fragmented subnet, `prefixesUnavailable`), the
 * pool grows with single secondary addresses instead: the shortfall in addresses, not rounded.
 * Pods waiting for an address add to the shortfall; growth never passes `maxPods` addresses.
 */
import { ADDRESSES_PER_PREFIX, prefixesFor } from './prefix-cidr.js';
import {
  addressesPerInterface,
  freeDeviceIndex,
  isIpMode,
  maxInterfaces,
  maxPodsRoom,
  roomOn,
  totals,
  type GrowPlan,
  type PlanInput,
  type PlanInterface,
  type ShrinkPlan,
} from './warm-targets.js';

/** Default WARM_PREFIX_TARGET, as the AWS VPC CNI's manifests set it. */
export const DEFAULT_WARM_PREFIX_TARGET = 1;

export interface PrefixShortfall {
  /** Addresses the pool lacks (what single-address fallback assigns). */
  readonly addresses: number;
  /** Prefixes to add. */
  readonly prefixes: number;
}

function warmPrefixTarget(input: PlanInput): number {
  return input.targets.warmPrefixTarget ?? DEFAULT_WARM_PREFIX_TARGET;
}

function freePrefixCount(input: PlanInput): number {
  return input.interfaces.reduce((sum, pif) => sum + (pif.releasablePrefixes?.length ?? 0), 0);
}

/** What the pool lacks under the prefix-mode targets, counting pods waiting now. */
export function prefixShortfall(input: PlanInput): PrefixShortfall {
  const { total, available } = totals(input);
  const demand = input.pending - available;
  if (isIpMode(input.targets)) {
    const warm = (input.targets.warmIpTarget ?? 0) - available;
    const minimum = (input.targets.minimumIpTarget ?? 0) - total;
    const addresses = Math.max(0, warm, minimum, demand);
    return { addresses, prefixes: prefixesFor(addresses) };
  }
  const target = warmPrefixTarget(input);
  const low = available < ADDRESSES_PER_PREFIX * target || (target === 0 && available === 0) || demand > 0;
  if (!low) return { addresses: 0, prefixes: 0 };
  const addresses = Math.max(1, ADDRESSES_PER_PREFIX * target - available, demand);
  const prefixes = Math.max(1, target - freePrefixCount(input), prefixesFor(demand));
  return { addresses, prefixes };
}

/** Addresses beyond the prefix-mode targets, and how many free prefixes must stay. */
export function prefixExcess(input: PlanInput): { addresses: number; keepFreePrefixes: number } {
  if (input.pending > 0) return { addresses: 0, keepFreePrefixes: 0 };
  const { total, available } = totals(input);
  if (isIpMode(input.targets)) {
    const overWarm = available - (input.targets.warmIpTarget ?? 0);
    const overMinimum = total - (input.targets.minimumIpTarget ?? 0);
    return { addresses: Math.max(0, Math.min(overWarm, overMinimum)), keepFreePrefixes: 0 };
  }
  const target = warmPrefixTarget(input);
  return { addresses: Math.max(0, available - ADDRESSES_PER_PREFIX * target), keepFreePrefixes: target };
}

export function planPrefixGrow(input: PlanInput): GrowPlan {
  const short = prefixShortfall(input);
  if (short.addresses === 0 && short.prefixes === 0) return { kind: 'none' };
  const { room: podRoom, stop } = maxPodsRoom(input, short.addresses);
  if (stop !== undefined) return stop;
  const slots = addressesPerInterface(input.limits);
  const fallback = input.prefixesUnavailable === true;
  const addresses = Math.min(short.addresses, podRoom);
  const prefixes = Math.min(short.prefixes, prefixesFor(podRoom));

  const withRoom = [...input.interfaces]
    .sort((a, b) => a.deviceIndex - b.deviceIndex)
    .find((pif) => roomOn(pif, input.limits) > 0);
  if (withRoom !== undefined) {
    const room = roomOn(withRoom, input.limits);
    return fallback
      ? { kind: 'assign', interfaceId: withRoom.id, count: Math.min(addresses, room) }
      : { kind: 'assign-prefixes', interfaceId: withRoom.id, count: Math.min(prefixes, room) };
  }

  const cap = maxInterfaces(input.limits, input.targets);
  if (input.usedDeviceIndexes.length >= cap || slots === 0) {
    const which = cap < input.limits.maxInterfaces ? `MAX_ENI=${cap}` : 'the instance type limit';
    return {
      kind: 'blocked',
      shortfall: short.addresses,
      cause: 'InterfaceLimit',
      reason:
        `the node has ${input.usedDeviceIndexes.length} of ${cap} network interfaces (${which}) ` +
        `and every one uses its ${slots} address slots (a /28 prefix takes one)`,
    };
  }
  const deviceIndex = freeDeviceIndex(input.usedDeviceIndexes);
  return fallback
    ? { kind: 'create', deviceIndex, secondaryCount: Math.min(addresses, slots) }
    : { kind: 'create', deviceIndex, secondaryCount: 0, prefixCount: Math.min(prefixes, slots) };
}

export function planPrefixShrink(input: PlanInput): ShrinkPlan {
  const { addresses: over, keepFreePrefixes } = prefixExcess(input);
  if (input.pending > 0) return { kind: 'none' };
  const freePrefixes = freePrefixCount(input);
  const prefixBudget = Math.max(0, Math.min(freePrefixes - keepFreePrefixes, Math.floor(over / ADDRESSES_PER_PREFIX)));

  const idle = [...input.interfaces]
    .filter((pif) => pif.managed && pif.deviceIndex > 0 && pif.assigned === 0 && pif.coolingDown === 0)
    .sort((a, b) => b.deviceIndex - a.deviceIndex);
  const wholeInterface = idle.find(
    (pif) => pif.addresses === 0 || (pif.addresses <= over && (pif.prefixes ?? 0) <= freePrefixes - keepFreePrefixes),
  );
  if (wholeInterface !== undefined) return { kind: 'delete', interfaceId: wholeInterface.id };

  const singles = pickSource(input.interfaces, (pif) => pif.releasable.length);
  if (singles !== undefined && over > 0) {
    return { kind: 'release', interfaceId: singles.id, addresses: singles.releasable.slice(0, over) };
  }
  const prefixes = pickSource(input.interfaces, (pif) => pif.releasablePrefixes?.length ?? 0);
  if (prefixes !== undefined && prefixBudget > 0) {
    return { kind: 'release-prefixes', interfaceId: prefixes.id, prefixes: (prefixes.releasablePrefixes ?? []).slice(0, prefixBudget) };
  }
  return { kind: 'none' };
}

/** The interface to take free resources from: fewest pods, then the highest device index. */
function pickSource(interfaces: readonly PlanInterface[], count: (pif: PlanInterface) => number): PlanInterface | undefined {
  return [...interfaces]
    .filter((pif) => count(pif) > 0)
    .sort((a, b) => a.assigned - b.assigned || b.deviceIndex - a.deviceIndex)[0];
}
