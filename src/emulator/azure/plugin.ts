/** The Azure emulator (ARM and IMDS) as the `nativeip` command sees it (src/emulator/emulator-plugin.ts). */
import type { EmulatorPlugin } from '../emulator-plugin.js';

/** The emulator's VM size when none is given (ARM's `hardwareProfile.vmSize`). */
const CLUSTER_VM_SIZE = 'Standard_D4s_v5';

export const azureEmulatorPlugin: EmulatorPlugin = {
  name: 'azure',
  usage: '[--listen HOST:PORT] [--vms N] [--nics N] [--latency-ms MS] …',
  demoScene: 'an emulated Azure VNet',
  async runCli(args) {
    const { runAzureEmulatorCli } = await import('./cli.js');
    await runAzureEmulatorCli(args);
  },
  simulation: async () => (await import('./simulation.js')).armSimulation,
  async runDemo(args) {
    const { runAzureDemo } = await import('./demo.js');
    return runAzureDemo(args);
  },
  cluster: {
    defaultMachineType: CLUSTER_VM_SIZE,
    // One NIC per VM: startAzureCluster's default, which start() keeps.
    nodeTitle: 'Azure (1 NIC)',
    async start({ machineType, ...options }) {
      const { startAzureCluster } = await import('./cluster.js');
      return startAzureCluster({ ...options, vmSize: machineType ?? CLUSTER_VM_SIZE });
    },
  },
};
