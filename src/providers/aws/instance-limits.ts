/**
 * What the AWS provider knows of instance types without asking EC2: interfaces, IPv4 addresses per
 * interface and vCPUs, from the published table
 * (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/AvailableIpPerENI.html), as the EKS AMI's
 * eni-max-pods.txt does. `nativeip max-pods` reads it. The EC2 emulator keeps its own catalogue
 * of the types it plays (src/emulator/aws/instance-types.ts, more fields); an emulator never imports
 * a provider, so test/unit/instance-limits-agree.test.ts checks both say the same of every type
 * they share. Pure data.
 */
import type { InterfaceLimits } from '../../core/types.js';

type Row = readonly [size: string, vcpus: number, interfaces: number, ipv4PerInterface: number];

const FAMILIES: Readonly<Record<string, readonly Row[]>> = {
  t3: [['nano', 2, 2, 2], ['micro', 2, 2, 2], ['small', 2, 3, 4], ['medium', 2, 3, 6], ['large', 2, 3, 12], ['xlarge', 4, 4, 15], ['2xlarge', 8, 4, 15]],
  m5: [['large', 2, 3, 10], ['xlarge', 4, 4, 15], ['2xlarge', 8, 4, 15], ['4xlarge', 16, 8, 30], ['8xlarge', 32, 8, 30], ['12xlarge', 48, 8, 30], ['16xlarge', 64, 15, 50], ['24xlarge', 96, 15, 50]],
  m6i: [['large', 2, 3, 10], ['xlarge', 4, 4, 15], ['2xlarge', 8, 4, 15], ['4xlarge', 16, 8, 30], ['8xlarge', 32, 8, 30], ['12xlarge', 48, 8, 30], ['16xlarge', 64, 15, 50], ['24xlarge', 96, 15, 50], ['32xlarge', 128, 15, 50]],
  c5: [['large', 2, 3, 10], ['xlarge', 4, 4, 15], ['2xlarge', 8, 4, 15], ['4xlarge', 16, 8, 30], ['9xlarge', 36, 8, 30], ['12xlarge', 48, 8, 30], ['18xlarge', 72, 15, 50], ['24xlarge', 96, 15, 50]],
  r5: [['large', 2, 3, 10], ['xlarge', 4, 4, 15], ['2xlarge', 8, 4, 15], ['4xlarge', 16, 8, 30], ['8xlarge', 32, 8, 30], ['12xlarge', 48, 8, 30], ['16xlarge', 64, 15, 50], ['24xlarge', 96, 15, 50]],
};

const LIMITS: ReadonlyMap<string, InterfaceLimits> = new Map(
  Object.entries(FAMILIES).flatMap(([family, rows]) =>
    rows.map(([size, vcpus, maxInterfaces, ipv4PerInterface]): [string, InterfaceLimits] => [`${family}.${size}`, { maxInterfaces, ipv4PerInterface, vcpus }]),
  ),
);

/** The built-in limits of `instanceType`, or undefined for a type not in the table. */
export function instanceLimits(instanceType: string): InterfaceLimits | undefined {
  return LIMITS.get(instanceType);
}

/** Every instance type in the table, by name. */
export function knownInstanceTypes(): readonly string[] {
  return [...LIMITS.keys()].sort();
}
