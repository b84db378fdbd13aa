/**
 * The real AzureProvider on a VM of an in-process ARM subscription, for the simulators
 * (src/core/simulation.ts): built from the same settings as the daemon's (the batch size), with
 * the subscription behind its ArmApi and AzureImdsApi seams (in-process-arm.ts). Nothing of the
 * provider is re-implemented: batching, per-NIC serialisation, ETag retries, the operation
 * journal, write pacing and discovery are the daemon's own code.
 */
import type { SimulatedMachine, SimulatedProviderFactory } from '../../core/simulation.js';
import { AzureProvider } from './azure-provider.js';
import { InProcessArmApi, InProcessAzureImds, type InProcessArm } from './in-process-arm.js';
import type { AzureSettings } from './plugin.js';

/** A VM of an in-process ARM subscription, as the ARM emulator's simulation hands it out. */
interface ArmMachine {
  readonly backend: InProcessArm;
  readonly vmId: string;
  readonly pollIntervalMs: number;
}

function armMachineOf(machine: SimulatedMachine): ArmMachine {
  if (machine.cloud !== 'azure') throw new Error(`the Azure provider cannot run on a machine of ${machine.cloud}`);
  return machine.handle as ArmMachine;
}

export const simulatedAzureProvider: SimulatedProviderFactory<AzureSettings> = (machine, settings, context) => {
  const { backend, vmId, pollIntervalMs } = armMachineOf(machine);
  const { clock } = context;
  return new AzureProvider({
    armApi: new InProcessArmApi({ backend, sleep: clock.sleep, clock: clock.now, pollIntervalMs }),
    imdsApi: new InProcessAzureImds(backend, vmId),
    batchSize: settings.batchSize,
    pollIntervalMs,
    sleep: clock.sleep,
    clock: clock.now,
  });
};
