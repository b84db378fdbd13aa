import { describe, expect, it } from 'vitest';
import { excess, freeDeviceIndex, planGrow, planShrink, shortfall, type PlanInput, type PlanInterface } from '../../src/ipamd/pool/plan/warm-targets.js';

const m5large = { maxInterfaces: 3, ipv4PerInterface: 10 }; // 9 secondary addresses per ENI

function pif(id: string, deviceIndex: number, addresses: number, assigned: number, extra: Partial<PlanInterface> = {}): PlanInterface {
  const free = addresses - assigned - (extra.coolingDown ?? 0);
  return {
    id,
    deviceIndex,
    managed: deviceIndex > 0,
    addresses,
    assigned,
    coolingDown: 0,
    releasable: Array.from({ length: free }, (_, i) => `10.0.${deviceIndex}.${100 - i}`),
    ...extra,
  };
}

function input(interfaces: PlanInterface[], targets: PlanInput['targets'], extra: Partial<PlanInput> = {}): PlanInput {
  return {
    interfaces,
    usedDeviceIndexes: interfaces.map((i) => i.deviceIndex),
    limits: m5large,
    targets,
    pending: 0,
    ...extra,
  };
}

const eniMode = { warmEniTarget: 1 };

describe('shortfall and excess', () => {
  it.each([
    ['ENI mode, empty primary', input([pif('eni-0', 0, 0, 0)], eniMode), 9, 0],
    ['ENI mode, full primary, 3 pods', input([pif('eni-0', 0, 9, 3)], eniMode), 3, 0],
    ['ENI mode, two full ENIs, 0 pods', input([pif('eni-0', 0, 9, 0), pif('eni-1', 1, 9, 0)], eniMode), 0, 0],
    ['ENI mode, WARM_ENI_TARGET=2', input([pif('eni-0', 0, 9, 0)], { warmEniTarget: 2 }), 9, 0],
    ['IP mode, warm 5, 2 available', input([pif('eni-0', 0, 4, 2)], { warmEniTarget: 1, warmIpTarget: 5 }), 3, 0],
    ['IP mode, minimum 10 beats warm 2', input([pif('eni-0', 0, 4, 0)], { warmEniTarget: 1, warmIpTarget: 2, minimumIpTarget: 10 }), 6, 0],
    ['IP mode, warm 2, 6 available', input([pif('eni-0', 0, 8, 2)], { warmEniTarget: 1, warmIpTarget: 2 }), 0, 4],
    ['IP mode, minimum caps the excess', input([pif('eni-0', 0, 8, 2)], { warmEniTarget: 1, warmIpTarget: 2, minimumIpTarget: 7 }), 0, 1],
    ['IP mode, only minimum set: warm counts as 0', input([pif('eni-0', 0, 9, 0)], { warmEniTarget: 1, minimumIpTarget: 4 }), 0, 5],
    ['cooling addresses count in total, not available', input([pif('eni-0', 0, 5, 0, { coolingDown: 5 })], { warmEniTarget: 1, warmIpTarget: 2 }), 2, 0],
    ['pods waiting add to the shortfall', input([pif('eni-0', 0, 1, 0)], { warmEniTarget: 0, warmIpTarget: 0 }, { pending: 4 }), 3, 0],
  ])('%s', (_name, planInput, expectedShort, expectedExcess) => {
    expect(shortfall(planInput)).toBe(expectedShort);
    expect(excess(planInput)).toBe(expectedExcess);
  });
});

