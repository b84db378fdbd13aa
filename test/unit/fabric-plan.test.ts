import { describe, expect, it } from 'vitest';
import {
  EMPTY_FABRIC_STATE,
  defaultVpcHostIp,
  findAddressClash,
  planSync,
  vpcRouterIp,
  type FabricOp,
  type FabricTopology,
  type FabricTopologyInterface,
} from '../../src/emulator/fabric/fabric-plan.js';

function eni(overrides: Partial<FabricTopologyInterface> & Pick<FabricTopologyInterface, 'interfaceId' | 'deviceIndex' | 'primaryIp'>): FabricTopologyInterface {
  return { mac: `02:00:00:00:00:0${overrides.deviceIndex}`, subnetCidr: '10.0.1.0/24', gateway: '10.0.1.1', secondaryIps: [], ...overrides };
}

function topo(instances: { instanceId: string; interfaces: FabricTopologyInterface[] }[]): FabricTopology {
  return { networkCidr: '10.0.0.0/16', instances };
}

const kinds = (ops: FabricOp[]): string[] => ops.map((o) => o.kind);

describe('planSync', () => {
  const one = topo([{ instanceId: 'i-1', interfaces: [eni({ interfaceId: 'eni-a', deviceIndex: 0, primaryIp: '10.0.1.10' })] }]);

  it('wires a new instance: node, primary ENI configured as at boot, its address routed', () => {
    const { ops, next } = planSync(EMPTY_FABRIC_STATE, one, 'fab-');
    expect(ops).toEqual([
      { kind: 'add-node', instanceId: 'i-1', netns: 'fab-n1' },
      {
        kind: 'add-interface',
        netns: 'fab-n1',
        interfaceId: 'eni-a',
        vpcLink: 'n1e0',
        nodeLink: 'eth0',
        mac: '02:00:00:00:00:00',
        gateway: '10.0.1.1',
        primary: { address: '10.0.1.10', prefixLength: 24, gateway: '10.0.1.1' },
      },
      { kind: 'add-address', vpcLink: 'n1e0', mac: '02:00:00:00:00:00', address: '10.0.1.10' },
    ]);
    expect(next.nextNodeIndex).toBe(2);
    expect(next.nodes.get('i-1')?.interfaces.get('eni-a')?.addresses).toEqual(['10.0.1.10']);
  });

  it('is a no-op when nothing changed', () => {
    const { next } = planSync(EMPTY_FABRIC_STATE, one, 'fab-');
    expect(planSync(next, one, 'fab-').ops).toEqual([]);
  });

  it('adds and removes secondary addresses on a wired ENI, removals first', () => {
    const withTwo = topo([{ instanceId: 'i-1', interfaces: [eni({ interfaceId: 'eni-a', deviceIndex: 0, primaryIp: '10.0.1.10', secondaryIps: ['10.0.1.20', '10.0.1.21'] })] }]);
    const moved = topo([{ instanceId: 'i-1', interfaces: [eni({ interfaceId: 'eni-a', deviceIndex: 0, primaryIp: '10.0.1.10', secondaryIps: ['10.0.1.21', '10.0.1.22'] })] }]);
    const s1 = planSync(EMPTY_FABRIC_STATE, withTwo, 'fab-').next;
    expect(planSync(s1, moved, 'fab-').ops).toEqual([
      { kind: 'remove-address', vpcLink: 'n1e0', address: '10.0.1.20' },
      { kind: 'add-address', vpcLink: 'n1e0', mac: '02:00:00:00:00:00', address: '10.0.1.22' },
    ]);
  });

  it('leaves a secondary ENI unconfigured and removes it with its addresses on detach', () => {
    const s1 = planSync(EMPTY_FABRIC_STATE, one, 'fab-').next;
    const attached = topo([
      {
        instanceId: 'i-1',
        interfaces: [
          eni({ interfaceId: 'eni-a', deviceIndex: 0, primaryIp: '10.0.1.10' }),
          eni({ interfaceId: 'eni-b', deviceIndex: 1, primaryIp: '10.0.1.30', secondaryIps: ['10.0.1.31'], mac: '02:AA:00:00:00:01' }),
        ],
      },
    ]);
    const { ops, next } = planSync(s1, attached, 'fab-');
    expect(kinds(ops)).toEqual(['add-interface', 'add-address', 'add-address']);
    expect(ops[0]).toMatchObject({ vpcLink: 'n1e1', nodeLink: 'eth1', mac: '02:aa:00:00:00:01', primary: undefined });
    expect(planSync(next, one, 'fab-').ops).toEqual([
      { kind: 'remove-interface', netns: 'fab-n1', interfaceId: 'eni-b', vpcLink: 'n1e1', addresses: ['10.0.1.30', '10.0.1.31'] },
    ]);
  });

  it('rewires an ENI that moved to another device index', () => {
    const at1 = topo([{ instanceId: 'i-1', interfaces: [eni({ interfaceId: 'eni-a', deviceIndex: 0, primaryIp: '10.0.1.10' }), eni({ interfaceId: 'eni-b', deviceIndex: 1, primaryIp: '10.0.1.30' })] }]);
    const at2 = topo([{ instanceId: 'i-1', interfaces: [eni({ interfaceId: 'eni-a', deviceIndex: 0, primaryIp: '10.0.1.10' }), eni({ interfaceId: 'eni-b', deviceIndex: 2, primaryIp: '10.0.1.30', mac: '02:00:00:00:00:01' })] }]);
    const s1 = planSync(EMPTY_FABRIC_STATE, at1, 'fab-').next;
    const { ops } = planSync(s1, at2, 'fab-');
    expect(kinds(ops)).toEqual(['remove-interface', 'add-interface', 'add-address']);
    expect(ops[1]).toMatchObject({ vpcLink: 'n1e2', nodeLink: 'eth2' });
  });

  it('removes a terminated instance and never reuses its node number', () => {
    const two = topo([
      { instanceId: 'i-1', interfaces: [eni({ interfaceId: 'eni-a', deviceIndex: 0, primaryIp: '10.0.1.10' })] },
      { instanceId: 'i-2', interfaces: [eni({ interfaceId: 'eni-c', deviceIndex: 0, primaryIp: '10.0.1.11' })] },
    ]);
    const s1 = planSync(EMPTY_FABRIC_STATE, two, 'fab-').next;
    const onlySecond = topo([two.instances[1]!, { instanceId: 'i-3', interfaces: [] }].map((i) => ({ ...i, interfaces: [...i.interfaces] })));
    const { ops, next } = planSync(s1, onlySecond, 'fab-');
    expect(ops).toEqual([
      { kind: 'remove-interface', netns: 'fab-n1', interfaceId: 'eni-a', vpcLink: 'n1e0', addresses: ['10.0.1.10'], publicSource: '10.0.1.10' },
      { kind: 'remove-node', instanceId: 'i-1', netns: 'fab-n1' },
      { kind: 'add-node', instanceId: 'i-3', netns: 'fab-n3' },
    ]);
    expect([...next.nodes.keys()]).toEqual(['i-2', 'i-3']);
  });
});

