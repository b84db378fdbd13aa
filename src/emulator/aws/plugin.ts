/** The EC2 emulator as the `nativeip` command sees it (src/emulator/emulator-plugin.ts). */
import type { EmulatorPlugin } from '../emulator-plugin.js';

/** 3 ENIs × 6 IPv4 addresses, 17 max pods: small enough that pods soon need a second ENI. */
const CLUSTER_INSTANCE_TYPE = 't3.medium';

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
  cluster: {
    defaultMachineType: CLUSTER_INSTANCE_TYPE,
    nodeTitle: `AWS (${CLUSTER_INSTANCE_TYPE})`,
    async start({ machineType, ...options }) {
      const { startAwsCluster } = await import('./cluster.js');
      return startAwsCluster({ ...options, instanceType: machineType ?? CLUSTER_INSTANCE_TYPE });
    },
  },
};
