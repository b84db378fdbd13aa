/**
 * An emulated Azure cluster: VMs (each with `nicsPerVm` NICs) in one VNet, each a real
 * nativeip-ipamd (src/demo/emulated-cluster.ts). The daemons run with NATIVEIP_CLOUD unset (auto):
 * they find Azure by asking both metadata services, which both point at the VM's IMDS.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EmulatedCluster, type ClusterOptions, type ClusterRecipe } from '../../demo/emulated-cluster.js';
import { AzureFabric } from './fabric.js';
import { azureCloudUnderTest } from './cloud-under-test.js';
import { startAzureEmulator, type AzureEmulator, type AzureEmulatorOptions } from './index.js';

export interface AzureClusterOptions extends ClusterOptions {
  /** NICs per VM, the primary included. Default 1. */
  readonly nicsPerVm?: number;
  /** Every VM's size. Default the emulator's (`Standard_D4s_v5`). */
  readonly vmSize?: string;
  readonly emulator?: AzureEmulatorOptions;
}

export type AzureCluster = EmulatedCluster<AzureEmulator, AzureFabric>;

/** Starts the Azure emulator (ARM over https with its own certificate, one IMDS per VM) and the fabric, creates the VMs and starts a daemon on each. */
export function startAzureCluster(options: AzureClusterOptions): Promise<AzureCluster> {
  const caBundle = join(options.workDir, 'arm-ca.pem');
  const recipe: ClusterRecipe<AzureEmulator, AzureFabric> = {
    cleanupStale: async (prefix) => {
      await AzureFabric.cleanupStale(prefix);
    },
    async startEmulator() {
      const emulator = await startAzureEmulator({ host: '127.0.0.1', port: 0, ...options.emulator });
      await writeFile(caBundle, emulator.caCert, { mode: 0o644 });
      return emulator;
    },
    startFabric: (emulator, prefix) => AzureFabric.start(emulator, { prefix }),
    async addNode(emulator, fabric, index) {
      const vm = await emulator.createVm({ name: `node${index}`, nics: options.nicsPerVm ?? 1, ...(options.vmSize === undefined ? {} : { vmSize: options.vmSize }) });
      await fabric.whenSynced();
      return {
        instanceId: vm.vmId,
        netnsPath: fabric.nodeNetnsPath(vm.vmId),
        cloudEnv: {
          NATIVEIP_AZURE_ARM_ENDPOINT: emulator.armUrl,
          NATIVEIP_AZURE_ARM_CA_BUNDLE: caBundle,
          NATIVEIP_AZURE_IMDS_ENDPOINT: vm.imdsUrl,
          // Why: NATIVEIP_CLOUD=auto probes AWS's IMDS too; keep that probe on loopback.
          AWS_EC2_METADATA_SERVICE_ENDPOINT: vm.imdsUrl,
        },
      };
    },
    cloudUnderTest: azureCloudUnderTest,
  };
  return EmulatedCluster.launch(recipe, options);
}