describe('vpc-host address', () => {
  it.each([
    ['10.0.0.0/16', '10.0.255.254', '10.0.0.1'],
    ['192.168.0.0/24', '192.168.0.254', '192.168.0.1'],
  ])('in %s defaults to %s, next hop %s', (cidr, host, router) => {
    expect(defaultVpcHostIp(cidr)).toBe(host);
    expect(vpcRouterIp(cidr)).toBe(router);
  });

  it.each([
    ['10.0.255.254', undefined],
    ['10.1.0.5', 'outside the VPC CIDR'],
    ['10.0.1.200', 'lies in subnet 10.0.1.0/24 of eni-a on i-1'],
  ])('%s clash: %s', (ip, why) => {
    const t = topo([{ instanceId: 'i-1', interfaces: [eni({ interfaceId: 'eni-a', deviceIndex: 0, primaryIp: '10.0.1.10' })] }]);
    const clash = findAddressClash(t, ip);
    if (why === undefined) expect(clash).toBeUndefined();
    else expect(clash).toContain(why);
  });

  it('also stays out of subnets no ENI uses yet', () => {
    const t = topo([]);
    expect(findAddressClash(t, '10.0.255.254', ['10.0.0.0/20'])).toBeUndefined();
    expect(findAddressClash(t, '10.0.255.254', ['10.0.0.0/20', '10.0.240.0/20'])).toContain('lies in subnet 10.0.240.0/20');
  });
});
