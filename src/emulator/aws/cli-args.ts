import { parseFlags, parseListen, wholeNumber, type FlagSpec } from '../cli-common.js';
import type { AwsEmulatorOptions } from './index.js';
import { instanceTypeTable } from './instance-types.js';
import { EC2_FAULT_KINDS } from './ec2-faults.js';
import { FaultSpecError, parseFaultSpec } from '../faults/fault-spec.js';

export class EmulatorCliError extends Error {
  override readonly name = 'EmulatorCliError';
}

export interface AwsEmulatorCliArgs {
  readonly emulator: AwsEmulatorOptions;
  readonly instances: number;
  readonly instanceType: string;
}

export const AWS_EMULATOR_USAGE =
  'nativeip emulator aws [--listen HOST:PORT] [--instances N] [--instance-type TYPE] ' +
  '[--latency-ms ACTION=MS,...] [--imds-propagation-ms N] [--detach-delay-ms N] [--throttling] ' +
  '[--vpc-cidr CIDR] [--subnet CIDR]... [--faults JSON|SPEC]';

const FLAGS: FlagSpec = {
  values: new Set(['--listen', '--instances', '--instance-type', '--latency-ms', '--imds-propagation-ms', '--detach-delay-ms', '--vpc-cidr', '--subnet', '--faults']),
  switches: new Set(['--throttling']),
  repeatable: new Set(['--subnet']),
  usage: AWS_EMULATOR_USAGE,
};

const fail = (message: string) => new EmulatorCliError(message);
const nonNegativeInt = (flag: string, text: string, max = 2 ** 31) => wholeNumber(flag, text, 0, max, fail);

function parseLatency(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const pair of text.split(',').filter((p) => p.length > 0)) {
    const match = /^([A-Za-z]+)=(\d+)$/.exec(pair);
    if (match === null) throw new EmulatorCliError(`--latency-ms: '${pair}' is not ACTION=MS (e.g. AttachNetworkInterface=200)`);
    out[match[1]!] = Number(match[2]);
  }
  return out;
}

/** `--faults`: a JSON plan or the compact form (see faults/fault-spec.ts); the error names the flag and the field. */
function parseFaults(text: string) {
  try {
    return parseFaultSpec(text, EC2_FAULT_KINDS);
  } catch (error) {
    if (error instanceof FaultSpecError) throw new EmulatorCliError(`--faults: ${error.message}`);
    throw error;
  }
}

/** Parses `--flag value` and `--flag=value`; every mistake names its flag. */
export function parseAwsEmulatorArgs(argv: readonly string[]): AwsEmulatorCliArgs {
  const flags = parseFlags(argv, FLAGS, fail);
  const listen = parseListen(flags.one('--listen') ?? '127.0.0.1:0', '127.0.0.1:4566', fail);
  const instanceType = flags.one('--instance-type') ?? 'm5.large';
  if (!instanceTypeTable().has(instanceType)) {
    throw new EmulatorCliError(`--instance-type: '${instanceType}' is not an emulated type (the emulator plays the ${instanceTypeTable().size} types of data/aws-instance-limits.json)`);
  }
  const emulator: AwsEmulatorOptions = { host: listen.host, port: listen.port, throttling: flags.has('--throttling') };
  const latency = flags.one('--latency-ms');
  if (latency !== undefined) emulator.latencyMs = parseLatency(latency);
  const propagation = flags.one('--imds-propagation-ms');
  if (propagation !== undefined) emulator.imdsPropagationMs = nonNegativeInt('--imds-propagation-ms', propagation);
  const detach = flags.one('--detach-delay-ms');
  if (detach !== undefined) emulator.detachDelayMs = nonNegativeInt('--detach-delay-ms', detach);
  const vpc = flags.one('--vpc-cidr');
  if (vpc !== undefined) emulator.vpcCidr = vpc;
  const subnets = flags.all('--subnet');
  if (subnets !== undefined) emulator.subnets = subnets.map((cidr) => ({ cidr }));
  const faults = flags.one('--faults');
  if (faults !== undefined) emulator.faults = parseFaults(faults);
  return { emulator, instances: nonNegativeInt('--instances', flags.one('--instances') ?? '1', 1000), instanceType };
}
