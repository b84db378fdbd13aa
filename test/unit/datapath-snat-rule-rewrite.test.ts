/**
 * Rewriting existing pods' `from` rules after the SNAT mode, the exclusions or the VPC CIDRs
 * changed: which rules are added and removed, for which pods only, and in which order.
 */
import { describe, expect, it } from 'vitest';
import type { KernelRule } from '../../src/ipamd/datapath/kernel-state.js';
import { planFromRuleRewrite, rewritePhases } from '../../src/ipamd/datapath/host-rules.js';
import type { PodFromRuleSpec } from '../../src/ipamd/datapath/types.js';
import { describe as describeObject, type RuleObject } from '../../src/ipamd/datapath/plan.js';

const src = (address: string) => ({ address, prefixLen: 32 });
const cidr = (text: string) => {
  const [address = '', len = '0'] = text.split('/');
  return { address, prefixLen: Number(len) };
};
const catchAll = (address: string, table: number): KernelRule => ({ priority: 1536, table, action: 1, src: src(address) });
const toDst = (address: string, table: number, dst: string): KernelRule => ({ priority: 1536, table, action: 1, src: src(address), dst: cidr(dst) });
const texts = (rules: readonly RuleObject[]) => rules.map(describeObject);
/** The host routes every pod given (their networks exist). */
const planRouted = (rules: readonly KernelRule[], pods: readonly PodFromRuleSpec[]) => planFromRuleRewrite(rules, pods, { routed: new Set(pods.map((p) => p.address)) });

