/**
 * Grow and shrink plans for nativeip's adaptive default (see adaptive-target.ts for the band).
 * Pure: the pool manager measures arrivals, latency and how long excess has lasted, and passes
 * the results in `targets.adaptive`.
 *
 * - Grow when free addresses fall below `low` (or pods wait): one assign tops the pool up to
 *   `high`, on the lowest interface with room. When no attached interface has room, one create
 *   attaches an interface already holding what is short.
 * - Shrink only when allowed (the excess has lasted the hold time): release the free addresses
 *   above `high` in one call, from the interface with the fewest pods, highest device first.
 *   Interfaces are kept attached while empty; one is deleted only when the pool manager lists it
 *   as idle for long enough and the band holds without it.
 */
import { type GrowPlan, type PlanInput, type ShrinkPlan, addressesPerInterface, interfacesFullReason, maxInterfaces, maxPodsRoom, roomOn, totals, freeDeviceIndex } from './warm-targets.js';

export interface AdaptiveTargets {
  readonly low: number;
  /** Free addresses plus room on attached interfaces below this: attach the next interface now. */
  readonly lowForAttach: number;
  readonly high: number;
  /** True once free addresses have stayed above `high` for the hold time. */
  readonly releaseExcess: boolean;
  /** Interfaces with no address and no pod for long enough to be given back. */
  readonly deletableInterfaceIds: readonly string[];
}

export function adaptiveShortfall(input: PlanInput, band: AdaptiveTargets): number {
  const { available } = totals(input);
  const waiting = input.pending - available;
  const belowLow = available < band.low ? band.high - available : 0;
  return Math.max(0, belowLow, waiting);
}

/** Addresses the attached interfaces can still take. */
function roomOnAttached(input: PlanInput): number {
  return input.interfaces.reduce((sum, pif) => sum + roomOn(pif, input.limits), 0);
}

export function planAdaptiveGrow(input: PlanInput, band: AdaptiveTargets): GrowPlan {
  const needed = adaptiveShortfall(input, band);
  if (needed === 0) return planEarlyAttach(input, band);
  const { room: podRoom, stop } = maxPodsRoom(input, needed);
  if (stop !== undefined) return stop;
  const short = Math.min(needed, podRoom);
  const perInterface = addressesPerInterface(input.limits);
  const withRoom = [...input.interfaces].sort((a, b) => a.deviceIndex - b.deviceIndex).find((pif) => roomOn(pif, input.limits) > 0);
  if (withRoom !== undefined) {
    return { kind: 'assign', interfaceId: withRoom.id, count: Math.min(short, roomOn(withRoom, input.limits)) };
  }
  const cap = maxInterfaces(input.limits, input.targets);
  if (input.usedDeviceIndexes.length >= cap || perInterface === 0) {
    return { kind: 'blocked', shortfall: short, reason: interfacesFullReason(input, cap) };
  }
  return { kind: 'create', deviceIndex: freeDeviceIndex(input.usedDeviceIndexes), secondaryCount: Math.min(short, perInterface) };
}

/**
 * The attached interfaces are full and arrivals are fast enough that the pool would run dry
 * while a new interface attaches: attach it now, holding the chunk the band asks for.
 */
function planEarlyAttach(input: PlanInput, band: AdaptiveTargets): GrowPlan {
  const { available } = totals(input);
  // Only once no attached interface has room: a create holds the cloud queue for seconds, and
  // assigns on attached interfaces must not wait behind it.
  if (roomOnAttached(input) > 0 || available >= band.lowForAttach) return { kind: 'none' };
  const perInterface = addressesPerInterface(input.limits);
  const cap = maxInterfaces(input.limits, input.targets);
  if (input.usedDeviceIndexes.length >= cap || perInterface === 0) return { kind: 'none' };
  const { room: podRoom } = maxPodsRoom(input, 1);
  if (podRoom <= 0) return { kind: 'none' };
  const count = Math.min(perInterface, podRoom, Math.max(1, band.high - available));
  return { kind: 'create', deviceIndex: freeDeviceIndex(input.usedDeviceIndexes), secondaryCount: count };
}

export function planAdaptiveShrink(input: PlanInput, band: AdaptiveTargets): ShrinkPlan {
  if (input.pending > 0) return { kind: 'none' };
  const { available } = totals(input);
  const deletable = new Set(band.deletableInterfaceIds);
  const idle = input.interfaces.find((pif) => deletable.has(pif.id) && pif.managed && pif.deviceIndex > 0 && pif.addresses === 0 && pif.assigned === 0);
  if (idle !== undefined) return { kind: 'delete', interfaceId: idle.id };
  const over = available - band.high;
  if (!band.releaseExcess || over <= 0) return { kind: 'none' };
  // releaseExcess is only set once free addresses stayed above `releaseAbove` for the hold time.
  const source = [...input.interfaces]
    .filter((pif) => pif.releasable.length > 0)
    .sort((a, b) => a.assigned - b.assigned || b.deviceIndex - a.deviceIndex)[0];
  if (source === undefined) return { kind: 'none' };
  return { kind: 'release', interfaceId: source.id, addresses: source.releasable.slice(0, over) };
}
