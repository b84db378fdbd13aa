/** The EC2 emulator as the `nativeip` command sees it (src/emulator/emulator-plugin.ts). */
import type { EmulatorPlugin } from '../emulator-plugin.js';

export const awsEmulatorPlugin: EmulatorPlugin = {
  name: 'aws',
  usage: '[--listen HOST:PORT] [--instances N] [--instance-type T] …',
  demoScene: 'an emulated AWS VPC',
  async runCli(args) {
    const { runAwsEmulatorCli } = await import('./cli.js');
    await runAwsEmulatorCli(args);
  },
  simulation: async () => (await import('./simulation.js')).ec2Simulation,
  async runDemo(args) {
    const { runAwsDemo } = await import('./demo.js');
    return runAwsDemo(args);
  },
};
