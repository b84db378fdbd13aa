/**
 * What the AWS provider knows of instance types without asking EC2: interfaces, IPv4 addresses per
 * interface and (where known) vCPUs of every EC2 instance type, from data/aws-instance-limits.json.
 * That file is generated (scripts/generate-instance-limits.ts) from the AWS VPC CNI's own table, the
 * one the EKS AMI's eni-max-pods.txt is computed from; `nativeip max-pods` reads it. The EC2
 * emulator reads the same file through its own loader (src/emulator/aws/instance-types.ts: an
 * emulator never imports a provider); test/unit/instance-limits-agree.test.ts checks both say the
 * same of every type. Pure data.
 */
import data from '../../../data/aws-instance-limits.json' with { type: 'json' };
import type { InterfaceLimits } from '../../core/types.js';

/** Where the table comes from, for messages: `data/aws-instance-limits.json, from amazon-vpc-cni-k8s v1.23.2`. */
export const INSTANCE_LIMITS_FILE = 'data/aws-instance-limits.json';
export const INSTANCE_LIMITS_SOURCE: { readonly module: string; readonly version: string; readonly file: string } = data.source.limits;

interface Row {
  readonly enis: number;
  readonly ipv4PerEni: number;
  readonly vcpus?: number;
}

const wholeAtLeastOne = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 1;

/** A row as the data file must hold it; throws naming the file and the type otherwise (a damaged data file is a build error, never a NaN max-pods). */
function checkedRow(name: string, row: unknown): Row {
  const r = row as Partial<Row> | null;
  if (r === null || typeof r !== 'object' || !wholeAtLeastOne(r.enis) || !wholeAtLeastOne(r.ipv4PerEni) || (r.vcpus !== undefined && !wholeAtLeastOne(r.vcpus))) {
    throw new Error(`${INSTANCE_LIMITS_FILE}: ${name}: enis, ipv4PerEni (and vcpus, when present) must be whole numbers ≥ 1, not ${JSON.stringify(row)}`);
  }
  return r as Row;
}

const LIMITS: ReadonlyMap<string, InterfaceLimits> = new Map(
  Object.entries(data.types as Record<string, unknown>).map(([name, raw]): [string, InterfaceLimits] => {
    const row = checkedRow(name, raw);
    return [
      name,
      row.vcpus === undefined
        ? { maxInterfaces: row.enis, ipv4PerInterface: row.ipv4PerEni }
        : { maxInterfaces: row.enis, ipv4PerInterface: row.ipv4PerEni, vcpus: row.vcpus },
    ];
  }),
);

/** The built-in limits of `instanceType`, or undefined for a type not in the table. */
export function instanceLimits(instanceType: string): InterfaceLimits | undefined {
  return LIMITS.get(instanceType);
}

/** Every instance type in the table, by name. */
export function knownInstanceTypes(): readonly string[] {
  return [...LIMITS.keys()].sort();
}

/** One line naming the table: how many types, which file, from which VPC CNI version. */
export function describeInstanceLimits(): string {
  const module = INSTANCE_LIMITS_SOURCE.module.split('/').pop() ?? INSTANCE_LIMITS_SOURCE.module;
  return `the table of ${LIMITS.size} types (${INSTANCE_LIMITS_FILE}, from ${module} ${INSTANCE_LIMITS_SOURCE.version})`;
}