describe('planGrow', () => {
  it('ENI mode fills the interface with room completely', () => {
    expect(planGrow(input([pif('eni-0', 0, 2, 2)], eniMode))).toEqual({ kind: 'assign', interfaceId: 'eni-0', count: 7 });
  });
  it('IP mode assigns exactly the shortfall in one call', () => {
    expect(planGrow(input([pif('eni-0', 0, 2, 2)], { warmEniTarget: 1, warmIpTarget: 3 }))).toEqual({ kind: 'assign', interfaceId: 'eni-0', count: 3 });
  });
  it('IP mode never assigns past the interface limit', () => {
    expect(planGrow(input([pif('eni-0', 0, 8, 8)], { warmEniTarget: 1, warmIpTarget: 5 }))).toEqual({ kind: 'assign', interfaceId: 'eni-0', count: 1 });
  });
  it('creates a full interface at the lowest free device index when all are full (ENI mode)', () => {
    expect(planGrow(input([pif('eni-0', 0, 9, 9)], eniMode))).toEqual({ kind: 'create', deviceIndex: 1, secondaryCount: 9 });
  });
  it('creates an interface with just the shortfall in IP mode', () => {
    expect(planGrow(input([pif('eni-0', 0, 9, 9)], { warmEniTarget: 1, warmIpTarget: 2 }))).toEqual({ kind: 'create', deviceIndex: 1, secondaryCount: 2 });
  });
  it('skips device indexes used by interfaces outside the pool', () => {
    expect(planGrow(input([pif('eni-0', 0, 9, 9)], eniMode, { usedDeviceIndexes: [0, 1] }))).toEqual({ kind: 'create', deviceIndex: 2, secondaryCount: 9 });
  });
  it('is blocked at the instance limit, and says why', () => {
    const plan = planGrow(input([pif('eni-0', 0, 9, 9), pif('eni-1', 1, 9, 9), pif('eni-2', 2, 9, 9)], eniMode));
    expect(plan).toMatchObject({ kind: 'blocked', shortfall: 9 });
    expect(plan.kind === 'blocked' && plan.reason).toMatch(/3 of 3 network interfaces \(the instance type limit\).*9 secondary addresses/);
  });
  it('is blocked at MAX_ENI and names it', () => {
    const plan = planGrow(input([pif('eni-0', 0, 9, 9)], { warmEniTarget: 1, maxEni: 1 }));
    expect(plan.kind === 'blocked' && plan.reason).toMatch(/1 of 1 network interfaces \(MAX_ENI=1\)/);
  });
  it('does nothing when the targets hold', () => {
    expect(planGrow(input([pif('eni-0', 0, 9, 0)], eniMode))).toEqual({ kind: 'none' });
  });
});

describe('planShrink', () => {
  it('ENI mode deletes an idle interface we created once a whole interface stays warm without it', () => {
    const plan = planShrink(input([pif('eni-0', 0, 9, 0), pif('eni-1', 1, 9, 0)], eniMode));
    expect(plan).toEqual({ kind: 'delete', interfaceId: 'eni-1' });
  });
  it('ENI mode keeps the idle interface when it is the warm one', () => {
    expect(planShrink(input([pif('eni-0', 0, 9, 5), pif('eni-1', 1, 9, 0)], eniMode))).toEqual({ kind: 'none' });
  });
  it('never deletes the primary or an interface that is not ours', () => {
    const foreign = pif('eni-1', 1, 9, 0, { managed: false });
    expect(planShrink(input([pif('eni-0', 0, 9, 0), foreign], { warmEniTarget: 0 }))).toEqual({ kind: 'none' });
  });
  it('never deletes an interface with addresses cooling down', () => {
    const cooling = pif('eni-1', 1, 9, 0, { coolingDown: 1 });
    expect(planShrink(input([pif('eni-0', 0, 9, 0), cooling], { warmEniTarget: 0, warmIpTarget: 0 }))).toEqual({ kind: 'release', interfaceId: 'eni-1', addresses: cooling.releasable });
  });
  it('IP mode deletes a whole idle interface when the targets hold without it', () => {
    expect(planShrink(input([pif('eni-0', 0, 9, 1), pif('eni-1', 1, 3, 0)], { warmEniTarget: 1, warmIpTarget: 5 }))).toEqual({ kind: 'delete', interfaceId: 'eni-1' });
  });
  it('IP mode releases just the excess from the interface with the fewest pods', () => {
    const secondary = pif('eni-1', 1, 6, 1);
    const plan = planShrink(input([pif('eni-0', 0, 9, 9), secondary], { warmEniTarget: 1, warmIpTarget: 2 }));
    expect(plan).toEqual({ kind: 'release', interfaceId: 'eni-1', addresses: secondary.releasable.slice(0, 3) });
  });
  it('does not shrink while pods are waiting', () => {
    expect(planShrink(input([pif('eni-0', 0, 9, 0), pif('eni-1', 1, 9, 0)], eniMode, { pending: 1 }))).toEqual({ kind: 'none' });
  });
});

describe('freeDeviceIndex', () => {
  it.each([
    [[0], 1],
    [[0, 1, 3], 2],
    [[0, 2, 1], 3],
  ])('%j → %i', (used, expected) => expect(freeDeviceIndex(used)).toBe(expected));
});
