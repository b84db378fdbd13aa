/**
 * The machine types a cloud's corpus draws from, with the pods a node of each runs: from the
 * cloud's built-in limits (CloudPlugin.instanceLimits) and the max-pods rule the daemon applies,
 * less the host-network pods. Found through the registries; names no cloud.
 */
import { CLOUD_PLUGINS } from '../../ipamd/clouds.js';
import { computeMaxPods, HOST_NETWORK_PODS } from '../../ipamd/pool/plan/max-pods.js';
import type { InterfaceLimits } from '../../core/types.js';
import { emulatorSimulation } from '../sim-cloud.js';
import type { CorpusMachine } from './families.js';

export interface CloudCorpusMachines {
  readonly machines: readonly CorpusMachine[];
  readonly limits: ReadonlyMap<string, InterfaceLimits>;
  readonly mutatingCallsPerInterface: number;
}

export async function corpusMachines(cloud: string): Promise<CloudCorpusMachines> {
  const plugin = CLOUD_PLUGINS.find((p) => p.name === cloud);
  const simulation = await emulatorSimulation(cloud);
  const limits = new Map<string, InterfaceLimits>();
  const machines = simulation.corpusMachineTypes.map((machineType): CorpusMachine => {
    const known = plugin?.instanceLimits?.(machineType);
    if (known === undefined) throw new Error(`cloud ${cloud} has no built-in limits for ${machineType}: its corpus cannot be drawn`);
    limits.set(machineType, known);
    const maxPods = computeMaxPods({ ...known, prefixDelegation: false }).maxPods;
    return { machineType, capacity: maxPods - HOST_NETWORK_PODS };
  });
  return { machines, limits, mutatingCallsPerInterface: simulation.mutatingCallsPerInterface };
}
