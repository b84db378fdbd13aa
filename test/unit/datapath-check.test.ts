import { describe, expect, it } from 'vitest';
import { diffPlan } from '../../src/ipamd/datapath/check.js';
import { planInterface, planPod } from '../../src/ipamd/datapath/plan.js';
import type { NamespaceState } from '../../src/ipamd/datapath/kernel-state.js';

const HOST_MAC = '02:00:00:00:00:01';
const POD_MAC = '02:00:00:00:00:02';
const plan = planPod(
  { netnsPath: '/run/netns/p', podIfName: 'eth0', hostVethName: 'enia', address: '10.0.1.5', mtu: 9001, routeTable: 2 },
  { host: HOST_MAC, pod: POD_MAC },
);

function goodHost(): NamespaceState {
  return {
    links: [
      { index: 1, name: 'lo', mac: '00:00:00:00:00:00', mtu: 65536, up: true },
      { index: 7, name: 'enia', mac: HOST_MAC, mtu: 9001, up: true, kind: 'veth' },
    ],
    addresses: [],
    routes: [{ table: 254, dst: '10.0.1.5', dstLen: 32, oif: 7, scope: 253, type: 1 }],
    rules: [
      { priority: 512, table: 254, action: 1, dst: { address: '10.0.1.5', prefixLen: 32 } },
      { priority: 1536, table: 2, action: 1, src: { address: '10.0.1.5', prefixLen: 32 } },
    ],
    neighbours: [],
  };
}

function goodPod(): NamespaceState {
  return {
    links: [{ index: 2, name: 'eth0', mac: POD_MAC, mtu: 9001, up: true, kind: 'veth' }],
    addresses: [{ index: 2, address: '10.0.1.5', prefixLen: 32 }],
    routes: [
      { table: 254, dst: '169.254.1.1', dstLen: 32, oif: 2, scope: 253, type: 1 },
      { table: 254, dst: '0.0.0.0', dstLen: 0, oif: 2, gateway: '169.254.1.1', scope: 0, type: 1 },
    ],
    rules: [],
    neighbours: [{ index: 2, address: '169.254.1.1', lladdr: HOST_MAC, permanent: true }],
  };
}

describe('diffPlan for a pod', () => {
  it('reports nothing when the kernel matches', () => {
    expect(diffPlan(plan, goodHost(), { state: goodPod() })).toEqual([]);
  });

  it.each<[string, (h: NamespaceState, p: NamespaceState) => [NamespaceState, NamespaceState], string[]]>([
    ['host route missing', (h, p) => [{ ...h, routes: [] }, p], ['route 10.0.1.5/32 dev enia missing from main table']],
    [
      'host route through another link',
      (h, p) => [{ ...h, routes: [{ table: 254, dst: '10.0.1.5', dstLen: 32, oif: 1, scope: 253, type: 1 }] }, p],
      ['route 10.0.1.5/32 in main table is 10.0.1.5/32 dev lo scope link, expected 10.0.1.5/32 dev enia scope link'],
    ],
    ['to-rule missing', (h, p) => [{ ...h, rules: h.rules.slice(1) }, p], ['rule to 10.0.1.5/32 lookup main missing']],
    ['from-rule missing', (h, p) => [{ ...h, rules: h.rules.slice(0, 1) }, p], ['rule from 10.0.1.5/32 lookup 2 missing']],
    [
      'rule at another priority',
      (h, p) => [{ ...h, rules: [{ ...h.rules[0]!, priority: 100 }, h.rules[1]!] }, p],
      ['rule to 10.0.1.5/32 lookup main has priority 100, expected 512'],
    ],
    [
      'wrong pod address',
      (h, p) => [h, { ...p, addresses: [{ index: 2, address: '10.0.1.9', prefixLen: 32 }] }],
      ['pod eth0 has address 10.0.1.9/32, expected 10.0.1.5/32'],
    ],
    ['no pod address', (h, p) => [h, { ...p, addresses: [] }], ['pod eth0 has no IPv4 address, expected 10.0.1.5/32']],
    [
      'pod default route missing',
      (h, p) => [h, { ...p, routes: p.routes.slice(0, 1) }],
      ['pod route default via 169.254.1.1 dev eth0 missing from main table'],
    ],
    ['neighbour missing', (h, p) => [h, { ...p, neighbours: [] }], ['pod neighbour 169.254.1.1 dev eth0 missing']],
    [
      'neighbour stale and wrong',
      (h, p) => [h, { ...p, neighbours: [{ index: 2, address: '169.254.1.1', lladdr: '02:00:00:00:00:99', permanent: false }] }],
      [
        'pod neighbour 169.254.1.1 dev eth0 has lladdr 02:00:00:00:00:99, expected 02:00:00:00:00:01',
        'pod neighbour 169.254.1.1 dev eth0 is not permanent',
      ],
    ],
    [
      'links down and MTU changed',
      (h, p) => [
        { ...h, links: [h.links[0]!, { ...h.links[1]!, up: false, mtu: 1500 }] },
        { ...p, links: [{ ...p.links[0]!, up: false }] },
      ],
      ['host veth enia has MTU 1500, expected 9001', 'pod eth0 is down', 'host veth enia is down'],
    ],
  ])('%s', (_name, mutate, expected) => {
    const [host, pod] = mutate(goodHost(), goodPod());
    expect(diffPlan(plan, host, { state: pod })).toEqual(expected);
  });

  it('reports a missing veth once per end, not once per object on it', () => {
    const host = { ...goodHost(), links: goodHost().links.slice(0, 1), routes: [] };
    const pod = { ...goodPod(), links: [], addresses: [], routes: [], neighbours: [] };
    expect(diffPlan(plan, host, { state: pod })).toEqual([
      'host veth enia missing',
      'pod eth0 missing in /run/netns/p',
      'pod route 169.254.1.1/32 dev eth0 missing from main table',
      'pod route default via 169.254.1.1 dev eth0 missing from main table',
      'route 10.0.1.5/32 dev enia missing from main table',
    ]);
  });

  it('says why the pod side could not be read', () => {
    expect(diffPlan(plan, goodHost(), { unavailable: 'pod netns /run/netns/p cannot be read: gone' })).toEqual([
      'pod netns /run/netns/p cannot be read: gone',
    ]);
  });
});

describe('diffPlan for an interface', () => {
  const iface = planInterface({ mac: '02:00:00:00:02:01', primaryIp: '10.0.2.17', subnetCidr: '10.0.2.0/24', mtu: 9001, routeTable: 2 }, 'ens6');

  it('reports a missing link, table and rule', () => {
    const host: NamespaceState = { links: [], addresses: [], routes: [], rules: [], neighbours: [] };
    expect(diffPlan(iface, host, { unavailable: 'unused' })).toEqual([
      'host link ens6 missing',
      'route 10.0.2.0/24 dev ens6 missing from table 2',
      'route default via 10.0.2.1 dev ens6 missing from table 2',
      'rule from 10.0.2.17/32 lookup 2 missing',
    ]);
  });
});