describe('planFromRuleRewrite', () => {
  it('external SNAT → SNAT: the catch-all rule becomes one rule per VPC CIDR and exclusion', () => {
    const plan = planRouted([catchAll('10.0.2.5', 3)], [{ address: '10.0.2.5', routeTable: 3, fromRuleDestinations: ['10.0.0.0/16', '192.168.0.0/24'] }]);
    expect(plan).toHaveLength(1);
    expect(plan[0]?.address).toBe('10.0.2.5');
    expect(texts(plan[0]!.add)).toEqual([
      'rule from 10.0.2.5/32 to 10.0.0.0/16 lookup 3 priority 1536',
      'rule from 10.0.2.5/32 to 192.168.0.0/24 lookup 3 priority 1536',
    ]);
    expect(texts(plan[0]!.remove)).toEqual(['rule from 10.0.2.5/32 lookup 3 priority 1536']);
  });

  it('SNAT → external SNAT: the destination rules become the catch-all rule', () => {
    const plan = planRouted([toDst('10.0.2.5', 3, '10.0.0.0/16'), toDst('10.0.2.5', 3, '192.168.0.0/24')], [{ address: '10.0.2.5', routeTable: 3 }]);
    expect(texts(plan[0]!.add)).toEqual(['rule from 10.0.2.5/32 lookup 3 priority 1536']);
    expect(texts(plan[0]!.remove)).toEqual([
      'rule from 10.0.2.5/32 to 10.0.0.0/16 lookup 3 priority 1536',
      'rule from 10.0.2.5/32 to 192.168.0.0/24 lookup 3 priority 1536',
    ]);
  });

  it('a new VPC CIDR adds its rule and keeps the others; a rule in the wrong table is replaced', () => {
    const plan = planRouted(
      [toDst('10.0.2.5', 3, '10.0.0.0/16'), toDst('10.0.2.6', 9, '10.0.0.0/16')],
      [
        { address: '10.0.2.5', routeTable: 3, fromRuleDestinations: ['10.0.0.0/16', '100.64.0.0/16'] },
        { address: '10.0.2.6', routeTable: 3, fromRuleDestinations: ['10.0.0.0/16'] },
      ],
    );
    expect(plan.map((p) => [p.address, texts(p.add), texts(p.remove)])).toEqual([
      ['10.0.2.5', ['rule from 10.0.2.5/32 to 100.64.0.0/16 lookup 3 priority 1536'], []],
      ['10.0.2.6', ['rule from 10.0.2.6/32 to 10.0.0.0/16 lookup 3 priority 1536'], ['rule from 10.0.2.6/32 to 10.0.0.0/16 lookup 9 priority 1536']],
    ]);
  });

  it('is empty when every pod already has the current form (idempotent)', () => {
    const rules = [catchAll('10.0.2.5', 3), toDst('10.0.2.6', 4, '10.0.0.0/16')];
    expect(
      planRouted(rules, [
        { address: '10.0.2.5', routeTable: 3 },
        { address: '10.0.2.6', routeTable: 4, fromRuleDestinations: ['10.0.0.0/16'] },
        { address: '10.0.1.9' },
      ]),
    ).toEqual([]);
  });

  it('removes a stray from-rule of a pod on the primary interface', () => {
    const plan = planRouted([catchAll('10.0.1.9', 2)], [{ address: '10.0.1.9', fromRuleDestinations: ['10.0.0.0/16'] }]);
    expect(plan.map((p) => [texts(p.add), texts(p.remove)])).toEqual([[[], ['rule from 10.0.1.9/32 lookup 2 priority 1536']]]);
  });

  it('never touches rules of addresses it is not given, other priorities, wider sources or marked rules', () => {
    const others: KernelRule[] = [
      catchAll('10.0.2.7', 3),
      { priority: 512, table: 254, action: 1, dst: src('10.0.2.5') },
      { priority: 1536, table: 3, action: 1, src: { address: '10.0.2.5', prefixLen: 31 } },
      { priority: 1537, table: 3, action: 1, src: src('10.0.2.5') },
      { priority: 1536, table: 3, action: 1, src: src('10.0.2.5'), fwmark: { value: 1, mask: 1 } },
      { priority: 1536, table: 3, action: 2, src: src('10.0.2.5') },
    ];
    expect(planRouted([...others, catchAll('10.0.2.5', 3)], [{ address: '10.0.2.5', routeTable: 3 }])).toEqual([]);
  });

  it('adds no rule for a pod whose address the host does not route, but still removes its rules of another form', () => {
    // A record with another pod's address (a damaged checkpoint), or a pod whose ADD never made its route.
    const rules = [toDst('10.0.2.7', 4, '10.0.0.0/16')];
    const pods = [
      { address: '10.0.2.5', routeTable: 3, fromRuleDestinations: ['10.0.0.0/16'] },
      { address: '10.0.2.7', routeTable: 3, fromRuleDestinations: ['10.0.0.0/16'] },
    ];
    const unrouted = planFromRuleRewrite(rules, pods, { routed: new Set() });
    expect(unrouted.map((p) => [p.address, texts(p.add), texts(p.remove)])).toEqual([['10.0.2.7', [], ['rule from 10.0.2.7/32 to 10.0.0.0/16 lookup 4 priority 1536']]]);
    expect(planRouted(rules, pods).map((p) => [p.address, texts(p.add)])).toEqual([
      ['10.0.2.5', ['rule from 10.0.2.5/32 to 10.0.0.0/16 lookup 3 priority 1536']],
      ['10.0.2.7', ['rule from 10.0.2.7/32 to 10.0.0.0/16 lookup 3 priority 1536']],
    ]);
  });

  it('refuses an invalid address or CIDR', () => {
    expect(() => planRouted([], [{ address: '10.0.2' }])).toThrow(/invalid IPv4 address/);
    expect(() => planRouted([], [{ address: '10.0.2.5', routeTable: 3, fromRuleDestinations: ['x'] }])).toThrow(/invalid IPv4 CIDR/);
  });
});

describe('rewritePhases', () => {
  it('adds destination rules first, removes next, and adds a catch-all rule last', () => {
    const plan = planRouted(
      [catchAll('10.0.2.5', 3), toDst('10.0.2.6', 4, '10.0.0.0/16')],
      [
        { address: '10.0.2.5', routeTable: 3, fromRuleDestinations: ['10.0.0.0/16'] },
        { address: '10.0.2.6', routeTable: 4 },
      ],
    );
    const phases = rewritePhases(plan);
    expect(texts(phases.addFirst)).toEqual(['rule from 10.0.2.5/32 to 10.0.0.0/16 lookup 3 priority 1536']);
    expect(texts(phases.remove)).toEqual(['rule from 10.0.2.5/32 lookup 3 priority 1536', 'rule from 10.0.2.6/32 to 10.0.0.0/16 lookup 4 priority 1536']);
    expect(texts(phases.addLast)).toEqual(['rule from 10.0.2.6/32 lookup 4 priority 1536']);
  });
});
