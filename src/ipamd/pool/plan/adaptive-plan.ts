/**
 * Grow and shrink plans for nativeip's adaptive default (see adaptive-target.ts for the band).
 * Pure: the pool manager measures arrivals, latency and how long excess has lasted, and passes
 * the results in `targets.adaptive`.
 *
 * - Grow when free addresses fall below `low` (during a burst: below `high`, while an attached
 *   interface has room), or pods wait: one assign tops the pool up to `high` — during a burst,
 *   to twice that — on the highest interface that takes it in one call, else the one with most
 *   room. When no attached interface has room, one create attaches an interface already holding
 *   what is short.
 * - Shrink only when allowed (the excess has lasted the hold time): release the free addresses
 *   above `high`, one call per interface, from the interface with the fewest pods, highest
 *   device first. Interfaces are kept attached while empty; one is deleted only when the pool
 *   manager lists it as idle for long enough.
 */
import { type GrowPlan, type PlanInput, type ShrinkPlan, addressesPerInterface, interfacesFullReason, maxInterfaces, maxPodsRoom, roomOn, totals, freeDeviceIndex } from './warm-targets.js';

export interface AdaptiveTargets {
  readonly low: number;
  readonly high: number;
  /** Create the next interface ahead when free addresses plus the attached interfaces' room fall below this. Unset: never ahead. */
  readonly interfaceLow?: number;
  /** Pods are arriving in a burst (see WarmBand.burst): grow early and in bigger steps. */
  readonly burst?: boolean;
  /** True once free addresses have stayed above `releaseAbove` for the hold time, until back at `high`. */
  readonly releaseExcess: boolean;
  /** Interfaces with no address and no pod for long enough to be given back. */
  readonly deletableInterfaceIds: readonly string[];
}

export function adaptiveShortfall(input: PlanInput, band: AdaptiveTargets): number {
  const { available } = totals(input);
  const waiting = input.pending - available;
  // During a burst, waiting until low is too late when arrivals speed up; an assign is cheap.
  const burstRefill = band.burst === true && available < band.high && roomOnAttached(input) > 0;
  const belowLow = available < band.low || burstRefill ? band.high - available : 0;
  return Math.max(0, belowLow, waiting);
}

/** Addresses the attached interfaces can still take. */
function roomOnAttached(input: PlanInput): number {
  return input.interfaces.reduce((sum, pif) => sum + roomOn(pif, input.limits), 0);
}

export function planAdaptiveGrow(input: PlanInput, band: AdaptiveTargets): GrowPlan {
  const needed = adaptiveShortfall(input, band);
  if (needed === 0) return planInterfaceAhead(input, band);
  const { room: podRoom, stop } = maxPodsRoom(input, needed);
  if (stop !== undefined) return stop;
  const short = Math.min(needed, podRoom);
  const target = assignTarget(input, short);
  if (target !== undefined) {
    const room = roomOn(target, input.limits);
    return { kind: 'assign', interfaceId: target.id, count: Math.min(adaptiveWanted(short, band), room, podRoom) };
  }
  const perInterface = addressesPerInterface(input.limits);
  const cap = maxInterfaces(input.limits, input.targets);
  if (input.usedDeviceIndexes.length >= cap || perInterface === 0) {
    return { kind: 'blocked', shortfall: short, cause: 'InterfaceLimit', reason: interfacesFullReason(input, cap) };
  }
  return { kind: 'create', deviceIndex: freeDeviceIndex(input.usedDeviceIndexes), secondaryCount: Math.min(short, perInterface) };
}

/**
 * A burst runs short of calls, not addresses: one round takes twice the band (an AWS ENI's
 * whole room, an Azure NIC's batch); the excess goes back in one call after the burst.
 */
function adaptiveWanted(short: number, band: AdaptiveTargets): number {
  return band.burst === true ? Math.max(short, 2 * band.high) : short;
}

/**
 * One grow round: the plan, and when its assign falls short of what is wanted because the chosen
 * interface lacks room, assigns to the other interfaces with room (highest first) in the same
 * round. EC2 takes concurrent assigns on different ENIs, so the round costs one call's latency.
 */
