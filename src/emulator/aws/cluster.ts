/** An emulated EC2 cluster: instances of one type in one VPC, each a real nativeip-ipamd (src/demo/emulated-cluster.ts). */
import { EmulatedCluster, type ClusterOptions, type ClusterRecipe } from '../../demo/emulated-cluster.js';
import { NetworkFabric } from '../fabric/index.js';
import { startEc2Fabric } from './fabric.js';
import { awsCloudUnderTest } from './cloud-under-test.js';
import { startAwsEmulator, type AwsEmulator, type AwsEmulatorOptions } from './index.js';

export interface AwsClusterOptions extends ClusterOptions {
  readonly instanceType: string;
  readonly emulator?: AwsEmulatorOptions;
}

export type AwsCluster = EmulatedCluster<AwsEmulator, NetworkFabric>;

/** Starts the EC2 emulator and the fabric, launches the instances and starts a daemon on each. */
export function startAwsCluster(options: AwsClusterOptions): Promise<AwsCluster> {
  const recipe: ClusterRecipe<AwsEmulator, NetworkFabric> = {
    cleanupStale: async (prefix) => {
      await NetworkFabric.cleanupStale(prefix);
    },
    startEmulator: () => startAwsEmulator({ host: '127.0.0.1', port: 0, ...options.emulator }),
    startFabric: (emulator, prefix) => startEc2Fabric(emulator, { prefix }),
    async addNode(emulator, fabric) {
      const launched = await emulator.launchInstance({ instanceType: options.instanceType });
      await fabric.whenSynced();
      return {
        instanceId: launched.instanceId,
        netnsPath: fabric.nodeNetnsPath(launched.instanceId),
        cloudEnv: {
          AWS_ENDPOINT_URL_EC2: emulator.ec2Url,
          AWS_EC2_METADATA_SERVICE_ENDPOINT: launched.imdsUrl,
          AWS_REGION: emulator.region,
          AWS_ACCESS_KEY_ID: 'emulated',
          AWS_SECRET_ACCESS_KEY: 'emulated',
          CLUSTER_NAME: 'nativeip-demo',
          NATIVEIP_CLOUD: 'aws',
        },
      };
    },
    cloudUnderTest: awsCloudUnderTest,
  };
  return EmulatedCluster.launch(recipe, options);
}
