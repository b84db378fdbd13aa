import { writeFile } from 'node:fs/promises';
import { runUntilStopped, type EmulatorCliDeps } from '../cli-common.js';
import { parseAzureEmulatorArgs } from './cli-args.js';
import { startAzureEmulator } from './index.js';

export { AzureEmulatorCliError, parseAzureEmulatorArgs } from './cli-args.js';

/**
 * `nativeip emulator azure …`: starts the emulator, creates the VMs, prints one JSON line
 * `{armUrl, caFile|caCert, subscriptionId, resourceGroup, faultControlUrl, vms: [{vmId, name, imdsUrl, nicIds, primaryIp, mac}]}`
 * and runs until SIGINT/SIGTERM. Point a daemon at it with NATIVEIP_AZURE_ARM_ENDPOINT,
 * NATIVEIP_AZURE_ARM_CA_BUNDLE and NATIVEIP_AZURE_IMDS_ENDPOINT.
 */
export async function runAzureEmulatorCli(argv: string[], deps: EmulatorCliDeps = {}): Promise<void> {
  const args = parseAzureEmulatorArgs(argv);
  const emulator = await startAzureEmulator(args.emulator);
  await runUntilStopped(emulator, deps, async () => {
    const vms = [];
    for (let i = 0; i < args.vms; i++) {
      vms.push(await emulator.createVm({ nics: args.nicsPerVm, vmSize: args.vmSize, ...(args.scaleSet === undefined ? {} : { scaleSet: args.scaleSet }) }));
    }
    if (args.caFile !== undefined) await writeFile(args.caFile, emulator.caCert, { mode: 0o644 });
    const ca = args.caFile === undefined ? { caCert: emulator.caCert } : { caFile: args.caFile };
    return { armUrl: emulator.armUrl, ...ca, subscriptionId: emulator.subscriptionId, resourceGroup: emulator.resourceGroup, faultControlUrl: emulator.faults.controlUrl, vms };
  });
}
