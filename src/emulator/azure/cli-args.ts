/** Arguments of `nativeip emulator azure`. Pure: argv in, options out; every mistake names its flag. */
import type { AzureEmulatorOptions } from './index.js';

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
  '[--request-latency-ms MS] [--no-throttling] [--vnet-cidr CIDR] [--subnet NAME=CIDR]... ' +
  '[--scale-set NAME [--orchestration Uniform|Flexible]] [--ca-file PATH]';

/** Real NIC PUTs take 10–60 s; the emulator defaults to a few seconds so a demo stays watchable. */
export const DEFAULT_CLI_LATENCY_MS = 3000;

const VALUE_FLAGS = new Set(['--listen', '--vms', '--nics', '--vm-size', '--latency-ms', '--request-latency-ms', '--vnet-cidr', '--subnet', '--scale-set', '--orchestration', '--ca-file']);
const SWITCHES = new Set(['--no-throttling']);

function count(flag: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new AzureEmulatorCliError(`${flag}: '${text}' is not a whole number from ${min} to ${max}`);
  }
  return Number(text);
}

export function parseAzureEmulatorArgs(argv: readonly string[]): AzureEmulatorCliArgs {
  const values = new Map<string, string[]>();
  const switches = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    if (SWITCHES.has(flag)) {
      if (flag !== arg) throw new AzureEmulatorCliError(`${flag} takes no value`);
      switches.add(flag);
      continue;
    }
    if (!VALUE_FLAGS.has(flag)) throw new AzureEmulatorCliError(`unknown argument '${arg}'; usage: ${AZURE_EMULATOR_USAGE}`);
    const value = flag !== arg ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || (flag === arg && value.startsWith('--'))) throw new AzureEmulatorCliError(`${flag} needs a value`);
    values.set(flag, [...(values.get(flag) ?? []), value]);
  }
  const one = (flag: string): string | undefined => {
    const list = values.get(flag);
    if (list !== undefined && list.length > 1 && flag !== '--subnet') throw new AzureEmulatorCliError(`${flag} given more than once`);
    return list?.[0];
  };
  const listen = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(one('--listen') ?? '127.0.0.1:0');
  if (listen === null) throw new AzureEmulatorCliError(`--listen: '${one('--listen') ?? ''}' is not HOST:PORT (e.g. 127.0.0.1:8443)`);
  const emulator: AzureEmulatorOptions = {
    host: listen[1] ?? listen[2] ?? '127.0.0.1',
    port: count('--listen', listen[3] ?? '', 0, 65535),
    operationLatencyMs: count('--latency-ms', one('--latency-ms') ?? String(DEFAULT_CLI_LATENCY_MS), 0, 600_000),
    requestLatencyMs: count('--request-latency-ms', one('--request-latency-ms') ?? '0', 0, 60_000),
    throttling: !switches.has('--no-throttling'),
  };
  const vnet = one('--vnet-cidr');
  if (vnet !== undefined) emulator.vnetCidr = vnet;
  const subnets = values.get('--subnet');
  if (subnets !== undefined) {
    emulator.subnets = subnets.map((pair) => {
      const match = /^([A-Za-z0-9_.-]+)=([0-9./]+)$/.exec(pair);
      if (match === null) throw new AzureEmulatorCliError(`--subnet: '${pair}' is not NAME=CIDR (e.g. nodes=10.1.0.0/20)`);
      return { name: match[1]!, cidr: match[2]! };
    });
  }
  const scaleSetName = one('--scale-set');
  const orchestration = one('--orchestration') ?? 'Uniform';
  if (orchestration !== 'Uniform' && orchestration !== 'Flexible') throw new AzureEmulatorCliError(`--orchestration: '${orchestration}' is not Uniform or Flexible`);
  if (scaleSetName === undefined && values.has('--orchestration')) throw new AzureEmulatorCliError('--orchestration needs --scale-set');
  return {
    emulator,
    vms: count('--vms', one('--vms') ?? '1', 0, 100),
    nicsPerVm: count('--nics', one('--nics') ?? '1', 1, 8),
    vmSize: one('--vm-size') ?? 'Standard_D4s_v5',
    scaleSet: scaleSetName === undefined ? undefined : { name: scaleSetName, mode: orchestration },
    caFile: one('--ca-file'),
  };
}
