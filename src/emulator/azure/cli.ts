import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { parseAzureEmulatorArgs } from './cli-args.js';
import { startAzureEmulator } from './index.js';

export { AzureEmulatorCliError, parseAzureEmulatorArgs } from './cli-args.js';

export interface AzureEmulatorCliDeps {
  /** Where the JSON line goes; default stdout. */
  readonly write?: (line: string) => void;
  /** Resolves when the emulator should stop; default the first SIGINT or SIGTERM. */
  readonly until?: Promise<unknown>;
}

function untilSignal(): Promise<unknown> {
  const controller = new AbortController();
  return Promise.race([
    once(process, 'SIGINT', { signal: controller.signal }),
    once(process, 'SIGTERM', { signal: controller.signal }),
  ]).finally(() => controller.abort());
}

/**
 * `nativeip emulator azure …`: starts the emulator, creates the VMs, prints one JSON line
 * `{armUrl, caFile|caCert, subscriptionId, resourceGroup, vms: [{vmId, name, imdsUrl, nicIds, primaryIp, mac}]}`
 * and runs until SIGINT/SIGTERM. Point a daemon at it with NATIVEIP_AZURE_ARM_ENDPOINT,
 * NATIVEIP_AZURE_ARM_CA_BUNDLE and NATIVEIP_AZURE_IMDS_ENDPOINT.
 */
export async function runAzureEmulatorCli(argv: string[], deps: AzureEmulatorCliDeps = {}): Promise<void> {
  const args = parseAzureEmulatorArgs(argv);
  const emulator = await startAzureEmulator(args.emulator);
  const until = deps.until ?? untilSignal();
  try {
    const vms = [];
    for (let i = 0; i < args.vms; i++) {
      vms.push(await emulator.createVm({ nics: args.nicsPerVm, vmSize: args.vmSize, ...(args.scaleSet === undefined ? {} : { scaleSet: args.scaleSet }) }));
    }
    if (args.caFile !== undefined) await writeFile(args.caFile, emulator.caCert, { mode: 0o644 });
    const ca = args.caFile === undefined ? { caCert: emulator.caCert } : { caFile: args.caFile };
    const line = JSON.stringify({ armUrl: emulator.armUrl, ...ca, subscriptionId: emulator.subscriptionId, resourceGroup: emulator.resourceGroup, vms });
    (deps.write ?? ((l: string) => process.stdout.write(`${l}\n`)))(line);
    await until;
  } finally {
    await emulator.close();
  }
}