export function planAdaptiveRound(input: PlanInput, band: AdaptiveTargets): GrowPlan {
  const plan = planAdaptiveGrow(input, band);
  if (plan.kind !== 'assign') return plan;
  const needed = adaptiveShortfall(input, band);
  let left = Math.min(adaptiveWanted(needed, band), maxPodsRoom(input, needed).room) - plan.count;
  const alongside: { interfaceId: string; count: number }[] = [];
  for (const pif of highestFirst(input.interfaces)) {
    if (left <= 0) break;
    const room = roomOn(pif, input.limits);
    if (pif.id === plan.interfaceId || room === 0) continue;
    const count = Math.min(left, room);
    alongside.push({ interfaceId: pif.id, count });
    left -= count;
  }
  return alongside.length === 0 ? plan : { ...plan, alongside };
}

/**
 * The next interface, attached before the attached ones run out: when what they can still give
 * (free addresses and their room) would not cover the arrivals expected while an interface is
 * created and attached, create one now, with no address of its own beyond its primary (it idles
 * one address, and the next grow is a fast assign on it).
 */
function planInterfaceAhead(input: PlanInput, band: AdaptiveTargets): GrowPlan {
  if (band.interfaceLow === undefined) return { kind: 'none' };
  const { available } = totals(input);
  if (available + roomOnAttached(input) >= band.interfaceLow) return { kind: 'none' };
  const { room: podRoom } = maxPodsRoom(input, band.interfaceLow);
  // Ahead of need only while the node can still use what another interface holds.
  if (podRoom <= roomOnAttached(input)) return { kind: 'none' };
  const cap = maxInterfaces(input.limits, input.targets);
  if (input.usedDeviceIndexes.length >= cap || addressesPerInterface(input.limits) === 0) return { kind: 'none' };
  return { kind: 'create', deviceIndex: freeDeviceIndex(input.usedDeviceIndexes), secondaryCount: 0 };
}

/** The interfaces, highest device first: where grows land, so a burst's addresses gather there. */
function highestFirst<T extends { readonly deviceIndex: number }>(interfaces: readonly T[]): T[] {
  return [...interfaces].sort((a, b) => b.deviceIndex - a.deviceIndex);
}

/**
 * Where an assign goes: the highest interface that can take the whole shortfall in one call,
 * else the one with the most room. Pods take the lowest addresses, so growth kept high gathers
 * a burst's addresses where one release per interface takes them back.
 */
function assignTarget(input: PlanInput, short: number): PlanInput['interfaces'][number] | undefined {
  const room = (pif: PlanInput['interfaces'][number]) => roomOn(pif, input.limits);
  const byDevice = highestFirst(input.interfaces);
  const whole = byDevice.find((pif) => room(pif) >= short);
  if (whole !== undefined) return whole;
  const most = byDevice.reduce<PlanInput['interfaces'][number] | undefined>((best, pif) => (best === undefined || room(pif) > room(best) ? pif : best), undefined);
  return most !== undefined && room(most) > 0 ? most : undefined;
}

export function planAdaptiveShrink(input: PlanInput, band: AdaptiveTargets): ShrinkPlan {
  if (input.pending > 0) return { kind: 'none' };
  const { available } = totals(input);
  const deletable = new Set(band.deletableInterfaceIds);
  const idle = input.interfaces.find((pif) => deletable.has(pif.id) && pif.managed && pif.deviceIndex > 0 && pif.addresses === 0 && pif.assigned === 0);
  if (idle !== undefined) return { kind: 'delete', interfaceId: idle.id };
  const over = available - band.high;
  if (!band.releaseExcess || over <= 0) return { kind: 'none' };
  const source = [...input.interfaces]
    .filter((pif) => pif.releasable.length > 0)
    .sort((a, b) => a.assigned - b.assigned || b.deviceIndex - a.deviceIndex)[0];
  if (source === undefined) return { kind: 'none' };
  return { kind: 'release', interfaceId: source.id, addresses: source.releasable.slice(0, over) };
}
