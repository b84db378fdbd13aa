/**
 * Instance-type limits are read twice, on purpose, from one file (data/aws-instance-limits.json):
 * by the AWS provider (src/providers/aws/instance-limits.ts, read by `nativeip max-pods`) and by
 * the EC2 emulator (src/emulator/aws/instance-types.ts, which answers DescribeInstanceTypes), each
 * through its own loader since neither may import the other. They must say the same of every type.
 */
import { describe, expect, it } from 'vitest';
import data from '../../data/aws-instance-limits.json' with { type: 'json' };
import { instanceTypeTable, instanceTypeTableOf } from '../../src/emulator/aws/instance-types.js';
import { describeInstanceLimits, instanceLimits, knownInstanceTypes } from '../../src/providers/aws/instance-limits.js';

describe('data/aws-instance-limits.json', () => {
  it('names its source and holds every current instance type', () => {
    expect(data.source.limits.module).toBe('github.com/aws/amazon-vpc-cni-k8s');
    expect(data.source.limits.version).toMatch(/^v\d+\.\d+\.\d+$/);
    expect(data.source.limits.file).toMatch(/vpc_ip_resource_limit\.go$/);
    expect(Object.keys(data.types).length).toBe(data.source.types);
    expect(data.source.types).toBeGreaterThan(1000);
    for (const family of ['t2', 't3', 't4g', 'a1', 'c5', 'c5n', 'm5', 'm6i', 'm7g', 'm7i', 'r5', 'p4d']) {
      expect(knownInstanceTypes().some((name) => name.startsWith(`${family}.`)), family).toBe(true);
    }
  });

  it('is sorted by name', () => {
    const names = Object.keys(data.types);
    expect(names).toEqual([...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  });

  it('the provider describes it in one phrase', () => {
    expect(describeInstanceLimits()).toBe(`the table of ${data.source.types} types (data/aws-instance-limits.json, from amazon-vpc-cni-k8s ${data.source.limits.version})`);
  });
});

it('the provider\'s built-in table and the EC2 emulator agree on every instance type', () => {
  const emulated = instanceTypeTable();
  expect([...emulated.keys()]).toEqual(knownInstanceTypes());
  for (const name of knownInstanceTypes()) {
    const info = emulated.get(name)!;
    const expected = { maxInterfaces: info.maxInterfaces, ipv4PerInterface: info.ipv4PerInterface };
    expect(instanceLimits(name), name).toEqual(info.vcpus === undefined ? expected : { ...expected, vcpus: info.vcpus });
  }
});

it('the emulator plays bare metal, the hypervisor and the network cards as the data has them', () => {
  const table = instanceTypeTable();
  expect(table.get('m5.metal')).toMatchObject({ bareMetal: true, hypervisor: undefined, maxInterfaces: 15, ipv4PerInterface: 50 });
  expect(table.get('t2.micro')).toMatchObject({ bareMetal: false, hypervisor: 'xen', burstable: true, maxInterfaces: 2, ipv4PerInterface: 2 });
  expect(table.get('m7g.large')).toMatchObject({ bareMetal: false, hypervisor: 'nitro', burstable: false });
  expect(table.get('p4d.24xlarge')).toMatchObject({ networkCards: 4, networkCardInterfaces: [15, 15, 15, 15], vcpus: 96 });
});

it('keeps the limits the old built-in table had (t3, m5, m6i, c5, r5)', () => {
  // ENIs, IPv4 per ENI and vCPUs as the provider's hand-written table had them before the data.
  const old: Record<string, readonly [number, number, number]> = {
    't3.nano': [2, 2, 2], 't3.small': [3, 4, 2], 't3.medium': [3, 6, 2], 't3.large': [3, 12, 2], 't3.2xlarge': [4, 15, 8],
    'm5.large': [3, 10, 2], 'm5.4xlarge': [8, 30, 16], 'm5.24xlarge': [15, 50, 96],
    'm6i.large': [3, 10, 2], 'm6i.32xlarge': [15, 50, 128],
    'c5.large': [3, 10, 2], 'c5.9xlarge': [8, 30, 36], 'c5.18xlarge': [15, 50, 72],
    'r5.large': [3, 10, 2], 'r5.16xlarge': [15, 50, 64],
  };
  for (const [name, [maxInterfaces, ipv4PerInterface, vcpus]] of Object.entries(old)) {
    expect(instanceLimits(name), name).toEqual({ maxInterfaces, ipv4PerInterface, vcpus });
  }
});

describe('the emulator\'s loader, like the provider\'s, checks every row of the data file', () => {
  const good = { enis: 3, ipv4PerEni: 10, hypervisor: 'nitro', bareMetal: false, defaultNetworkCardIndex: 0, networkCards: [3], vcpus: 2, memoryMiB: 8192 };

  it('reads a good row (vcpus and memoryMiB may be left out)', () => {
    const metal = { enis: 15, ipv4PerEni: 50, hypervisor: 'unknown', bareMetal: true, defaultNetworkCardIndex: 0, networkCards: [15] };
    const table = instanceTypeTableOf({ 'x9.large': good, 'x9.metal': metal });
    expect(table.get('x9.large')).toMatchObject({ maxInterfaces: 3, ipv4PerInterface: 10, hypervisor: 'nitro', vcpus: 2, memoryMiB: 8192 });
    expect(table.get('x9.metal')).toMatchObject({ hypervisor: undefined, bareMetal: true, vcpus: undefined, memoryMiB: undefined });
  });

  it.each([
    ['enis', { ...good, enis: '3' }],
    ['enis', { ...good, enis: undefined }],
    ['ipv4PerEni', { ...good, ipv4PerEni: 0 }],
    ['ipv4PerEni', { ...good, ipv4PerEni: 10.5 }],
    ['hypervisor', { ...good, hypervisor: 'kvm' }],
    ['bareMetal', { ...good, bareMetal: 'false' }],
    ['defaultNetworkCardIndex', { ...good, defaultNetworkCardIndex: -1 }],
    ['networkCards', { ...good, networkCards: 3 }],
    ['networkCards', { ...good, networkCards: [3, null] }],
    ['vcpus', { ...good, vcpus: null }],
    ['memoryMiB', { ...good, memoryMiB: 'lots' }],
  ])('a row whose %s is damaged is an error naming the file, the type and the field', (field, row) => {
    expect(() => instanceTypeTableOf({ 'x9.large': good, 'x9.xlarge': row })).toThrow(
      new RegExp(`^data/aws-instance-limits\\.json: x9\\.xlarge: ${field} must be `),
    );
  });

  it('a row that is not an object is an error naming the file and the type', () => {
    expect(() => instanceTypeTableOf({ 'x9.large': null })).toThrow('data/aws-instance-limits.json: x9.large: not an object: null');
    expect(() => instanceTypeTableOf({ 'x9.large': [3, 10] })).toThrow('data/aws-instance-limits.json: x9.large: not an object: [3,10]');
  });
});
