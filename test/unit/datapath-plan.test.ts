import { describe, expect, it } from 'vitest';
import { describe as describeObject, planInterface, planPod, planPodTeardown, type PlanObject } from '../../src/ipamd/datapath/plan.js';
import type { PodNetworkSpec } from '../../src/ipamd/datapath/types.js';

const macs = { host: '02:00:00:00:00:01', pod: '02:00:00:00:00:02' };
const spec: PodNetworkSpec = {
  netnsPath: '/var/run/netns/cni-1234',
  podIfName: 'eth0',
  hostVethName: 'eni1234567890a',
  address: '10.0.1.5',
  mtu: 9001,
};

describe('planPod', () => {
  it('lists the pod objects in creation order', () => {
    expect(planPod(spec, macs).map(describeObject)).toEqual([
      'veth eni1234567890a peer eth0 in /var/run/netns/cni-1234',
      'pod address 10.0.1.5/32 dev eth0',
      'pod link eth0 up',
      'pod route 169.254.1.1/32 dev eth0 scope link',
      'pod route default via 169.254.1.1 dev eth0',
      'pod neighbour 169.254.1.1 lladdr 02:00:00:00:00:01 dev eth0 permanent',
      'host link eni1234567890a up',
      'host route 10.0.1.5/32 dev eni1234567890a scope link table main',
      'rule to 10.0.1.5/32 lookup main priority 512',
    ]);
  });

  it('adds the from-rule when the address belongs to a secondary interface', () => {
    const plan = planPod({ ...spec, routeTable: 3 }, macs);
    expect(plan.at(-1)).toEqual({
      kind: 'rule',
      side: 'host',
      priority: 1536,
      table: 3,
      src: { address: '10.0.1.5', prefixLen: 32 },
    } satisfies PlanObject);
    expect(describeObject(plan.at(-1)!)).toBe('rule from 10.0.1.5/32 lookup 3 priority 1536');
  });

  it('keeps veth MACs and the MTU on the veth object', () => {
    expect(planPod(spec, { host: '02:AA:00:00:00:01', pod: macs.pod })[0]).toMatchObject({
      kind: 'veth',
      hostMac: '02:aa:00:00:00:01',
      podMac: '02:00:00:00:00:02',
      mtu: 9001,
    });
  });

  it.each([
    [{ address: '10.0.1' }, 'invalid IPv4 address "10.0.1"'],
    [{ address: '10.0.1.256' }, 'invalid IPv4 address "10.0.1.256"'],
    [{ mtu: 40 }, 'invalid MTU 40'],
    [{ mtu: 1500.5 }, 'invalid MTU 1500.5'],
    [{ hostVethName: 'eni1234567890abc' }, 'invalid host veth name "eni1234567890abc"'],
    [{ hostVethName: '' }, 'invalid host veth name ""'],
    [{ podIfName: 'eth 0' }, 'invalid pod interface name "eth 0"'],
    [{ routeTable: 254 }, 'invalid route table 254'],
    [{ routeTable: 0 }, 'invalid route table 0'],
  ] as const)('rejects %o', (change, message) => {
    expect(() => planPod({ ...spec, ...change }, macs)).toThrow(message);
  });

  it('rejects a bad MAC', () => {
    expect(() => planPod(spec, { host: 'zz:00:00:00:00:01', pod: macs.pod })).toThrow('invalid MAC address "zz:00:00:00:00:01"');
  });
});

describe('planInterface', () => {
  const eni = { mac: '02:00:00:00:02:01', primaryIp: '10.0.2.17', subnetCidr: '10.0.2.0/24', mtu: 9001, routeTable: 2 };

  it('brings the link up, addresses it, fills its table and adds its rule', () => {
    expect(planInterface(eni, 'ens6').map(describeObject)).toEqual([
      'host link ens6 up mtu 9001',
      'host address 10.0.2.17/32 dev ens6',
      'host route 10.0.2.0/24 dev ens6 scope link src 10.0.2.17 table 2',
      'host route default via 10.0.2.1 dev ens6 table 2',
      'rule from 10.0.2.17/32 lookup 2 priority 1536',
    ]);
  });

  it.each([
    ['10.0.2.77/24', '10.0.2.0/24 dev ens6', 'via 10.0.2.1 '],
    ['172.31.32.0/20', '172.31.32.0/20 dev ens6', 'via 172.31.32.1 '],
    ['10.1.0.0/16', '10.1.0.0/16 dev ens6', 'via 10.1.0.1 '],
  ])('derives network and gateway from %s', (subnetCidr, route, via) => {
    const text = planInterface({ ...eni, subnetCidr }, 'ens6').map(describeObject).join('\n');
    expect(text).toContain(route);
    expect(text).toContain(via);
  });

  it('keeps tables above 255 as they are', () => {
    expect(planInterface({ ...eni, routeTable: 100000 }, 'ens6').filter((o) => 'table' in o && o.table === 100000)).toHaveLength(3);
  });

  it('rejects a subnet with no room for a gateway', () => {
    expect(() => planInterface({ ...eni, subnetCidr: '10.0.2.0/31' }, 'ens6')).toThrow('subnet 10.0.2.0/31 has no gateway address');
  });
});

describe('planPodTeardown', () => {
  it('names the host route and both rules', () => {
    const { route, rules } = planPodTeardown({ hostVethName: 'enia', address: '10.0.1.5', routeTable: 3 });
    expect([route, ...rules].map(describeObject)).toEqual([
      'host route 10.0.1.5/32 dev enia scope link table main',
      'rule to 10.0.1.5/32 lookup main priority 512',
      'rule from 10.0.1.5/32 lookup 3 priority 1536',
    ]);
  });

  it('matches the from-rule in any table when the address was on the primary interface', () => {
    const { rules } = planPodTeardown({ hostVethName: 'enia', address: '10.0.1.5' });
    expect(describeObject(rules[1]!)).toBe('rule from 10.0.1.5/32 lookup any priority 1536');
  });

  it('rejects an invalid address', () => {
    expect(() => planPodTeardown({ hostVethName: 'enia', address: 'nope' })).toThrow('invalid IPv4 address "nope"');
  });
});
