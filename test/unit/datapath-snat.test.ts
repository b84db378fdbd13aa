/**
 * SNAT of traffic leaving the VPC: the pod's `from … to <VPC CIDR>` rules (plan, CHECK, GC) and
 * the nft ruleset (rendering, the runner's commands and errors).
 */
import { describe, expect, it } from 'vitest';
import { diffPlan } from '../../src/ipamd/datapath/check.js';
import type { NamespaceState } from '../../src/ipamd/datapath/kernel-state.js';
import { findPodLeftovers } from '../../src/ipamd/datapath/leftovers.js';
import { describe as describeObject, planPod, planPodTeardown } from '../../src/ipamd/datapath/plan.js';
import { NftEgressNat, renderSnatRemoval, renderSnatRuleset, type CommandRunner, type SnatRules } from '../../src/ipamd/datapath/snat.js';
import { DatapathError, type PodNetworkSpec } from '../../src/ipamd/datapath/types.js';

const macs = { host: '02:00:00:00:00:01', pod: '02:00:00:00:00:02' };
const spec: PodNetworkSpec = {
  netnsPath: '/run/netns/p',
  podIfName: 'eth0',
  hostVethName: 'enia',
  address: '10.0.2.5',
  mtu: 9001,
  routeTable: 2,
};

describe('planPod with fromRuleDestinations', () => {
  it('has one from-rule per destination, normalised and without duplicates, instead of the catch-all rule', () => {
    const plan = planPod({ ...spec, fromRuleDestinations: ['10.0.0.0/16', '100.64.7.1/16', '10.0.0.0/16'] }, macs);
    expect(plan.filter((o) => o.kind === 'rule').map(describeObject)).toEqual([
      'rule to 10.0.2.5/32 lookup main priority 512',
      'rule from 10.0.2.5/32 to 10.0.0.0/16 lookup 2 priority 1536',
      'rule from 10.0.2.5/32 to 100.64.0.0/16 lookup 2 priority 1536',
    ]);
  });

  it('keeps the catch-all from-rule when destinations are unset', () => {
    const rules = planPod(spec, macs).filter((o) => o.kind === 'rule').map(describeObject);
    expect(rules).toContain('rule from 10.0.2.5/32 lookup 2 priority 1536');
  });

  it('ignores destinations for an address on the primary interface (main table, no from-rule)', () => {
    const primary: PodNetworkSpec = { netnsPath: spec.netnsPath, podIfName: 'eth0', hostVethName: 'enia', address: '10.0.2.5', mtu: 9001 };
    const rules = planPod({ ...primary, fromRuleDestinations: ['10.0.0.0/16'] }, macs).filter((o) => o.kind === 'rule');
    expect(rules.map(describeObject)).toEqual(['rule to 10.0.2.5/32 lookup main priority 512']);
  });

  it('rejects an empty list and a bad CIDR', () => {
    expect(() => planPod({ ...spec, fromRuleDestinations: [] }, macs)).toThrow(/fromRuleDestinations is empty/);
    expect(() => planPod({ ...spec, fromRuleDestinations: ['10.0.0.0'] }, macs)).toThrow(/invalid IPv4 CIDR "10.0.0.0"/);
  });

  it('tears down with a from-rule that has no destination (the kernel matches it against every form)', () => {
    const { rules } = planPodTeardown({ hostVethName: 'enia', address: '10.0.2.5', routeTable: 2 });
    expect(rules.map(describeObject)).toEqual(['rule to 10.0.2.5/32 lookup main priority 512', 'rule from 10.0.2.5/32 lookup 2 priority 1536']);
    expect(rules[1]?.dst).toBeUndefined();
  });
});

