import { describe, expect, it } from 'vitest';
import { AddressPool } from '../../src/ipamd/pool/plan/address-pool.js';
import { expectedNodeOf, observationDifference, type ExpectedNode } from '../../src/ipamd/pool/plan/node-observation.js';
import type { CloudInterface, NodeObservation, NodeSnapshot } from '../../src/core/types.js';

const expected: ExpectedNode = {
  vpcCidrs: ['10.0.0.0/16'],
  interfaces: [
    { id: 'eni-0', addresses: ['10.0.0.10', '10.0.0.11', '10.0.0.12'], prefixes: [] },
    { id: 'eni-1', addresses: ['10.0.0.20', '10.0.0.21'], prefixes: ['10.0.4.16/28'] },
  ],
};

function observed(change: (o: { interfaces: Array<{ id: string; addresses: string[]; prefixes: string[] }>; vpcCidrs?: string[] }) => void = () => {}): NodeObservation {
  const o = {
    vpcCidrs: ['10.0.0.0/16'],
    interfaces: [
      // IMDS order need not match: device 1 listed first, addresses shuffled.
      { id: 'eni-1', addresses: ['10.0.0.21', '10.0.0.20'], prefixes: ['10.0.4.16/28'] },
      { id: 'eni-0', addresses: ['10.0.0.12', '10.0.0.10', '10.0.0.11'], prefixes: [] },
    ],
  };
  change(o);
  return {
    ...(o.vpcCidrs === undefined ? {} : { vpcCidrs: o.vpcCidrs }),
    interfaces: o.interfaces.map((i, n) => ({ ...i, mac: `02:00:00:00:00:0${n}`, deviceIndex: i.id === 'eni-0' ? 0 : 1 })),
  };
}

describe('observationDifference', () => {
  it.each<[string, Parameters<typeof observed>[0], string | undefined]>([
    ['the same node in another order', () => {}, undefined],
    ['no VPC CIDRs read', (o) => delete o.vpcCidrs, undefined],
    ['an address gone', (o) => o.interfaces[1]!.addresses.pop(), 'eni-0: 10.0.0.11 not on the node'],
    ['an address added behind our back', (o) => o.interfaces[0]!.addresses.push('10.0.0.22'), 'eni-1: 10.0.0.22 on the node but not known'],
    ['a prefix gone', (o) => (o.interfaces[0]!.prefixes = []), 'eni-1: prefix 10.0.4.16/28 not on the node'],
    ['a prefix added', (o) => o.interfaces[1]!.prefixes.push('10.0.5.0/28'), 'eni-0: prefix 10.0.5.0/28 on the node but not known'],
    ['an interface detached', (o) => o.interfaces.splice(0, 1), 'eni-1 is not attached'],
    ['an interface attached behind our back', (o) => o.interfaces.push({ id: 'eni-9', addresses: ['10.0.0.90'], prefixes: [] }), 'eni-9 is attached but not known'],
    ['the VPC gained a CIDR', (o) => o.vpcCidrs?.push('100.64.0.0/16'), 'VPC CIDR 100.64.0.0/16 on the node but not known'],
  ])('%s', (_name, change, difference) => {
    expect(observationDifference(observed(change), expected)).toBe(difference);
  });
});

describe('expectedNodeOf', () => {
  const iface = (id: string, deviceIndex: number, primaryIp: string, secondaryIps: string[], extra: Partial<CloudInterface> = {}): CloudInterface => ({
    id,
    mac: `02:00:00:00:00:0${deviceIndex}`,
    deviceIndex,
    subnetId: 'subnet-1',
    subnetCidr: '10.0.0.0/16',
    primaryIp,
    secondaryIps,
    managed: deviceIndex > 0,
    ...extra,
  });

  it("uses the pool's addresses for its interfaces and the snapshot for the others", () => {
    const primary = iface('eni-0', 0, '10.0.0.10', ['10.0.0.11']);
    const ours = iface('eni-1', 1, '10.0.0.20', ['10.0.0.21'], { prefixes: ['10.0.4.16/28'] });
    const foreign = iface('eni-2', 2, '10.0.0.30', ['10.0.0.31'], { managed: false });
    const node: NodeSnapshot = {
      instanceId: 'i-1',
      instanceType: 'm5.large',
      primaryIp: '10.0.0.10',
      vpcCidrs: ['10.0.0.0/16'],
      limits: { maxInterfaces: 3, ipv4PerInterface: 10 },
      interfaces: [primary, ours, foreign],
    };
    const pool = new AddressPool();
    pool.addInterface(primary);
    pool.addInterface(ours);
    // Grown since the snapshot: the pool knows more than the snapshot says.
    pool.addAddresses('eni-0', ['10.0.0.12']);
    pool.addPrefixes('eni-1', ['10.0.5.0/28']);
    const want = expectedNodeOf(node, pool);
    expect(want.vpcCidrs).toEqual(['10.0.0.0/16']);
    expect(want.interfaces.map((i) => ({ ...i, addresses: [...i.addresses].sort() }))).toEqual([
      { id: 'eni-0', addresses: ['10.0.0.10', '10.0.0.11', '10.0.0.12'], prefixes: [] },
      { id: 'eni-1', addresses: ['10.0.0.20', '10.0.0.21'], prefixes: ['10.0.4.16/28', '10.0.5.0/28'] },
      { id: 'eni-2', addresses: ['10.0.0.30', '10.0.0.31'], prefixes: [] },
    ]);
  });
});
