/**
 * The Azure emulator as the crash campaign checks and fails it (src/demo/cloud-under-test.ts): a
 * VM's NICs and the addresses each holds, read from the emulator's own state; and which ARM
 * operations are writes.
 */
import type { CloudInterfaceView, CloudUnderTest, CloudView, FaultActions } from '../../demo/cloud-under-test.js';
import type { AzureEmulator } from './index.js';

/** nativeip's ARM provider writes with PUTs and reads with GETs. */
const ARM_FAULT_ACTIONS: FaultActions = { writes: ['Put*'], reads: ['Get*'] };

export function azureCloudUnderTest(emulator: AzureEmulator): CloudUnderTest {
  return { view: (vmId) => vmView(emulator, vmId), faults: emulator.faults, faultActions: ARM_FAULT_ACTIONS };
}

function vmView(emulator: AzureEmulator, vmId: string): CloudView {
  return {
    async nodeInterfaces() {
      const vm = emulator.topology().instances.find((i) => i.instanceId === vmId);
      return (vm?.interfaces ?? []).map((nic): CloudInterfaceView => ({ id: nic.interfaceId, addresses: [...nic.secondaryIps] }));
    },
    // nativeip creates no NICs on Azure: nothing can outlive the VM.
    leakedInterfaces: async () => [],
  };
}
