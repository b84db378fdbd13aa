import { describe, expect, it } from 'vitest';
import { MaxPodsUsageError, parseMaxPodsArgs, renderMaxPods, supportsPrefixes } from '../../src/cli/max-pods.js';
import { computeMaxPods } from '../../src/ipamd/pool/plan/max-pods.js';

describe('computeMaxPods (EKS max-pods calculator)', () => {
  it.each([
    // instance, ENIs, IPv4/ENI, vCPUs, prefix, maxEni, expected
    ['t3.medium secondary', 3, 6, 2, false, undefined, 17],
    ['m5.large secondary', 3, 10, 2, false, undefined, 29],
    ['m5.2xlarge secondary', 4, 15, 8, false, undefined, 58],
    ['m5.24xlarge secondary is not capped', 15, 50, 96, false, undefined, 737],
    ['m5.large prefix: 434 capped at 110', 3, 10, 2, true, undefined, 110],
    ['m5.16xlarge prefix: >30 vCPUs, capped at 250', 15, 50, 64, true, undefined, 250],
    ['c5.9xlarge prefix: 36 vCPUs, 250', 8, 30, 36, true, undefined, 250],
    ['exactly 30 vCPUs keeps 110, as the calculator (-gt 30)', 8, 30, 30, true, undefined, 110],
    ['t3.nano prefix below the cap', 2, 2, 2, true, undefined, 34],
    ['unknown vCPUs: 110', 4, 15, undefined, true, undefined, 110],
    ['MAX_ENI lowers the ENI count', 3, 10, 2, false, 1, 11],
  ])('%s', (_name, maxInterfaces, ipv4PerInterface, vcpus, prefixDelegation, maxEni, expected) => {
    expect(computeMaxPods({ maxInterfaces, ipv4PerInterface, vcpus, prefixDelegation, maxEni }).maxPods).toBe(expected);
  });

  it('--show-max-allowed leaves prefix mode uncapped', () => {
    expect(computeMaxPods({ maxInterfaces: 3, ipv4PerInterface: 10, vcpus: 2, prefixDelegation: true, uncapped: true }).maxPods).toBe(434);
  });
});

describe('nativeip max-pods arguments', () => {
  it.each([
    [['--instance-type', 'm5.large'], '29'],
    [['--instance-type', 'm5.large', '--prefix-delegation'], '110'],
    [['--instance-type', 'm5.large', '--cni-prefix-delegation-enabled', '--cni-version', '1.8.0'], '29'],
    [['--instance-type', 'm5.large', '--cni-prefix-delegation-enabled', '--cni-version', 'v1.18.3'], '110'],
    [['--instance-type', 'm5.large', '--cni-max-eni', '2'], '20'],
    [['--instance-type', 'm5.large', '--prefix-delegation', '--show-max-allowed'], '434'],
    [['--max-enis', '4', '--ipv4-per-eni', '15', '--vcpus', '48', '--prefix-delegation'], '250'],
  ])('%j prints %s', (argv, expected) => {
    expect(renderMaxPods(parseMaxPodsArgs(argv))).toBe(expected);
  });

  it('explains the numbers with --json', () => {
    expect(JSON.parse(renderMaxPods(parseMaxPodsArgs(['--instance-type', 'm5.large', '--prefix-delegation', '--json'])))).toEqual({
      instanceType: 'm5.large',
      mode: 'prefix',
      interfaces: 3,
      ipv4PerInterface: 10,
      vcpus: 2,
      addressable: 434,
      ceiling: 110,
      maxPods: 110,
    });
  });

  it.each([
    [['--instance-type', 'x9.mega'], 'not in the built-in table'],
    [[], 'give --instance-type'],
    [['--instance-type'], 'needs a value'],
    [['--instance-type', 'm5.large', '--max-eni', '0'], 'whole number ≥ 1'],
    [['--instance-type', 'm5.large', '--bogus'], 'unknown argument --bogus'],
    [['--instance-type', 'm5.large', '--prefix-delegation', '--cni-version', 'latest'], 'look like 1.18.0'],
  ])('%j is a usage error', (argv, message) => {
    expect(() => parseMaxPodsArgs(argv)).toThrow(MaxPodsUsageError);
    expect(() => parseMaxPodsArgs(argv)).toThrow(message);
  });

  it.each([
    ['1.9.0', true],
    ['1.8.5', false],
    ['2.0.0', true],
  ])('CNI %s supports prefixes: %s', (version, expected) => {
    expect(supportsPrefixes(version)).toBe(expected);
  });
});
