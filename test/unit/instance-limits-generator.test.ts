/** The parsers of scripts/generate-instance-limits.ts, on small fixtures written for this test. */
import { describe, expect, it } from 'vitest';
import {
  GoParseError,
  limitsFromVpcCniSource,
  parseGoMapLiteral,
  renderLimitsJson,
  vcpusFromInstancesListing,
} from '../../scripts/instance-limits/parse.js';

// A few entries in the shape of the VPC CNI's generated table (the numbers are made up where the
// type is made up).
const FIXTURE = `
package vpc

// A comment, and a brace in one: {
var limitsTable = map[string]InstanceTypeLimits{
	"zz.large": {
		ENILimit:                3,
		IPv4Limit:               10,
		DefaultNetworkCardIndex: 0,
		NetworkCards: []NetworkCard{
			{
				MaximumNetworkInterfaces: 3,
				NetworkCardIndex:         0,
			},
		},
		HypervisorType: "nitro",
		IsBareMetal:    false,
	},
	"aa.metal": {ENILimit: 15, IPv4Limit: 50, DefaultNetworkCardIndex: 0,
		NetworkCards: []NetworkCard{{MaximumNetworkInterfaces: 15, NetworkCardIndex: 0}}, HypervisorType: "unknown", IsBareMetal: true},
	"gpu.48xlarge": {
		ENILimit:  2,
		IPv4Limit: 50, /* inline comment */
		NetworkCards: []NetworkCard{
			{MaximumNetworkInterfaces: 2, NetworkCardIndex: 1},
			{MaximumNetworkInterfaces: 2, NetworkCardIndex: 0},
		},
		HypervisorType: "nitro",
		IsBareMetal:    false,
	},
	"old.small": {ENILimit: 2, IPv4Limit: 4, HypervisorType: "xen", IsBareMetal: false},
}

func unrelated() {}
`;

describe('parseGoMapLiteral', () => {
  it('reads keyed and unkeyed composite literals, skipping comments', () => {
    const map = parseGoMapLiteral(FIXTURE);
    expect(Object.keys(map)).toEqual(['zz.large', 'aa.metal', 'gpu.48xlarge', 'old.small']);
    expect(map['aa.metal']).toEqual({
      ENILimit: 15,
      IPv4Limit: 50,
      DefaultNetworkCardIndex: 0,
      NetworkCards: [{ MaximumNetworkInterfaces: 15, NetworkCardIndex: 0 }],
      HypervisorType: 'unknown',
      IsBareMetal: true,
    });
  });

  it('finds the map by name, and says when it is not there or broken', () => {
    expect(Object.keys(parseGoMapLiteral(FIXTURE, 'limitsTable'))).toHaveLength(4);
    expect(() => parseGoMapLiteral(FIXTURE, 'other')).toThrow(GoParseError);
    expect(() => parseGoMapLiteral('var m = map[string]T{"a": {X: 1}')).toThrow(GoParseError);
    expect(() => parseGoMapLiteral('var m = map[string]T{"a": {X: 1 Y: 2}}')).toThrow(/expected , or }/);
  });
});

describe('limitsFromVpcCniSource', () => {
  it('gives each type its ENIs, IPv4 per ENI, hypervisor, bare metal and network cards by index', () => {
    const limits = limitsFromVpcCniSource(FIXTURE);
    expect(limits.get('zz.large')).toEqual({ enis: 3, ipv4PerEni: 10, hypervisor: 'nitro', bareMetal: false, defaultNetworkCardIndex: 0, networkCards: [3] });
    expect(limits.get('aa.metal')).toMatchObject({ enis: 15, ipv4PerEni: 50, hypervisor: 'unknown', bareMetal: true });
    expect(limits.get('gpu.48xlarge')).toMatchObject({ enis: 2, networkCards: [2, 2] });
    expect(limits.get('old.small')).toEqual({ enis: 2, ipv4PerEni: 4, hypervisor: 'xen', bareMetal: false, defaultNetworkCardIndex: 0, networkCards: [] });
  });

  it('refuses a table it cannot trust', () => {
    expect(() => limitsFromVpcCniSource('var m = map[string]T{"a": {IPv4Limit: 4}}')).toThrow(/a: ENILimit/);
    expect(() => limitsFromVpcCniSource('var m = map[string]T{"a": {ENILimit: 2, IPv4Limit: 4, NetworkCards: []C{{MaximumNetworkInterfaces: 2, NetworkCardIndex: 1}}}}')).toThrow(/indexes/);
  });
});

it('vcpusFromInstancesListing reads vCPUs ("CPU cores") and memory per type', () => {
  const listing = [
    'Instance type: zz.large,\tCPU: Some CPU,\t Arch: x86_64,\tCPU cores: 2,\tMemory(GB): 8,\tEBS Throughput(MB/s): 1,\tLinux OD cost in us-east-1: 0.1',
    'Instance type: tiny.nano,\tCPU: Some CPU,\t Arch: arm64,\tCPU cores: 2,\tMemory(GB): 0.5,\tEBS Throughput(MB/s): 1',
    'Instance type: zero.none,\tCPU: ,\t Arch: x86_64,\tCPU cores: 0,\tMemory(GB): 0,',
    'not a listing line',
  ].join('\n');
  const vcpus = vcpusFromInstancesListing(listing);
  expect([...vcpus.entries()]).toEqual([
    ['zz.large', { vcpus: 2, memoryMiB: 8192 }],
    ['tiny.nano', { vcpus: 2, memoryMiB: 512 }],
  ]);
});

it('renderLimitsJson writes a header and the types sorted, vCPUs merged where known', () => {
  const text = renderLimitsJson(limitsFromVpcCniSource(FIXTURE), new Map([['zz.large', { vcpus: 2, memoryMiB: 8192 }]]), {
    generated: '2026-01-02',
    limits: { module: 'github.com/aws/amazon-vpc-cni-k8s', version: 'v9.9.9', file: 'pkg/vpc/vpc_ip_resource_limit.go' },
    vcpus: { module: 'example.com/cpus', version: 'v0.0.1', file: 'cpus.txt' },
  });
  const json = JSON.parse(text) as { source: Record<string, unknown>; types: Record<string, Record<string, unknown>> };
  expect(json.source).toMatchObject({ generated: '2026-01-02', types: 4, withVcpus: 1, limits: { version: 'v9.9.9' } });
  expect(Object.keys(json.types)).toEqual(['aa.metal', 'gpu.48xlarge', 'old.small', 'zz.large']);
  expect(json.types['zz.large']).toEqual({ enis: 3, ipv4PerEni: 10, hypervisor: 'nitro', bareMetal: false, defaultNetworkCardIndex: 0, networkCards: [3], vcpus: 2, memoryMiB: 8192 });
  expect(json.types['aa.metal']).not.toHaveProperty('vcpus');
  expect(text.split('\n').filter((line) => /^    "[^"]+": \{"enis"/.test(line)).length).toBe(4);
});
