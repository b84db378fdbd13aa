/** Arguments of `nativeip emulator azure`. Pure: argv in, options out; every mistake names its flag. */
import { parseFlags, parseListen, wholeNumber, type FlagSpec } from '../cli-common.js';
import type { AzureEmulatorOptions } from './index.js';
import { ARM_FAULT_KINDS } from './arm-faults.js';
import { FaultSpecError, parseFaultSpec } from '../faults/fault-spec.js';

export class AzureEmulatorCliError extends Error {
  override readonly name = 'AzureEmulatorCliError';
}

export interface AzureEmulatorCliArgs {
  readonly emulator: AzureEmulatorOptions;
  readonly vms: number;
  readonly nicsPerVm: number;
  readonly vmSize: string;
  readonly scaleSet: { readonly name: string; readonly mode: 'Uniform' | 'Flexible' } | undefined;
  /** Where to write the ARM certificate (PEM) for NATIVEIP_AZURE_ARM_CA_BUNDLE. */
  readonly caFile: string | undefined;
}

export const AZURE_EMULATOR_USAGE =
  'nativeip emulator azure [--listen HOST:PORT] [--vms N] [--nics N] [--vm-size SIZE] [--latency-ms MS] ' +
  '[--request-latency-ms MS] [--imds-propagation-ms MS] [--no-throttling] [--vnet-cidr CIDR] [--subnet NAME=CIDR]... ' +
  '[--scale-set NAME [--orchestration Uniform|Flexible]] [--ca-file PATH] [--faults JSON|SPEC]';

/** Real NIC PUTs take 10–60 s; the emulator defaults to a few seconds so a demo stays watchable. */
export const DEFAULT_CLI_LATENCY_MS = 3000;

const FLAGS: FlagSpec = {
  values: new Set(['--listen', '--vms', '--nics', '--vm-size', '--latency-ms', '--request-latency-ms', '--imds-propagation-ms', '--vnet-cidr', '--subnet', '--scale-set', '--orchestration', '--ca-file', '--faults']),
  switches: new Set(['--no-throttling']),
  repeatable: new Set(['--subnet']),
  usage: AZURE_EMULATOR_USAGE,
};

const fail = (message: string) => new AzureEmulatorCliError(message);
const count = (flag: string, text: string, min: number, max: number) => wholeNumber(flag, text, min, max, fail);

export function parseAzureEmulatorArgs(argv: readonly string[]): AzureEmulatorCliArgs {
  const flags = parseFlags(argv, FLAGS, fail);
  const listen = parseListen(flags.one('--listen') ?? '127.0.0.1:0', '127.0.0.1:8443', fail);
  const emulator: AzureEmulatorOptions = {
    host: listen.host,
    port: listen.port,
    operationLatencyMs: count('--latency-ms', flags.one('--latency-ms') ?? String(DEFAULT_CLI_LATENCY_MS), 0, 600_000),
    requestLatencyMs: count('--request-latency-ms', flags.one('--request-latency-ms') ?? '0', 0, 60_000),
    throttling: !flags.has('--no-throttling'),
  };
  const propagation = flags.one('--imds-propagation-ms');
  if (propagation !== undefined) emulator.imdsPropagationMs = count('--imds-propagation-ms', propagation, 0, 600_000);
  const vnet = flags.one('--vnet-cidr');
  if (vnet !== undefined) emulator.vnetCidr = vnet;
  const subnets = flags.all('--subnet');
  if (subnets !== undefined) {
    emulator.subnets = subnets.map((pair) => {
      const match = /^([A-Za-z0-9_.-]+)=([0-9./]+)$/.exec(pair);
      if (match === null) throw new AzureEmulatorCliError(`--subnet: '${pair}' is not NAME=CIDR (e.g. nodes=10.1.0.0/20)`);
      return { name: match[1]!, cidr: match[2]! };
    });
  }
  const faults = flags.one('--faults');
  if (faults !== undefined) {
    try {
      emulator.faults = parseFaultSpec(faults, ARM_FAULT_KINDS);
    } catch (error) {
      if (error instanceof FaultSpecError) throw new AzureEmulatorCliError(`--faults: ${error.message}`);
      throw error;
    }
  }
  const scaleSetName = flags.one('--scale-set');
  const orchestration = flags.one('--orchestration') ?? 'Uniform';
  if (orchestration !== 'Uniform' && orchestration !== 'Flexible') throw new AzureEmulatorCliError(`--orchestration: '${orchestration}' is not Uniform or Flexible`);
  if (scaleSetName === undefined && flags.has('--orchestration')) throw new AzureEmulatorCliError('--orchestration needs --scale-set');
  return {
    emulator,
    vms: count('--vms', flags.one('--vms') ?? '1', 0, 100),
    nicsPerVm: count('--nics', flags.one('--nics') ?? '1', 1, 8),
    vmSize: flags.one('--vm-size') ?? 'Standard_D4s_v5',
    scaleSet: scaleSetName === undefined ? undefined : { name: scaleSetName, mode: orchestration },
    caFile: flags.one('--ca-file'),
  };
}
