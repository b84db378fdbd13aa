/**
 * `nativeip max-pods --instance-type T` against the EKS AMI's values (eni-max-pods.txt), computed
 * as ENIs × (IPv4 per ENI − 1) + 2 from the limits EC2 publishes, for a spread of types, the ones
 * issue reports named among them; and prefix mode's 110 / 250 ceilings.
 */
import { describe, expect, it } from 'vitest';
import { maxPodsNote, MaxPodsUsageError, parseMaxPodsArgs, renderMaxPods } from '../../src/cli/max-pods.js';
import { CLOUD_PLUGINS } from '../../src/ipamd/clouds.js';
import { instanceLimits } from '../../src/providers/aws/instance-limits.js';

const maxPods = (...argv: string[]): string => renderMaxPods(parseMaxPodsArgs(argv));

describe('secondary-address mode: the EKS AMI\'s eni-max-pods.txt', () => {
  it.each([
    // type, ENIs, IPv4 per ENI, max pods = ENIs × (IPv4 − 1) + 2
    ['t2.micro', 2, 2, 4],
    ['t2.medium', 3, 6, 17],
    ['t3.nano', 2, 2, 4],
    ['t3.large', 3, 12, 35],
    ['t4g.medium', 3, 6, 17],
    ['a1.large', 3, 10, 29],
    ['m5.large', 3, 10, 29],
    ['m5.metal', 15, 50, 737],
    ['m6i.32xlarge', 15, 50, 737],
    ['m7g.large', 3, 10, 29],
    ['m7i.large', 3, 10, 29],
    ['c5.9xlarge', 8, 30, 234],
    ['c5n.18xlarge', 15, 50, 737],
    ['r5.large', 3, 10, 29],
    ['p4d.24xlarge', 15, 50, 737],
    ['p5.48xlarge', 2, 50, 100],
  ] as const)('%s: %i ENIs × %i IPv4 → %i', (type, enis, ipv4, expected) => {
    expect(instanceLimits(type)).toMatchObject({ maxInterfaces: enis, ipv4PerInterface: ipv4 });
    expect(enis * (ipv4 - 1) + 2).toBe(expected);
    expect(maxPods('--instance-type', type)).toBe(String(expected));
  });
});

describe('prefix mode', () => {
  it.each([
    ['t2.micro', '--prefix-delegation', 34], // 2 × 1 × 16 + 2: under both ceilings
    ['t3.nano', '--prefix-delegation', 34],
    ['m5.large', '--prefix-delegation', 110], // 2 vCPUs: 434 capped at 110
    ['m7g.large', '--prefix-delegation', 110],
    ['c5.9xlarge', '--prefix-delegation', 250], // 36 vCPUs > 30
    ['m5.8xlarge', '--prefix-delegation', 250], // 32 vCPUs
    ['m5.4xlarge', '--prefix-delegation', 110], // 16 vCPUs
    ['c5n.18xlarge', '--prefix-delegation', 250], // 72 vCPUs
    ['p4d.24xlarge', '--prefix-delegation', 250], // 96 vCPUs
    ['m5.metal', '--prefix-delegation', 250], // 96 vCPUs
  ] as const)('%s %s → %i', (type, flag, expected) => {
    expect(maxPods('--instance-type', type, flag)).toBe(String(expected));
    expect(maxPodsNote(parseMaxPodsArgs(['--instance-type', type, flag]))).toBeUndefined();
  });

  it('--show-max-allowed lifts the ceiling', () => {
    expect(maxPods('--instance-type', 'm5.large', '--prefix-delegation', '--show-max-allowed')).toBe(String(3 * 9 * 16 + 2));
    expect(maxPods('--instance-type', 'p4d.24xlarge', '--prefix-delegation', '--show-max-allowed')).toBe(String(15 * 49 * 16 + 2));
  });

  it('a type without a vCPU count gets 110 and a note saying so, unless --vcpus is given', () => {
    const unknownVcpus = 'r7i.48xlarge';
    expect(instanceLimits(unknownVcpus)).toEqual({ maxInterfaces: 15, ipv4PerInterface: 50 });
    const request = parseMaxPodsArgs(['--instance-type', unknownVcpus, '--prefix-delegation']);
    expect(renderMaxPods(request)).toBe('110');
    expect(maxPodsNote(request)).toBe('the table has no vCPU count for r7i.48xlarge: assumed ≤ 30 (ceiling 110); give --vcpus N if it has more');
    expect(JSON.parse(maxPods('--instance-type', unknownVcpus, '--prefix-delegation', '--json'))).toMatchObject({ maxPods: 110, ceiling: 110, note: expect.stringContaining('assumed ≤ 30') });
    expect(maxPods('--instance-type', unknownVcpus, '--prefix-delegation', '--vcpus', '192')).toBe('250');
    expect(maxPodsNote(parseMaxPodsArgs(['--instance-type', unknownVcpus]))).toBeUndefined();
  });
});

it('an unknown type is one clear message naming the table and the flags', () => {
  expect(() => parseMaxPodsArgs(['--instance-type', 'x9.huge'])).toThrow(MaxPodsUsageError);
  // AWS's table, among any other cloud's (each registered plugin's instanceLimitsTable, in registry order).
  expect(() => parseMaxPodsArgs(['--instance-type', 'x9.huge'])).toThrow(
    /^instance type x9\.huge is not in the built-in (?:table of [^;]* or the )?table of \d+ types \(data\/aws-instance-limits\.json, from amazon-vpc-cni-k8s v\d+\.\d+\.\d+\)(?: or the table of [^;]*)?; give --max-enis, --ipv4-per-eni and --vcpus$/,
  );
  for (const table of CLOUD_PLUGINS.flatMap((plugin) => plugin.instanceLimitsTable?.() ?? [])) {
    expect(() => parseMaxPodsArgs(['--instance-type', 'x9.huge'])).toThrow(table.replace(/^the /, ''));
  }
  expect(maxPods('--instance-type', 'x9.huge', '--max-enis', '4', '--ipv4-per-eni', '15')).toBe('58');
});
