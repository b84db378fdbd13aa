/** Builds the warm-target planner's input from the live pool. Pure. */
import type { AddressPool, PoolAddress } from './address-pool.js';
import type { CloudInterface, InterfaceLimits } from '../../../core/types.js';
import type { PlanInput, PlanInterface, WarmTargets } from './warm-targets.js';

export interface PlanContext {
  readonly limits: InterfaceLimits;
  readonly targets: WarmTargets;
  /** Device indexes of every attached interface, including ones the pool does not use. */
  readonly usedDeviceIndexes: readonly number[];
  readonly pending: number;
  readonly nowMs: number;
  /** Most addresses the node can use (its max pods); growth stops there. Unset: no cap. */
  readonly maxPods?: number | undefined;
  /** Prefixes cannot be had right now (fragmented subnet): grow with single addresses instead. */
  readonly prefixesUnavailable?: boolean | undefined;
  /** The cloud's interfaces as last described: their {@link CloudInterface.capacity}, where set. */
  readonly cloudInterfaces?: readonly Pick<CloudInterface, 'id' | 'capacity'>[] | undefined;
}

export function planInputOf(pool: AddressPool, context: PlanContext): PlanInput {
  const capacities = new Map((context.cloudInterfaces ?? []).flatMap((c) => (c.capacity === undefined ? [] : [[c.id, c.capacity] as const])));
  const interfaces = pool.interfaces().map((pif): PlanInterface => {
    const capacity = capacities.get(pif.id);
    const addresses = pool.addressesOf(pif.id);
    let assigned = 0;
    let coolingDown = 0;
    const releasable: string[] = [];
    const busyPrefixes = new Set<string>();
    for (const entry of addresses) {
      const busy = isBusy(entry, context.nowMs);
      if (entry.owner !== undefined) assigned += 1;
      else if (busy) coolingDown += 1;
      else if (entry.prefix === undefined) releasable.push(entry.address);
      if (busy && entry.prefix !== undefined) busyPrefixes.add(entry.prefix);
    }
    const prefixes = pool.prefixesOf(pif.id);
    // Release the highest addresses and prefixes first: assignment takes the lowest, so the two never race.
    releasable.reverse();
    const releasablePrefixes = prefixes.filter((p) => !busyPrefixes.has(p)).reverse();
    return {
      id: pif.id,
      deviceIndex: pif.deviceIndex,
      managed: pif.managed,
      addresses: addresses.length,
      assigned,
      coolingDown,
      releasable,
      ...(prefixes.length > 0 ? { prefixes: prefixes.length, releasablePrefixes } : {}),
      ...(capacity === undefined ? {} : { capacity }),
    };
  });
  return {
    interfaces,
    usedDeviceIndexes: context.usedDeviceIndexes,
    limits: context.limits,
    targets: context.targets,
    pending: context.pending,
    ...(context.maxPods === undefined ? {} : { maxPods: context.maxPods }),
    ...(context.prefixesUnavailable === true ? { prefixesUnavailable: true } : {}),
  };
}

function isBusy(entry: PoolAddress, nowMs: number): boolean {
  return entry.owner !== undefined || (entry.coolingUntilMs !== undefined && entry.coolingUntilMs > nowMs);
}
