import { describe, expect, it } from 'vitest';

import { findPodLeftovers, findPodRoutes, podRouteAddresses } from '../../src/ipamd/datapath/leftovers.js';
import type { KernelLink, KernelRoute, KernelRule } from '../../src/ipamd/datapath/kernel-state.js';

const PROTO = 78;
const links: KernelLink[] = [
  { index: 1, name: 'lo', mac: '', mtu: 65536, up: true },
  { index: 2, name: 'eth0', mac: '02:00:00:00:00:10', mtu: 9001, up: true, kind: 'veth' },
  { index: 3, name: 'eth1', mac: '02:00:00:00:00:11', mtu: 9001, up: true, kind: 'veth' },
  { index: 10, name: 'enilive0000001', mac: '02:00:00:00:00:01', mtu: 9001, up: true, kind: 'veth' },
  { index: 11, name: 'enistale000002', mac: '02:00:00:00:00:02', mtu: 9001, up: true, kind: 'veth' },
  { index: 12, name: 'enidummy', mac: '02:00:00:00:00:03', mtu: 9001, up: true, kind: 'dummy' },
  { index: 13, name: 'lxc12345', mac: '02:00:00:00:00:04', mtu: 9001, up: true, kind: 'veth' },
];
const route = (dst: string, oif: number, extra: Partial<KernelRoute> = {}): KernelRoute => ({
  table: 254, dst, dstLen: 32, oif, scope: 253, type: 1, protocol: PROTO, ...extra,
});
const routes: KernelRoute[] = [
  route('10.0.1.5', 10),
  route('10.0.1.6', 11),
  route('10.0.1.7', 2),
  route('10.0.1.8', 2, { protocol: 4 }),
  route('10.0.1.9', 3, { table: 3 }),
  { table: 254, dst: '0.0.0.0', dstLen: 0, oif: 2, gateway: '10.0.1.1', scope: 0, type: 1, protocol: 4 },
];
const to = (address: string, priority = 512): KernelRule => ({ priority, table: 254, action: 1, dst: { address, prefixLen: 32 } });
const from = (address: string, table: number, priority = 1536): KernelRule => ({ priority, table, action: 1, src: { address, prefixLen: 32 } });
const rules: KernelRule[] = [
  { priority: 0, table: 255, action: 1 },
  to('10.0.1.5'),
  to('10.0.1.6'),
  from('10.0.2.20', 3),
  from('10.0.2.21', 3),
  from('10.0.2.10', 3),
  to('10.0.1.30', 100),
  from('10.0.2.22', 3, 100),
];

describe('findPodLeftovers', () => {
  const inUse = { veths: new Set(['enilive0000001']), addresses: new Set(['10.0.1.5', '10.0.2.20', '10.0.1.4']) };
  const found = findPodLeftovers({ links, addresses: [{ index: 3, address: '10.0.2.10', prefixLen: 32 }], routes, rules }, 'eni', PROTO, inUse);

  it('takes only prefixed veths no live pod owns', () => {
    expect(found.veths).toEqual(['enistale000002']);
  });

  it('takes our /32 main-table routes for unheld addresses, not ones going with a removed veth or installed by others', () => {
    expect(found.routes.map((r) => `${r.dst} ${r.dev}`)).toEqual(['10.0.1.7 eth0']);
  });

  it('takes to-pod and from-pod rules of unheld addresses, never an interface rule or other priorities', () => {
    expect(found.rules.map((r) => `${r.priority} ${r.dst?.address ?? r.src?.address}`)).toEqual(['512 10.0.1.6', '1536 10.0.2.21']);
  });

  it('finds nothing when everything is in use', () => {
    const all = { veths: new Set(links.map((l) => l.name)), addresses: new Set(['10.0.1.5', '10.0.1.6', '10.0.1.7', '10.0.2.10', '10.0.2.20', '10.0.2.21']) };
    expect(findPodLeftovers({ links, addresses: [], routes, rules }, 'eni', PROTO, all)).toEqual({ veths: [], routes: [], rules: [] });
  });
});

describe('podRouteAddresses', () => {
  it('takes the addresses of our /32 main-table routes, over any link, and nothing else', () => {
    expect([...podRouteAddresses(routes, PROTO)].sort()).toEqual(['10.0.1.5', '10.0.1.6', '10.0.1.7']);
  });
});

describe('findPodRoutes', () => {
  it('takes /32 main-table routes over prefixed veths, ours or another CNI’s (the AWS VPC CNI names its veths the same), nothing else', () => {
    const foreign = route('10.0.1.40', 11, { protocol: 3 });
    const found = findPodRoutes({ links: [...links, { ...links[3]!, index: 14, name: 'eniwithalias01', alias: 'nativeip1 x' }], routes: [...routes, foreign, route('10.0.1.41', 14), route('10.0.1.42', 13)] }, 'eni');
    expect(found).toEqual([
      { address: '10.0.1.5', hostVeth: 'enilive0000001' },
      { address: '10.0.1.6', hostVeth: 'enistale000002' },
      { address: '10.0.1.40', hostVeth: 'enistale000002' },
      { address: '10.0.1.41', hostVeth: 'eniwithalias01', alias: 'nativeip1 x' },
    ]);
  });
});
