/**
 * SNAT pieces against the real kernel (root): a pod's `from … to <CIDR>` rules as NetlinkDatapath
 * adds, checks, deletes and sweeps them, and the nft table NftEgressNat installs, updates and
 * removes. Namespaces `snat-it-*`.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetlinkDatapath } from '../../src/cni/datapath/netlink-datapath.js';
import { NftEgressNat, type SnatRules } from '../../src/cni/datapath/snat.js';
import type { PodNetworkSpec } from '../../src/cni/datapath/types.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('SNAT datapath integration tests skipped: they need root (network namespaces, netlink, nft)');

const HOST = 'snat-it-host';
const HOST_PATH = `/run/netns/${HOST}`;
const PODS = ['snat-it-pod1', 'snat-it-pod2'];

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function delNetns(name: string): void {
  try {
    ip('netns', 'del', name);
  } catch {
    // already gone
  }
}

/** `ip rule` lines at the from-pod priority mentioning `address`. */
function fromRules(address: string): string[] {
  return ip('-n', HOST, '-4', 'rule', 'show', 'priority', '1536')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.includes(`from ${address} `));
}

function nftTables(): string {
  return execFileSync('ip', ['netns', 'exec', HOST, 'nft', 'list', 'tables'], { encoding: 'utf8' });
}

describe.skipIf(!isRoot)('SNAT datapath on the kernel', () => {
  let dp: NetlinkDatapath;

  function pod(n: number, address: string): PodNetworkSpec {
    return { netnsPath: `/run/netns/${PODS[n]!}`, podIfName: 'eth0', hostVethName: `enisnat${n}`, address, mtu: 1500, routeTable: 3 };
  }

  beforeAll(async () => {
    for (const name of [HOST, ...PODS]) delNetns(name);
    for (const name of [HOST, ...PODS]) ip('netns', 'add', name);
    ip('-n', HOST, 'link', 'set', 'lo', 'up');
    dp = await NetlinkDatapath.open({ hostNetnsPath: HOST_PATH });
  });

  afterAll(() => {
    dp?.close();
    for (const name of [HOST, ...PODS]) delNetns(name);
  });

  it('adds one from-rule per destination, CHECK is clean, DEL removes them all', async () => {
    const spec = { ...pod(0, '10.0.2.5'), fromRuleDestinations: ['10.0.0.0/16', '100.64.0.0/16', '192.168.0.0/24'] };
    await dp.addPod(spec);
    expect(fromRules('10.0.2.5')).toEqual([
      '1536:\tfrom 10.0.2.5 to 10.0.0.0/16 lookup 3',
      '1536:\tfrom 10.0.2.5 to 100.64.0.0/16 lookup 3',
      '1536:\tfrom 10.0.2.5 to 192.168.0.0/24 lookup 3',
    ]);
    expect(await dp.checkPod(spec)).toEqual([]);
    ip('-n', HOST, 'rule', 'del', 'priority', '1536', 'from', '10.0.2.5', 'to', '100.64.0.0/16', 'lookup', '3');
    expect(await dp.checkPod(spec)).toEqual(['rule from 10.0.2.5/32 to 100.64.0.0/16 lookup 3 missing']);
    await dp.delPod({ hostVethName: spec.hostVethName, address: spec.address, routeTable: 3 });
    expect(fromRules('10.0.2.5')).toEqual([]);
  });

  it('DEL removes the rules of a pod added in the other mode (destinations vs. catch-all), in any table', async () => {
    const spec = { ...pod(1, '10.0.2.6'), fromRuleDestinations: ['10.0.0.0/16', '10.1.0.0/16'] };
    await dp.addPod(spec);
    ip('-n', HOST, 'rule', 'add', 'priority', '1536', 'from', '10.0.2.6', 'lookup', '4');
    expect(fromRules('10.0.2.6')).toHaveLength(3);
    await dp.delPod({ hostVethName: spec.hostVethName, address: spec.address });
    expect(fromRules('10.0.2.6')).toEqual([]);
  });

  it('GC sweeps destination rules of addresses no pod holds', async () => {
    ip('-n', HOST, 'rule', 'add', 'priority', '1536', 'from', '10.0.2.7', 'to', '10.0.0.0/16', 'lookup', '3');
    ip('-n', HOST, 'rule', 'add', 'priority', '1536', 'from', '10.0.2.8', 'to', '10.0.0.0/16', 'lookup', '3');
    const removed = await dp.removePodLeftovers({ vethPrefix: 'enisnat', inUse: () => ({ veths: new Set(), addresses: new Set(['10.0.2.8']) }) });
    expect(removed).toEqual(['rule from 10.0.2.7/32 to 10.0.0.0/16 lookup 3 priority 1536']);
    expect(fromRules('10.0.2.7')).toEqual([]);
    expect(fromRules('10.0.2.8')).toHaveLength(1);
  });

  it('installs, updates and removes the nft SNAT table in the host namespace', async () => {
    const nat = new NftEgressNat({ hostNetnsPath: HOST_PATH });
    const rules: SnatRules = { primaryIp: '10.0.0.10', vpcCidrs: ['10.0.0.0/16'], excludedCidrs: [], podInterfacePrefix: 'eni', ports: 'prng' };
    await nat.apply({ snat: rules });
    await nat.apply({ snat: { ...rules, vpcCidrs: ['10.0.0.0/16', '100.64.0.0/16'], excludedCidrs: ['10.0.5.0/24', '192.168.0.0/24'] } });
    const listed = execFileSync('ip', ['netns', 'exec', HOST, 'nft', 'list', 'table', 'ip', 'nativeip'], { encoding: 'utf8' });
    expect(listed).toMatch(/elements = \{ 10\.0\.0\.0\/16, 100\.64\.0\.0\/16 \}/);
    expect(listed).toContain('snat to 10.0.0.10 fully-random');
    expect(listed.match(/chain postrouting/g)).toHaveLength(1);
    await new NftEgressNat({ hostNetnsPath: HOST_PATH }).remove();
    expect(nftTables()).not.toContain('nativeip');
    await new NftEgressNat({ hostNetnsPath: HOST_PATH }).remove();
  });

  it('names the namespace when nft cannot enter it', async () => {
    const nat = new NftEgressNat({ hostNetnsPath: '/run/netns/snat-it-missing' });
    await expect(nat.remove()).rejects.toThrow(/^remove SNAT rules in \/run\/netns\/snat-it-missing: nsenter exited with 1: nsenter: /);
  });
});
