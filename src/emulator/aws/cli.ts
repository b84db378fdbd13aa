import { runUntilStopped, type EmulatorCliDeps } from '../cli-common.js';
import { parseAwsEmulatorArgs } from './cli-args.js';
import { startAwsEmulator } from './index.js';

export { EmulatorCliError, parseAwsEmulatorArgs } from './cli-args.js';

/**
 * `nativeip emulator aws …`: starts the emulator, launches the instances, prints one JSON line
 * `{ec2Url, region, faultControlUrl, instances: [{instanceId, imdsUrl, primaryEni, primaryIp, mac}]}`, and runs
 * until SIGINT/SIGTERM. Throws {@link EmulatorCliError} naming the flag for bad arguments.
 */
export async function runAwsEmulatorCli(argv: string[], deps: EmulatorCliDeps = {}): Promise<void> {
  const args = parseAwsEmulatorArgs(argv);
  const emulator = await startAwsEmulator(args.emulator);
  await runUntilStopped(emulator, deps, async () => {
    const instances = [];
    for (let i = 0; i < args.instances; i++) instances.push(await emulator.launchInstance({ instanceType: args.instanceType }));
    return { ec2Url: emulator.ec2Url, region: emulator.region, faultControlUrl: emulator.faults.controlUrl, instances };
  });
}
