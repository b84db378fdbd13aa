/**
 * `nativeip max-pods`: the kubelet `--max-pods` value for an instance type, for node bootstrap
 * scripts. Takes the EKS max-pods calculator's flags too, so it can replace it in a script.
 */
import { computeMaxPods, MAX_PODS_CEILING_LOW_CPU, HIGH_CPU_THRESHOLD } from '../ipamd/pool/plan/max-pods.js';
import type { InterfaceLimits } from '../core/types.js';
import { CLOUD_PLUGINS } from '../ipamd/clouds.js';
import { parseFlags, type FlagSpec } from '../core/cli-flags.js';

export const MAX_PODS_USAGE = `usage: nativeip max-pods --instance-type TYPE [--prefix-delegation] [--max-eni N]
                         [--cni-version X.Y.Z] [--show-max-allowed] [--json]
       nativeip max-pods --max-enis N --ipv4-per-eni N [--vcpus N] [--prefix-delegation] …
  --prefix-delegation (or --cni-prefix-delegation-enabled)  /28 prefix mode
  --max-eni N (or --cni-max-eni N)                          use at most N interfaces (MAX_ENI)
  --cni-version X.Y.Z   AWS VPC CNI version; prefix delegation counts only from 1.9
  --show-max-allowed    prefix mode without the 110 / 250 ceiling
  --vcpus N             prefix mode's ceiling is 250 above 30 vCPUs, else 110; a type whose vCPUs
                        the built-in table lacks is taken as ≤ 30 unless given
`;

export class MaxPodsUsageError extends Error {}

export interface MaxPodsRequest {
  readonly instanceType: string | undefined;
  readonly maxInterfaces: number;
  readonly ipv4PerInterface: number;
  readonly vcpus: number | undefined;
  readonly prefixDelegation: boolean;
  readonly maxEni: number | undefined;
  readonly uncapped: boolean;
  readonly json: boolean;
}

const FLAGS: FlagSpec = {
  values: ['--instance-type', '--max-enis', '--ipv4-per-eni', '--vcpus', '--max-eni', '--cni-version'],
  switches: ['--prefix-delegation', '--show-max-allowed', '--json'],
  // The EKS max-pods calculator's spellings.
  aliases: { '--cni-max-eni': '--max-eni', '--cni-prefix-delegation-enabled': '--prefix-delegation' },
};

/** Parses the arguments (after `max-pods`). Pure; throws MaxPodsUsageError with the reason. */
export function parseMaxPodsArgs(argv: readonly string[]): MaxPodsRequest {
  const flags = parseFlags(argv, FLAGS, (problem) => new MaxPodsUsageError(problem.message));
  const count = (name: string, min: number): number | undefined => {
    const text = flags.one(name);
    if (text === undefined) return undefined;
    if (!/^\d+$/.test(text) || Number(text) < min) throw new MaxPodsUsageError(`${name} must be a whole number ≥ ${min}, not ${JSON.stringify(text)}`);
    return Number(text);
  };

  const instanceType = flags.one('--instance-type');
  const maxEnis = count('--max-enis', 1);
  const ipv4PerEni = count('--ipv4-per-eni', 1);
  const vcpusGiven = count('--vcpus', 1);
  const maxEni = count('--max-eni', 1);
  const cniVersion = flags.one('--cni-version');
  let prefixDelegation = flags.has('--prefix-delegation');
  const uncapped = flags.has('--show-max-allowed');
  const json = flags.has('--json');
  if (cniVersion !== undefined && prefixDelegation && !supportsPrefixes(cniVersion)) prefixDelegation = false;

  if (instanceType !== undefined) {
    const info = builtInLimits(instanceType);
    if (info === undefined && (maxEnis === undefined || ipv4PerEni === undefined)) {
      throw new MaxPodsUsageError(
        `instance type ${instanceType} is not in the built-in ${builtInTables()}; give --max-enis, --ipv4-per-eni and --vcpus`,
      );
    }
    return {
      instanceType,
      maxInterfaces: maxEnis ?? info?.maxInterfaces ?? 0,
      ipv4PerInterface: ipv4PerEni ?? info?.ipv4PerInterface ?? 0,
      vcpus: vcpusGiven ?? info?.vcpus,
      prefixDelegation,
      maxEni,
      uncapped,
      json,
    };
  }
  if (maxEnis === undefined || ipv4PerEni === undefined) {
    throw new MaxPodsUsageError('give --instance-type, or --max-enis and --ipv4-per-eni');
  }
  return { instanceType, maxInterfaces: maxEnis, ipv4PerInterface: ipv4PerEni, vcpus: vcpusGiven, prefixDelegation, maxEni, uncapped, json };
}

/** The first cloud's built-in limits of `instanceType` (clouds' type names do not overlap). */
function builtInLimits(instanceType: string): InterfaceLimits | undefined {
  for (const plugin of CLOUD_PLUGINS) {
    const limits = plugin.instanceLimits?.(instanceType);
    if (limits !== undefined) return limits;
  }
  return undefined;
}

/** The clouds' built-in tables in one phrase: `table of 1391 types (FILE, from SOURCE VERSION)`. */
function builtInTables(): string {
  const tables = CLOUD_PLUGINS.flatMap((plugin) => plugin.instanceLimitsTable?.().replace(/^the /, '') ?? []);
  return tables.length === 0 ? 'table' : tables.join(' or the ');
}

/** The calculator's rule: prefix delegation exists from AWS VPC CNI 1.9 on. */
export function supportsPrefixes(cniVersion: string): boolean {
  const match = /^v?(\d+)\.(\d+)/.exec(cniVersion);
  if (match === null) throw new MaxPodsUsageError(`--cni-version must look like 1.18.0, not ${JSON.stringify(cniVersion)}`);
  const major = Number(match[1]);
  const minor = Number(match[2]);
  return major > 1 || (major === 1 && minor > 8);
}

/**
 * A note for stderr when the answer rests on an assumption: prefix mode, capped, vCPUs unknown (the
 * table has none for the type and no --vcpus was given), and more addresses than the low ceiling,
 * so 110 was taken where a type with more than 30 vCPUs would get 250.
 */
export function maxPodsNote(request: MaxPodsRequest): string | undefined {
  if (!request.prefixDelegation || request.uncapped || request.vcpus !== undefined) return undefined;
  if (computeMaxPods(request).addressable <= MAX_PODS_CEILING_LOW_CPU) return undefined;
  const what = request.instanceType === undefined ? 'the vCPUs are not known' : `the table has no vCPU count for ${request.instanceType}`;
  return `${what}: assumed ≤ ${HIGH_CPU_THRESHOLD} (ceiling ${MAX_PODS_CEILING_LOW_CPU}); give --vcpus N if it has more`;
}

/** What the command prints: the number alone (for `--max-pods=$(…)`), or a JSON account. */
export function renderMaxPods(request: MaxPodsRequest): string {
  const result = computeMaxPods(request);
  if (!request.json) return String(result.maxPods);
  const note = maxPodsNote(request);
  return JSON.stringify({
    ...(request.instanceType === undefined ? {} : { instanceType: request.instanceType }),
    mode: request.prefixDelegation ? 'prefix' : 'secondary',
    interfaces: result.interfaces,
    ipv4PerInterface: request.ipv4PerInterface,
    ...(request.vcpus === undefined ? {} : { vcpus: request.vcpus }),
    addressable: result.addressable,
    ...(result.ceiling === undefined ? {} : { ceiling: result.ceiling }),
    maxPods: result.maxPods,
    ...(note === undefined ? {} : { note }),
  });
}
