import type { AwsEmulatorOptions } from './index.js';
import { instanceTypeTable } from './instance-types.js';

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
  '[--vpc-cidr CIDR] [--subnet CIDR]...';

const VALUE_FLAGS = new Set([
  '--listen',
  '--instances',
  '--instance-type',
  '--latency-ms',
  '--imds-propagation-ms',
  '--detach-delay-ms',
  '--vpc-cidr',
  '--subnet',
]);
const SWITCHES = new Set(['--throttling']);

function nonNegativeInt(flag: string, text: string, max = 2 ** 31): number {
  if (!/^\d+$/.test(text) || Number(text) > max) {
    throw new EmulatorCliError(`${flag}: '${text}' is not a whole number between 0 and ${max}`);
  }
  return Number(text);
}

function parseListen(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text);
  if (match === null) throw new EmulatorCliError(`--listen: '${text}' is not HOST:PORT (e.g. 127.0.0.1:4566)`);
  return { host: match[1] ?? match[2] ?? '', port: nonNegativeInt('--listen', match[3] ?? '', 65535) };
}

function parseLatency(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const pair of text.split(',').filter((p) => p.length > 0)) {
    const match = /^([A-Za-z]+)=(\d+)$/.exec(pair);
    if (match === null) throw new EmulatorCliError(`--latency-ms: '${pair}' is not ACTION=MS (e.g. AttachNetworkInterface=200)`);
    out[match[1]!] = Number(match[2]);
  }
  return out;
}

/** Parses `--flag value` and `--flag=value`; every mistake names its flag. */
export function parseAwsEmulatorArgs(argv: readonly string[]): AwsEmulatorCliArgs {
  const values = new Map<string, string[]>();
  const switches = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    if (SWITCHES.has(flag)) {
      if (flag !== arg) throw new EmulatorCliError(`${flag} takes no value`);
      switches.add(flag);
      continue;
    }
    if (!VALUE_FLAGS.has(flag)) throw new EmulatorCliError(`unknown argument '${arg}'; usage: ${AWS_EMULATOR_USAGE}`);
    const value = flag !== arg ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || (flag === arg && value.startsWith('--'))) throw new EmulatorCliError(`${flag} needs a value`);
    values.set(flag, [...(values.get(flag) ?? []), value]);
  }
  const one = (flag: string): string | undefined => {
    const list = values.get(flag);
    if (list !== undefined && list.length > 1 && flag !== '--subnet') throw new EmulatorCliError(`${flag} given more than once`);
    return list?.[0];
  };
  const listen = parseListen(one('--listen') ?? '127.0.0.1:0');
  const instanceType = one('--instance-type') ?? 'm5.large';
  if (!instanceTypeTable().has(instanceType)) {
    throw new EmulatorCliError(`--instance-type: '${instanceType}' is not an emulated type (${[...instanceTypeTable().keys()].join(', ')})`);
  }
  const emulator: AwsEmulatorOptions = { host: listen.host, port: listen.port, throttling: switches.has('--throttling') };
  const latency = one('--latency-ms');
  if (latency !== undefined) emulator.latencyMs = parseLatency(latency);
  const propagation = one('--imds-propagation-ms');
  if (propagation !== undefined) emulator.imdsPropagationMs = nonNegativeInt('--imds-propagation-ms', propagation);
  const detach = one('--detach-delay-ms');
  if (detach !== undefined) emulator.detachDelayMs = nonNegativeInt('--detach-delay-ms', detach);
  const vpc = one('--vpc-cidr');
  if (vpc !== undefined) emulator.vpcCidr = vpc;
  const subnets = values.get('--subnet');
  if (subnets !== undefined) emulator.subnets = subnets.map((cidr) => ({ cidr }));
  return { emulator, instances: nonNegativeInt('--instances', one('--instances') ?? '1', 1000), instanceType };
}
