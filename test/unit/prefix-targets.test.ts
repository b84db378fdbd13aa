import { describe, expect, it } from 'vitest';
import { planPoolGrow, planPoolShrink } from '../../src/ipamd/pool/plan/pool-plan.js';
import { prefixAddresses, prefixesFor } from '../../src/ipamd/pool/plan/prefix-cidr.js';
import { prefixExcess, prefixShortfall } from '../../src/ipamd/pool/plan/prefix-targets.js';
import type { PlanInput, PlanInterface, WarmTargets } from '../../src/ipamd/pool/plan/warm-targets.js';

const t3small = { maxInterfaces: 3, ipv4PerInterface: 4 }; // 3 prefix slots per ENI, as in the AWS table

/** An interface with `prefixes` /28s holding `pods` pods (packed lowest first) and `singles` free single addresses. */
function pif(id: string, deviceIndex: number, prefixes: number, pods: number, extra: Partial<PlanInterface> = {}): PlanInterface {
  const freePrefixes = prefixes - Math.ceil(pods / 16);
  return {
    id,
    deviceIndex,
    managed: deviceIndex > 0,
    addresses: prefixes * 16,
    assigned: pods,
    coolingDown: 0,
    releasable: [],
    prefixes,
    releasablePrefixes: Array.from({ length: freePrefixes }, (_, i) => `10.0.${deviceIndex}.${(prefixes - 1 - i) * 16}/28`),
    ...extra,
  };
}

function input(interfaces: PlanInterface[], targets: Partial<WarmTargets>, extra: Partial<PlanInput> = {}): PlanInput {
  return {
    interfaces,
    usedDeviceIndexes: interfaces.map((i) => i.deviceIndex),
    limits: t3small,
    targets: { warmEniTarget: 1, prefixDelegation: true, ...targets },
    pending: 0,
    ...extra,
  };
}

const wpt1 = { warmPrefixTarget: 1 };

describe('prefix shortfall and excess (AWS docs/prefix-and-ip-target.md table, t3.small)', () => {
  it.each([
    // name, input, short {addresses, prefixes}, excess addresses
    ['WARM_PREFIX_TARGET=1, 0 pods, 1 prefix: satisfied', input([pif('eni-0', 0, 1, 0)], wpt1), 0, 0, 0],
    ['WARM_PREFIX_TARGET=1, 5 pods, 1 prefix: low, +1 prefix', input([pif('eni-0', 0, 1, 5)], wpt1), 5, 1, 0],
    ['WARM_PREFIX_TARGET=1, 5 pods, 2 prefixes (table row)', input([pif('eni-0', 0, 2, 5)], wpt1), 0, 0, 11],
    ['WARM_PREFIX_TARGET=1, 16 pods, 1 prefix: +1', input([pif('eni-0', 0, 1, 16)], wpt1), 16, 1, 0],
    ['WARM_PREFIX_TARGET=1, 17 pods, 2 prefixes: +1', input([pif('eni-0', 0, 2, 17)], wpt1), 1, 1, 0],
    ['WARM_PREFIX_TARGET=2, empty: +2 at once', input([pif('eni-0', 0, 0, 0)], { warmPrefixTarget: 2 }), 32, 2, 0],
    ['WARM_PREFIX_TARGET unset means 1', input([pif('eni-0', 0, 0, 0)], {}), 16, 1, 0],
    ['WARM_IP_TARGET=1 MINIMUM_IP_TARGET=1, 5 pods, 1 prefix (table row)', input([pif('eni-0', 0, 1, 5)], { warmIpTarget: 1, minimumIpTarget: 1 }), 0, 0, 10],
    ['WARM_IP_TARGET=1, 16 pods, 1 prefix: +1 prefix for 1 address', input([pif('eni-0', 0, 1, 16)], { warmIpTarget: 1 }), 1, 1, 0],
    ['MINIMUM_IP_TARGET=20 means 2 prefixes', input([pif('eni-0', 0, 0, 0)], { warmIpTarget: 7, minimumIpTarget: 20 }), 20, 2, 0],
    ['IP targets override WARM_PREFIX_TARGET', input([pif('eni-0', 0, 1, 0)], { warmPrefixTarget: 3, warmIpTarget: 2 }), 0, 0, 14],
    ['pods waiting count', input([pif('eni-0', 0, 1, 16)], { warmIpTarget: 0, minimumIpTarget: 0 }, { pending: 20 }), 20, 2, 0],
  ])('%s', (_name, planInput, shortAddresses, shortPrefixes, over) => {
    expect(prefixShortfall(planInput)).toEqual({ addresses: shortAddresses, prefixes: shortPrefixes });
    expect(prefixExcess(planInput).addresses).toBe(over);
  });
});