describe('diffPlan with fromRuleDestinations', () => {
  const plan = planPod({ ...spec, fromRuleDestinations: ['10.0.0.0/16', '100.64.0.0/16'] }, macs);
  const host = (rules: NamespaceState['rules']): NamespaceState => ({
    links: [{ index: 7, name: 'enia', mac: macs.host, mtu: 9001, up: true, kind: 'veth' }],
    addresses: [],
    routes: [{ table: 254, dst: '10.0.2.5', dstLen: 32, oif: 7, scope: 253, type: 1 }],
    rules: [{ priority: 512, table: 254, action: 1, dst: { address: '10.0.2.5', prefixLen: 32 } }, ...rules],
    neighbours: [],
  });
  const src = { address: '10.0.2.5', prefixLen: 32 };

  it('is clean when every destination rule is there', () => {
    const rules = [
      { priority: 1536, table: 2, action: 1, src, dst: { address: '10.0.0.0', prefixLen: 16 } },
      { priority: 1536, table: 2, action: 1, src, dst: { address: '100.64.0.0', prefixLen: 16 } },
    ];
    expect(diffPlan(plan, host(rules), { unavailable: 'not read' }).filter((m) => m.includes('rule'))).toEqual([]);
  });

  it('reports each missing destination rule, and a catch-all rule does not stand in for them', () => {
    const rules = [{ priority: 1536, table: 2, action: 1, src }];
    expect(diffPlan(plan, host(rules), { unavailable: 'not read' }).filter((m) => m.includes('rule'))).toEqual([
      'rule from 10.0.2.5/32 to 10.0.0.0/16 lookup 2 missing',
      'rule from 10.0.2.5/32 to 100.64.0.0/16 lookup 2 missing',
    ]);
  });
});

describe('findPodLeftovers with destination rules', () => {
  it('takes from-pod rules with a destination of unheld addresses, keeping the destination for the delete', () => {
    const found = findPodLeftovers(
      {
        links: [],
        addresses: [],
        routes: [],
        rules: [
          { priority: 1536, table: 2, action: 1, src: { address: '10.0.2.5', prefixLen: 32 }, dst: { address: '10.0.0.0', prefixLen: 16 } },
          { priority: 1536, table: 2, action: 1, src: { address: '10.0.2.6', prefixLen: 32 }, dst: { address: '10.0.0.0', prefixLen: 16 } },
        ],
      },
      'eni',
      78,
      { veths: new Set(), addresses: new Set(['10.0.2.6']) },
    );
    expect(found.rules.map(describeObject)).toEqual(['rule from 10.0.2.5/32 to 10.0.0.0/16 lookup 2 priority 1536']);
  });
});

const rules: SnatRules = {
  primaryIp: '10.0.1.10',
  vpcCidrs: ['10.0.0.0/16', '100.64.0.0/16'],
  excludedCidrs: ['192.168.0.0/24'],
  podInterfacePrefix: 'eni',
  ports: 'prng',
};

