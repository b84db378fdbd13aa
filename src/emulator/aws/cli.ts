import { once } from 'node:events';
import { parseAwsEmulatorArgs } from './cli-args.js';
import { startAwsEmulator } from './index.js';

export { EmulatorCliError, parseAwsEmulatorArgs } from './cli-args.js';

export interface AwsEmulatorCliDeps {
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
 * `nativeip emulator aws …`: starts the emulator, launches the instances, prints one JSON line
 * `{ec2Url, region, instances: [{instanceId, imdsUrl, primaryEni, primaryIp, mac}]}`, and runs
 * until SIGINT/SIGTERM. Throws {@link EmulatorCliError} naming the flag for bad arguments.
 */
export async function runAwsEmulatorCli(argv: string[], deps: AwsEmulatorCliDeps = {}): Promise<void> {
  const args = parseAwsEmulatorArgs(argv);
  const emulator = await startAwsEmulator(args.emulator);
  const until = deps.until ?? untilSignal();
  try {
    const instances = [];
    for (let i = 0; i < args.instances; i++) instances.push(await emulator.launchInstance({ instanceType: args.instanceType }));
    const line = JSON.stringify({ ec2Url: emulator.ec2Url, region: emulator.region, instances });
    (deps.write ?? ((l: string) => process.stdout.write(`${l}\n`)))(line);
    await until;
  } finally {
    await emulator.close();
  }
}
