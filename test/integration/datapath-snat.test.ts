/**
 * SNAT pieces against the real kernel (root): a pod's `from … to <CIDR>` rules as NetlinkDatapath
 * adds, checks, deletes, sweeps and rewrites them, the node-port rule at priority 1024, and the nft
 * table NftEgressNat installs, updates and removes (with the node-port chain). Namespaces
 * `snat-it-*`.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetlinkDatapath } from '../../src/ipamd/datapath/netlink-datapath.js';
import { NftEgressNat, type SnatRules } from '../../src/ipamd/datapath/snat.js';
import type { PodNetworkSpec } from '../../src/ipamd/datapath/types.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('SNAT datapath integration tests skipped: they need root (network namespaces, netlink, nft)');

const HOST = 'snat-it-host';
const HOST_PATH = `/run/netns/${HOST}`;
const PODS = ['snat-it-pod1', 'snat-it-pod2', 'snat-it-pod3'];

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

  it('puts the node-port chain beside the SNAT chain, keeps it alone with external SNAT, and removes the table with neither', async () => {
    const nat = new NftEgressNat({ hostNetnsPath: HOST_PATH });
    const nodePort = { primaryIp: '10.0.0.10', podInterfacePrefix: 'eni', mark: 0x80 };
    await nat.apply({ snat: { primaryIp: '10.0.0.10', vpcCidrs: ['10.0.0.0/16'], excludedCidrs: [], podInterfacePrefix: 'eni', ports: 'prng' }, nodePort });
    const listed = execFileSync('ip', ['netns', 'exec', HOST, 'nft', 'list', 'table', 'ip', 'nativeip'], { encoding: 'utf8' });
    expect(listed).toMatch(/chain nodeport_mark \{\s+type filter hook prerouting priority mangle; policy accept;/);
    expect(listed).toContain('ip daddr 10.0.0.10 fib daddr . iif type local ct mark set ct mark | 0x00000080');
    expect(listed).toContain('iifname "eni*" ct mark & 0x00000080 == 0x00000080 meta mark set meta mark | 0x00000080');
    expect(listed).toContain('chain postrouting');
    await nat.apply({ nodePort });
    const alone = execFileSync('ip', ['netns', 'exec', HOST, 'nft', 'list', 'table', 'ip', 'nativeip'], { encoding: 'utf8' });
    expect(alone).toContain('chain nodeport_mark');
    expect(alone).not.toContain('postrouting');
    await nat.apply({});
    expect(nftTables()).not.toContain('nativeip');
  });

  it('keeps the node-port rule fwmark M/M lookup main at priority 1024: adds, changes the mark, removes, leaves other rules', async () => {
    const at1024 = (): string[] => ip('-n', HOST, '-4', 'rule', 'show', 'priority', '1024').split('\n').map((l) => l.trim()).filter((l) => l !== '');
    ip('-n', HOST, 'rule', 'add', 'priority', '1024', 'fwmark', '0x80/0xff', 'lookup', 'main');
    await dp.syncNodePortRule(0x80);
    await dp.syncNodePortRule(0x80);
    expect(at1024().sort()).toEqual(['1024:\tfrom all fwmark 0x80/0x80 lookup main', '1024:\tfrom all fwmark 0x80/0xff lookup main']);
    await dp.syncNodePortRule(0x40);
    expect(at1024().sort()).toEqual(['1024:\tfrom all fwmark 0x40/0x40 lookup main', '1024:\tfrom all fwmark 0x80/0xff lookup main']);
    await dp.syncNodePortRule(undefined);
    expect(at1024()).toEqual(['1024:\tfrom all fwmark 0x80/0xff lookup main']);
    ip('-n', HOST, 'rule', 'del', 'priority', '1024', 'fwmark', '0x80/0xff', 'lookup', 'main');
  });

  it('rewrites existing pods\' from rules to the current form, both ways, idempotently, and only theirs', async () => {
    const spec = pod(2, '10.0.2.9');
    await dp.addPod(spec);
    ip('-n', HOST, 'rule', 'add', 'priority', '1536', 'from', '10.0.2.10', 'lookup', '3');
    const snat = { address: '10.0.2.9', routeTable: 3, fromRuleDestinations: ['10.0.0.0/16', '192.168.0.0/24'] };
    expect(await dp.rewritePodFromRules(() => [snat])).toBe(1);
    expect(fromRules('10.0.2.9')).toEqual(['1536:\tfrom 10.0.2.9 to 10.0.0.0/16 lookup 3', '1536:\tfrom 10.0.2.9 to 192.168.0.0/24 lookup 3']);
    expect(await dp.checkPod({ ...spec, fromRuleDestinations: snat.fromRuleDestinations })).toEqual([]);
    expect(await dp.rewritePodFromRules(() => [snat])).toBe(0);
    expect(await dp.rewritePodFromRules(() => [{ address: '10.0.2.9', routeTable: 3 }])).toBe(1);
    expect(fromRules('10.0.2.9')).toEqual(['1536:\tfrom 10.0.2.9 lookup 3']);
    expect(await dp.checkPod(spec)).toEqual([]);
    expect(fromRules('10.0.2.10')).toEqual(['1536:\tfrom 10.0.2.10 lookup 3']);
    // A catch-all rule in another table beside a wanted destination rule: only the catch-all goes.
    expect(await dp.rewritePodFromRules(() => [{ ...snat, fromRuleDestinations: ['10.0.0.0/16'] }])).toBe(1);
    ip('-n', HOST, 'rule', 'add', 'priority', '1536', 'from', '10.0.2.9', 'lookup', '4');
    expect(await dp.rewritePodFromRules(() => [{ ...snat, fromRuleDestinations: ['10.0.0.0/16'] }])).toBe(1);
    expect(fromRules('10.0.2.9')).toEqual(['1536:\tfrom 10.0.2.9 to 10.0.0.0/16 lookup 3']);
    await dp.delPod({ hostVethName: spec.hostVethName, address: spec.address, routeTable: 3 });
    ip('-n', HOST, 'rule', 'del', 'priority', '1536', 'from', '10.0.2.10', 'lookup', '3');
  });

  it('names the namespace when nft cannot enter it', async () => {
    const nat = new NftEgressNat({ hostNetnsPath: '/run/netns/snat-it-missing' });
    await expect(nat.remove()).rejects.toThrow(/^remove SNAT rules in \/run\/netns\/snat-it-missing: nsenter exited with 1: nsenter: /);
  });
});