describe('planPoolGrow in prefix mode', () => {
  it.each([
    ['assigns prefixes on the lowest ENI with a free slot', input([pif('eni-0', 0, 1, 5)], wpt1), { kind: 'assign-prefixes', interfaceId: 'eni-0', count: 1 }],
    [
      'a prefix takes one slot: 2 singles + 1 prefix leave no room',
      input([pif('eni-0', 0, 1, 16, { addresses: 18, assigned: 18 })], wpt1, { usedDeviceIndexes: [0] }),
      { kind: 'create', deviceIndex: 1, secondaryCount: 0, prefixCount: 1 },
    ],
    [
      'creates an ENI with every prefix the shortfall needs, at most its slots',
      input([pif('eni-0', 0, 3, 48)], { warmPrefixTarget: 5 }),
      { kind: 'create', deviceIndex: 1, secondaryCount: 0, prefixCount: 3 },
    ],
    [
      'falls back to the address shortfall when prefixes are unavailable',
      input([pif('eni-0', 0, 1, 5)], wpt1, { prefixesUnavailable: true }),
      { kind: 'assign', interfaceId: 'eni-0', count: 2 },
    ],
    [
      'fallback creates an ENI with single addresses',
      input([pif('eni-0', 0, 3, 48)], wpt1, { prefixesUnavailable: true }),
      { kind: 'create', deviceIndex: 1, secondaryCount: 3 },
    ],
    [
      'max pods caps the prefixes asked for',
      input([pif('eni-0', 0, 1, 16)], { warmPrefixTarget: 3 }, { maxPods: 20 }),
      { kind: 'assign-prefixes', interfaceId: 'eni-0', count: 1 },
    ],
    ['max pods reached: nothing to do', input([pif('eni-0', 0, 2, 17)], wpt1, { maxPods: 32 }), { kind: 'none' }],
  ])('%s', (_name, planInput, expected) => {
    expect(planPoolGrow(planInput)).toEqual(expected);
  });

  it('blocks with a reason when every slot of every ENI is used', () => {
    const full = input([pif('eni-0', 0, 3, 48), pif('eni-1', 1, 3, 48), pif('eni-2', 2, 3, 48)], wpt1);
    expect(planPoolGrow(full)).toMatchObject({ kind: 'blocked', reason: expect.stringContaining('3 address slots (a /28 prefix takes one)') });
  });

  it('blocks with a reason when pods wait at max pods', () => {
    const atCap = input([pif('eni-0', 0, 2, 32)], wpt1, { maxPods: 32, pending: 1 });
    expect(planPoolGrow(atCap)).toMatchObject({ kind: 'blocked', reason: expect.stringContaining('max pods (32)') });
  });
});

describe('planPoolShrink in prefix mode', () => {
  it.each([
    ['WARM_PREFIX_TARGET=1: a third free prefix goes', input([pif('eni-0', 0, 3, 5)], wpt1), { kind: 'release-prefixes', interfaceId: 'eni-0', prefixes: ['10.0.0.32/28'] }],
    ['WARM_PREFIX_TARGET=1: one free prefix stays', input([pif('eni-0', 0, 2, 5)], wpt1), { kind: 'none' }],
    [
      'an idle ENI of ours goes whole',
      input([pif('eni-0', 0, 2, 5), pif('eni-1', 1, 1, 0)], wpt1),
      { kind: 'delete', interfaceId: 'eni-1' },
    ],
    [
      'a prefix with a cooling address stays',
      input([pif('eni-0', 0, 3, 5, { coolingDown: 16, releasablePrefixes: [] })], wpt1),
      { kind: 'none' },
    ],
    [
      'IP mode: whole free prefixes beyond the targets go',
      input([pif('eni-0', 0, 3, 1)], { warmIpTarget: 2, minimumIpTarget: 16 }),
      { kind: 'release-prefixes', interfaceId: 'eni-0', prefixes: ['10.0.0.32/28', '10.0.0.16/28'] },
    ],
    [
      'single addresses from a fallback go first',
      input([pif('eni-0', 0, 1, 0, { addresses: 20, releasable: ['10.0.9.4', '10.0.9.3', '10.0.9.2', '10.0.9.1'] })], wpt1),
      { kind: 'release', interfaceId: 'eni-0', addresses: ['10.0.9.4', '10.0.9.3', '10.0.9.2', '10.0.9.1'] },
    ],
    ['nothing while pods wait', input([pif('eni-0', 0, 3, 5)], wpt1, { pending: 1 }), { kind: 'none' }],
  ])('%s', (_name, planInput, expected) => {
    expect(planPoolShrink(planInput)).toEqual(expected);
  });
});

describe('prefix CIDRs', () => {
  it('expands an aligned /28 into its 16 addresses', () => {
    expect(prefixAddresses('10.0.1.16/28')).toEqual(Array.from({ length: 16 }, (_, i) => `10.0.1.${16 + i}`));
  });
  it.each(['10.0.1.17/28', '10.0.1.16/27', '10.0.1.16'])('refuses %s', (bad) => {
    expect(() => prefixAddresses(bad)).toThrow(RangeError);
  });
  it.each([
    [0, 0],
    [1, 1],
    [16, 1],
    [17, 2],
  ])('%i addresses need %i prefixes', (addresses, prefixes) => {
    expect(prefixesFor(addresses)).toBe(prefixes);
  });
});
