/** Builds the warm-target planner's input from the live pool. Pure. */
import type { AddressPool } from './address-pool.js';
import type { InterfaceLimits } from './types.js';
import type { PlanInput, WarmTargets } from './warm-targets.js';

export interface PlanContext {
  readonly limits: InterfaceLimits;
  readonly targets: WarmTargets;
  /** Device indexes of every attached interface, including ones the pool does not use. */
  readonly usedDeviceIndexes: readonly number[];
  readonly pending: number;
  readonly nowMs: number;
}

export function planInputOf(pool: AddressPool, context: PlanContext): PlanInput {
  const interfaces = pool.interfaces().map((pif) => {
    const addresses = pool.addressesOf(pif.id);
    let assigned = 0;
    let coolingDown = 0;
    const releasable: string[] = [];
    for (const entry of addresses) {
      if (entry.owner !== undefined) assigned += 1;
      else if (entry.coolingUntilMs !== undefined && entry.coolingUntilMs > context.nowMs) coolingDown += 1;
      else releasable.push(entry.address);
    }
    // Release the highest addresses first: assignment takes the lowest, so the two never race.
    releasable.reverse();
    return { id: pif.id, deviceIndex: pif.deviceIndex, managed: pif.managed, addresses: addresses.length, assigned, coolingDown, releasable };
  });
  return {
    interfaces,
    usedDeviceIndexes: context.usedDeviceIndexes,
    limits: context.limits,
    targets: context.targets,
    pending: context.pending,
  };
}
