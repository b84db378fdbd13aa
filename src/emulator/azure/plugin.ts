/** The Azure emulator (ARM and IMDS) as the `nativeip` command sees it (src/emulator/emulator-plugin.ts). */
import type { EmulatorPlugin } from '../emulator-plugin.js';

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
};
