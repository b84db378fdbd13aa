/**
 * NodePort support (AWS_VPC_CNI_NODE_PORT_SUPPORT): the nft chain in the node's table, rendered
 * with and without SNAT, and the plan for the `fwmark <mark>/<mark> lookup main` rule.
 */
import { describe, expect, it } from 'vitest';
import type { KernelRule } from '../../src/ipamd/datapath/kernel-state.js';
import { nodePortRule, planNodePortRule } from '../../src/ipamd/datapath/host-rules.js';
import { renderNodePortChain } from '../../src/ipamd/datapath/node-port.js';
import { describe as describeObject } from '../../src/ipamd/datapath/plan.js';
import { NftEgressNat, renderNodeRuleset, renderSnatRemoval, renderSnatRuleset, type CommandRunner, type SnatRules } from '../../src/ipamd/datapath/snat.js';

const snat: SnatRules = { primaryIp: '10.0.1.10', vpcCidrs: ['10.0.0.0/16'], excludedCidrs: [], podInterfacePrefix: 'eni', ports: 'prng' };
const nodePort = { primaryIp: '10.0.1.10', podInterfacePrefix: 'eni', mark: 0x80 };

const CHAIN = [
  '  chain nodeport_mark {',
  '    type filter hook prerouting priority mangle; policy accept;',
  '    ip daddr 10.0.1.10 fib daddr . iif type local ct mark set ct mark | 0x80 comment "connections to the node on its primary interface"',
  '    iifname "eni*" ct mark & 0x80 == 0x80 meta mark set meta mark | 0x80 comment "their replies leave by the primary interface"',
  '  }',
];

describe('renderNodePortChain', () => {
  it('marks connections to the primary address on its own interface and restores the mark on packets from pod veths', () => {
    expect(renderNodePortChain(nodePort)).toEqual(CHAIN);
  });

  it('renders the mark in hexadecimal, whatever bits it has', () => {
    const lines = renderNodePortChain({ ...nodePort, mark: 0x40000, podInterfacePrefix: 'pod' }).join('\n');
    expect(lines).toContain('ct mark set ct mark | 0x40000');
    expect(lines).toContain('iifname "pod*" ct mark & 0x40000 == 0x40000 meta mark set meta mark | 0x40000');
  });

  it('refuses a mark, address or prefix nft would misread', () => {
    expect(() => renderNodePortChain({ ...nodePort, mark: 0 })).toThrow(/invalid connection mark 0/);
    expect(() => renderNodePortChain({ ...nodePort, mark: 2 ** 32 })).toThrow(/invalid connection mark/);
    expect(() => renderNodePortChain({ ...nodePort, mark: 1.5 })).toThrow(/invalid connection mark/);
    expect(() => renderNodePortChain({ ...nodePort, primaryIp: '10.0.1' })).toThrow(/invalid IPv4 address/);
    expect(() => renderNodePortChain({ ...nodePort, podInterfacePrefix: 'e*' })).toThrow(/invalid pod interface prefix/);
  });
});

describe('renderNodeRuleset', () => {
  it('puts the SNAT part and the node-port chain in one table, in one transaction', () => {
    const both = renderNodeRuleset({ snat, nodePort });
    const snatOnly = renderSnatRuleset(snat);
    expect(both).toBe(snatOnly.replace(/\}\n$/, `${CHAIN.join('\n')}\n}\n`));
    expect(both.startsWith('table ip nativeip {}\ndelete table ip nativeip\ntable ip nativeip {\n')).toBe(true);
  });

  it('holds only the node-port chain with external SNAT', () => {
    expect(renderNodeRuleset({ nodePort })).toBe(['table ip nativeip {}', 'delete table ip nativeip', 'table ip nativeip {', ...CHAIN, '}', ''].join('\n'));
  });

  it('is the removal script with neither part', () => {
    expect(renderNodeRuleset({})).toBe(renderSnatRemoval());
  });

  it('NftEgressNat removes the table when asked for neither part, and reinstalls it after', async () => {
    const inputs: string[] = [];
    const run: CommandRunner = async (_argv, input) => {
      inputs.push(input);
    };
    const nat = new NftEgressNat({ run });
    await nat.apply({ snat, nodePort });
    await nat.apply({});
    await nat.apply({});
    await nat.apply({ nodePort });
    expect(inputs).toEqual([renderNodeRuleset({ snat, nodePort }), renderSnatRemoval(), renderNodeRuleset({ nodePort })]);
  });
});

describe('planNodePortRule', () => {
  const rule = (priority: number, fwmark: { value: number; mask: number } | undefined, extra: Partial<KernelRule> = {}): KernelRule => ({
    priority,
    table: 254,
    action: 1,
    ...(fwmark === undefined ? {} : { fwmark }),
    ...extra,
  });

  it('adds `fwmark 0x80/0x80 lookup main` at priority 1024 when missing', () => {
    const { add, remove } = planNodePortRule([rule(0, undefined, { table: 255 }), rule(32766, undefined)], 0x80);
    expect(add.map(describeObject)).toEqual(['rule fwmark 0x80/0x80 lookup main priority 1024']);
    expect(remove).toEqual([]);
  });

  it('changes nothing when the rule is there', () => {
    expect(planNodePortRule([rule(1024, { value: 0x80, mask: 0x80 })], 0x80)).toEqual({ add: [], remove: [] });
  });

  it('replaces a rule with another mark (AWS_VPC_K8S_CNI_CONNMARK changed) and removes it when the feature is off', () => {
    const old = [rule(1024, { value: 0x80, mask: 0x80 })];
    const changed = planNodePortRule(old, 0x40);
    expect(changed.add.map(describeObject)).toEqual(['rule fwmark 0x40/0x40 lookup main priority 1024']);
    expect(changed.remove.map(describeObject)).toEqual(['rule fwmark 0x80/0x80 lookup main priority 1024']);
    expect(planNodePortRule(old, undefined).remove.map(describeObject)).toEqual(['rule fwmark 0x80/0x80 lookup main priority 1024']);
    expect(planNodePortRule(old, undefined).add).toEqual([]);
  });

  it('never touches rules of another shape', () => {
    const others = [
      rule(1024, { value: 0x80, mask: 0xff }),
      rule(1024, { value: 0x80, mask: 0x80 }, { table: 100 }),
      rule(1024, { value: 0x80, mask: 0x80 }, { src: { address: '10.0.0.5', prefixLen: 32 } }),
      rule(1025, { value: 0x80, mask: 0x80 }),
      rule(1024, undefined),
    ];
    expect(planNodePortRule(others, undefined)).toEqual({ add: [], remove: [] });
  });

  it('refuses an invalid mark', () => {
    expect(() => nodePortRule(0)).toThrow(/invalid connection mark 0/);
  });
});