describe('renderSnatRuleset', () => {
  it('replaces our table in one transaction: VPC set, exclusion set, counter and the SNAT rule', () => {
    expect(renderSnatRuleset(rules)).toBe(
      [
        'table ip nativeip {}',
        'delete table ip nativeip',
        'table ip nativeip {',
        '  set vpc_cidrs {',
        '    type ipv4_addr; flags interval; auto-merge;',
        '    elements = { 10.0.0.0/16, 100.64.0.0/16 }',
        '  }',
        '  set snat_exclusions {',
        '    type ipv4_addr; flags interval; auto-merge;',
        '    elements = { 192.168.0.0/24 }',
        '  }',
        '  counter snat_connections {}',
        '  chain postrouting {',
        '    type nat hook postrouting priority srcnat; policy accept;',
        '    iifname "eni*" ip saddr @vpc_cidrs ip daddr != @vpc_cidrs ip daddr != @snat_exclusions counter name "snat_connections" snat to 10.0.1.10 fully-random comment "pods leaving the VPC"',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
  });

  it.each([
    ['none', 'snat to 10.0.1.10 comment'],
    ['hashrandom', 'snat to 10.0.1.10 random comment'],
    ['prng', 'snat to 10.0.1.10 fully-random comment'],
  ] as const)('port mode %s renders %s', (ports, text) => {
    expect(renderSnatRuleset({ ...rules, ports })).toContain(text);
  });

  it('leaves an empty exclusion set without elements and normalises CIDRs', () => {
    const out = renderSnatRuleset({ ...rules, vpcCidrs: ['10.0.3.7/16'], excludedCidrs: [] });
    expect(out).toContain('elements = { 10.0.0.0/16 }');
    expect(out.match(/elements/g)).toHaveLength(1);
  });

  it('refuses what nft would misread', () => {
    expect(() => renderSnatRuleset({ ...rules, vpcCidrs: [] })).toThrow(/no VPC CIDR/);
    expect(() => renderSnatRuleset({ ...rules, primaryIp: '10.0.1' })).toThrow(/invalid IPv4 address/);
    expect(() => renderSnatRuleset({ ...rules, podInterfacePrefix: 'e"ni' })).toThrow(/invalid pod interface prefix/);
    expect(() => renderSnatRuleset({ ...rules, excludedCidrs: ['x'] })).toThrow(/invalid IPv4 CIDR/);
  });

  it('removal declares the table first so that deleting never fails', () => {
    expect(renderSnatRemoval()).toBe('table ip nativeip {}\ndelete table ip nativeip\n');
  });
});

describe('NftEgressNat', () => {
  function recorder(fail?: (argv: readonly string[]) => unknown): { calls: { argv: readonly string[]; input: string }[]; run: CommandRunner } {
    const calls: { argv: readonly string[]; input: string }[] = [];
    return {
      calls,
      run: async (argv, input) => {
        calls.push({ argv, input });
        const error = fail?.(argv);
        if (error !== undefined) throw error;
      },
    };
  }

  it('runs nft in the host namespace through nsenter, and skips a script it already applied', async () => {
    const { calls, run } = recorder();
    const nat = new NftEgressNat({ hostNetnsPath: '/run/netns/node1', run });
    await nat.apply({ snat: rules });
    await nat.apply({ snat: rules });
    await nat.apply({ snat: { ...rules, vpcCidrs: ['10.0.0.0/16'] } });
    expect(calls.map((c) => c.argv.join(' '))).toEqual([
      'nsenter --net=/run/netns/node1 -- nft -f -',
      'nsenter --net=/run/netns/node1 -- nft -f -',
    ]);
    expect(calls[1]?.input).toBe(renderSnatRuleset({ ...rules, vpcCidrs: ['10.0.0.0/16'] }));
    await nat.remove();
    await nat.apply({ snat: rules });
    expect(calls.map((c) => c.input.split('\n')[1])).toEqual(['delete table ip nativeip', 'delete table ip nativeip', 'delete table ip nativeip', 'delete table ip nativeip']);
    expect(calls).toHaveLength(4);
  });

  it('runs nft directly without a host namespace', async () => {
    const { calls, run } = recorder();
    await new NftEgressNat({ run }).remove();
    expect(calls[0]?.argv).toEqual(['nft', '-f', '-']);
  });

  it('says nft is missing, naming the step and the namespace', async () => {
    const missing = Object.assign(new Error('spawn nft ENOENT'), { code: 'ENOENT' });
    const nat = new NftEgressNat({ run: recorder(() => missing).run });
    const error = await nat.apply({ snat: rules }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatapathError);
    expect((error as DatapathError).message).toBe('install SNAT rules: nft is not installed (install the nftables package)');

    const viaNsenter = Object.assign(new Error('exit 127'), { code: 127, stderr: "nsenter: failed to execute nft: No such file or directory" });
    const nat2 = new NftEgressNat({ hostNetnsPath: '/run/netns/n', run: recorder(() => viaNsenter).run });
    await expect(nat2.remove()).rejects.toThrow('remove SNAT rules in /run/netns/n: nft is not installed (install the nftables package)');
  });

  it("passes nft's own complaint through, and retries a script that failed", async () => {
    let failing = true;
    const { calls, run } = recorder(() => (failing ? Object.assign(new Error('exit 1'), { code: 1, stderr: 'Error: Could not process rule: Operation not permitted' }) : undefined));
    const nat = new NftEgressNat({ run });
    await expect(nat.apply({ snat: rules })).rejects.toThrow('install SNAT rules: nft exited with 1: Error: Could not process rule: Operation not permitted');
    failing = false;
    await nat.apply({ snat: rules });
    expect(calls).toHaveLength(2);
  });
});
