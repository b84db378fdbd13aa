import { describe, expect, it } from 'vitest';
import { AddressPool } from '../../src/ipamd/pool/plan/address-pool.js';
import { planAdaptiveGrow, planAdaptiveRound, planAdaptiveShrink, type AdaptiveTargets } from '../../src/ipamd/pool/plan/adaptive-plan.js';
import { DEFAULT_ADAPTIVE_PARAMS } from '../../src/ipamd/pool/plan/adaptive-target.js';
import type { PlanInput, PlanInterface } from '../../src/ipamd/pool/plan/warm-targets.js';
import { AdaptiveController } from '../../src/ipamd/pool/adaptive-controller.js';
import { cloudPlugin } from '../../src/ipamd/clouds.js';
import { loadDaemonConfig } from '../../src/ipamd/config/config.js';
import { poolPolicyOf } from '../../src/ipamd/pool/pool-targets.js';

const m5xlarge = { maxInterfaces: 4, ipv4PerInterface: 15 }; // 14 secondary addresses per ENI

function pif(id: string, deviceIndex: number, addresses: number, assigned: number): PlanInterface {
  return {
    id,
    deviceIndex,
    managed: deviceIndex > 0,
    addresses,
    assigned,
    coolingDown: 0,
    releasable: Array.from({ length: addresses - assigned }, (_, i) => `10.0.${deviceIndex}.${200 - i}`),
  };
}

const band = (extra: Partial<AdaptiveTargets> = {}): AdaptiveTargets => ({ low: 2, high: 8, releaseExcess: false, deletableInterfaceIds: [], ...extra });
const input = (interfaces: PlanInterface[], extra: Partial<PlanInput> = {}): PlanInput => ({
  interfaces,
  usedDeviceIndexes: interfaces.map((i) => i.deviceIndex),
  limits: m5xlarge,
  targets: { warmEniTarget: 1 },
  pending: 0,
  ...extra,
});

describe('planAdaptiveGrow', () => {
  it.each([
    ['inside the band: nothing', [pif('eni-0', 0, 10, 5)], band(), { kind: 'none' }],
    ['below low: one assign up to high', [pif('eni-0', 0, 4, 3)], band(), { kind: 'assign', interfaceId: 'eni-0', count: 7 }],
    ['never past the interface limit', [pif('eni-0', 0, 12, 11)], band(), { kind: 'assign', interfaceId: 'eni-0', count: 2 }],
    ['no room: create holding what is short', [pif('eni-0', 0, 14, 13)], band(), { kind: 'create', deviceIndex: 1, secondaryCount: 7 }],
    ['a burst refills below high, not low, and takes twice the band in one call', [pif('eni-0', 0, 10, 4), pif('eni-1', 1, 0, 0)], band({ burst: true }), { kind: 'assign', interfaceId: 'eni-1', count: 14 }],
    ['a burst with no room on attached interfaces waits for low before a create', [pif('eni-0', 0, 14, 10)], band({ burst: true }), { kind: 'none' }],
    ['growth goes to the highest interface that takes it in one call', [pif('eni-0', 0, 8, 7), pif('eni-1', 1, 4, 4)], band(), { kind: 'assign', interfaceId: 'eni-1', count: 7 }],
    ['else to the interface with most room', [pif('eni-0', 0, 12, 12), pif('eni-1', 1, 13, 13)], band(), { kind: 'assign', interfaceId: 'eni-0', count: 2 }],
  ])('%s', (_name, interfaces, targets, expected) => {
    expect(planAdaptiveGrow(input(interfaces), targets)).toEqual(expected);
  });

  it('covers waiting pods even inside the band', () => {
    expect(planAdaptiveGrow(input([pif('eni-0', 0, 5, 2)], { pending: 6 }), band())).toEqual({ kind: 'assign', interfaceId: 'eni-0', count: 3 });
  });

  it('is blocked at the limits, with the reason', () => {
    const full = [0, 1, 2, 3].map((d) => pif(`eni-${d}`, d, 14, 14));
    const plan = planAdaptiveGrow(input(full), band());
    expect(plan.kind === 'blocked' && plan.reason).toMatch(/4 of 4 network interfaces/);
  });
});

describe('planAdaptiveRound', () => {
  it.each([
    ['one interface takes it all: one assign', [pif('eni-0', 0, 4, 3)], band(), { kind: 'assign', interfaceId: 'eni-0', count: 7 }],
    ['else the rest goes to the others with room, highest first, in the same round', [pif('eni-0', 0, 12, 12), pif('eni-1', 1, 13, 13), pif('eni-2', 2, 10, 10)], band(), { kind: 'assign', interfaceId: 'eni-2', count: 4, alongside: [{ interfaceId: 'eni-1', count: 1 }, { interfaceId: 'eni-0', count: 2 }] }],
    ['a burst spreads twice the band', [pif('eni-0', 0, 10, 10), pif('eni-1', 1, 8, 8)], band({ burst: true }), { kind: 'assign', interfaceId: 'eni-1', count: 6, alongside: [{ interfaceId: 'eni-0', count: 4 }] }],
    ['no room anywhere: the plan as it is', [pif('eni-0', 0, 14, 13)], band(), { kind: 'create', deviceIndex: 1, secondaryCount: 7 }],
  ])('%s', (_name, interfaces, targets, expected) => {
    expect(planAdaptiveRound(input(interfaces), targets)).toEqual(expected);
  });

  it('stops at max pods', () => {
    expect(planAdaptiveRound(input([pif('eni-0', 0, 12, 12), pif('eni-1', 1, 13, 13)], { maxPods: 27 }), band())).toEqual({ kind: 'assign', interfaceId: 'eni-0', count: 2 });
  });
});

describe('planAdaptiveShrink', () => {
  it('keeps excess until the hold has passed', () => {
    expect(planAdaptiveShrink(input([pif('eni-0', 0, 14, 0)]), band())).toEqual({ kind: 'none' });
  });
  it('then releases down to high, in one call, from the interface with the fewest pods', () => {
    const secondary = pif('eni-1', 1, 10, 0);
    const plan = planAdaptiveShrink(input([pif('eni-0', 0, 14, 10), secondary]), band({ releaseExcess: true }));
    expect(plan).toEqual({ kind: 'release', interfaceId: 'eni-1', addresses: secondary.releasable.slice(0, 6) });
  });
  it('deletes an interface only when listed as idle long enough and empty', () => {
    const empty = pif('eni-1', 1, 0, 0);
    expect(planAdaptiveShrink(input([pif('eni-0', 0, 8, 2), empty]), band())).toEqual({ kind: 'none' });
    expect(planAdaptiveShrink(input([pif('eni-0', 0, 8, 2), empty]), band({ deletableInterfaceIds: ['eni-1'] }))).toEqual({ kind: 'delete', interfaceId: 'eni-1' });
  });
  it('never shrinks while pods wait', () => {
    expect(planAdaptiveShrink(input([pif('eni-0', 0, 14, 0)], { pending: 1 }), band({ releaseExcess: true }))).toEqual({ kind: 'none' });
  });
});

describe('AdaptiveController', () => {
  const eni = (id: string, deviceIndex: number, ips: string[]) => ({ id, mac: `02:00:00:00:00:0${deviceIndex}`, deviceIndex, subnetId: 's', subnetCidr: '10.0.0.0/16', primaryIp: `10.0.9.${deviceIndex}`, secondaryIps: ips, managed: deviceIndex > 0 });

  it('holds two interfaces\' worth while the node is starting (as the AWS VPC CNI starts: one full, one spare), then the measured band (quiet: no pod yet)', () => {
    const pool = new AddressPool();
    pool.addInterface(eni('eni-0', 0, []));
    const controller = new AdaptiveController();
    expect(controller.targets(pool, 0, 14).high).toBe(28);
    // While starting, the pool grows to the floor, not only once below the measured low.
    expect(controller.targets(pool, 0, 14).low).toBe(28);
    expect(controller.targets(pool, DEFAULT_ADAPTIVE_PARAMS.startupWindowMs, 14).high).toBe(DEFAULT_ADAPTIVE_PARAMS.minWarm + DEFAULT_ADAPTIVE_PARAMS.quietChunk);
  });

  it('caps the start-up floor: an Azure NIC holds 255, a new node gets at most 64 free', () => {
    const pool = new AddressPool();
    pool.addInterface(eni('eni-0', 0, []));
    const controller = new AdaptiveController();
    expect(controller.targets(pool, 0, 255).high).toBe(DEFAULT_ADAPTIVE_PARAMS.startupMaxAddresses);
    expect(controller.targets(pool, 1_000, 14).high).toBe(28); // two m5.xlarge ENIs' worth is under the cap
  });

  it('once releasing, releases down to high, not just under releaseAbove', () => {
    const pool = new AddressPool();
    pool.addInterface(eni('eni-0', 0, []));
    pool.addInterface(eni('eni-1', 1, []));
    const controller = new AdaptiveController();
    controller.targets(pool, 0, 14); // the node starts with nothing free
    const t0 = DEFAULT_ADAPTIVE_PARAMS.startupWindowMs;
    const first = Array.from({ length: 14 }, (_, i) => `10.0.0.${10 + i}`);
    const second = Array.from({ length: 6 }, (_, i) => `10.0.1.${10 + i}`);
    pool.addAddresses('eni-0', first);
    pool.addAddresses('eni-1', second);
    expect(controller.targets(pool, t0, 14).releaseExcess).toBe(false);
    expect(controller.targets(pool, t0 + DEFAULT_ADAPTIVE_PARAMS.holdMs, 14).releaseExcess).toBe(true);
    // One call gave back eni-1's six: 14 free is no longer above releaseAbove, but still above high.
    pool.removeAddresses(second);
    expect(controller.targets(pool, t0 + DEFAULT_ADAPTIVE_PARAMS.holdMs + 60_000, 14).releaseExcess).toBe(true);
    pool.removeAddresses(first.slice(0, 10));
    expect(controller.targets(pool, t0 + DEFAULT_ADAPTIVE_PARAMS.holdMs + 120_000, 14).releaseExcess).toBe(false);
  });

  it('allows a release only after the excess lasted the hold time', () => {
    const pool = new AddressPool();
    pool.addInterface(eni('eni-0', 0, Array.from({ length: 40 }, (_, i) => `10.0.0.${10 + i}`)));
    const controller = new AdaptiveController();
    expect(controller.targets(pool, 0, 14).releaseExcess).toBe(false);
    expect(controller.targets(pool, DEFAULT_ADAPTIVE_PARAMS.holdMs - 1, 14).releaseExcess).toBe(false);
    expect(controller.targets(pool, DEFAULT_ADAPTIVE_PARAMS.holdMs, 14).releaseExcess).toBe(true);
  });

  it('holds twice as long after a grow undid a release within the hold, and halves back once a release stood a whole hold', () => {
    const hold = DEFAULT_ADAPTIVE_PARAMS.holdMs;
    const ips = (base: number, n: number) => Array.from({ length: n }, (_, i) => `10.0.${base}.${10 + i}`);
    const pool = new AddressPool();
    pool.addInterface(eni('eni-0', 0, ips(0, 5)));
    const controller = new AdaptiveController();
    controller.targets(pool, 0, 14);
    /** 35 addresses come, stay excess, and are released after `holdFor`; a grow follows `regrowAfter` later (or none). */
    const cycle = (at: number, base: number, holdFor: number, regrowAfter?: number): number => {
      pool.addAddresses('eni-0', ips(base, 35));
      controller.targets(pool, at, 14);
      expect(controller.targets(pool, at + holdFor - 1, 14).releaseExcess).toBe(false);
      expect(controller.targets(pool, at + holdFor, 14).releaseExcess).toBe(true);
      pool.removeAddresses(ips(base, 35)); // the release: 5 left, the quiet band's high (2 + 3)
      expect(controller.targets(pool, at + holdFor + 1_000, 14).releaseExcess).toBe(false);
      if (regrowAfter !== undefined) controller.recordGrown(at + holdFor + regrowAfter);
      return at + holdFor + (regrowAfter ?? 0) + 1_000;
    };
    const t0 = DEFAULT_ADAPTIVE_PARAMS.startupWindowMs; // past the start-up floor (the node started at 0)
    // Two releases undone by a grow 30 s later: the hold doubles each time, 2 → 4 → 8 minutes.
    let t = cycle(t0, 1, hold, 30_000);
    t = cycle(t, 2, 2 * hold, 30_000);
    // A release that stands: no grow for the whole 8-minute hold, and the hold halves to 4, not back to 2.
    t = cycle(t, 3, 4 * hold);
    controller.targets(pool, t + 4 * hold, 14);
    cycle(t + 4 * hold, 4, 2 * hold);
  });

  it('lists an empty secondary interface as deletable only after the empty hold', () => {
    const pool = new AddressPool();
    pool.addInterface(eni('eni-0', 0, ['10.0.0.10']));
    pool.addInterface(eni('eni-1', 1, []));
    const controller = new AdaptiveController();
    expect(controller.targets(pool, 0, 14).deletableInterfaceIds).toEqual([]);
    expect(controller.targets(pool, DEFAULT_ADAPTIVE_PARAMS.emptyInterfaceHoldMs, 14).deletableInterfaceIds).toEqual(['eni-1']);
  });

  it('counts a retried ADD of the same pod once', () => {
    const pool = new AddressPool();
    pool.addInterface(eni('eni-0', 0, []));
    const controller = new AdaptiveController();
    const t0 = DEFAULT_ADAPTIVE_PARAMS.startupWindowMs * 2;
    controller.targets(pool, 0, 14);
    for (let i = 0; i < 20; i += 1) controller.recordArrival(t0 + i * 100, 'the-same-pod');
    expect(controller.band(t0 + 2_000).ratePerSec).toBe(0);
  });

  it('raises the band for a burst of arrivals', () => {
    const pool = new AddressPool();
    pool.addInterface(eni('eni-0', 0, []));
    const controller = new AdaptiveController();
    const t0 = DEFAULT_ADAPTIVE_PARAMS.startupWindowMs * 2;
    controller.targets(pool, 0, 14);
    for (let i = 0; i < 20; i += 1) controller.recordArrival(t0 + i * 100, `pod-${i}`);
    const targets = controller.targets(pool, t0 + 2_000, 14);
    expect(targets.burst).toBe(true);
    expect(targets.high).toBeGreaterThanOrEqual(20);
  });
});

describe('poolPolicyOf', () => {
  it.each([
    [{}, true],
    [{ WARM_ENI_TARGET: '1' }, false],
    [{ WARM_IP_TARGET: '5' }, false],
    [{ MINIMUM_IP_TARGET: '10' }, false],
    [{ ENABLE_PREFIX_DELEGATION: 'true' }, false],
  ])('%j uses the adaptive default: %s', (env, adaptive) => {
    const policy = poolPolicyOf(loadDaemonConfig(env));
    expect(policy.adaptive !== undefined).toBe(adaptive);
    expect(policy.targets.warmEniTarget).toBe(1);
  });
});

describe('cloudConfigIssues', () => {
  it.each([
    [{}, 'aws', []],
    [{ WARM_ENI_TARGET: '1' }, 'aws', []],
    [{ ENABLE_PREFIX_DELEGATION: 'true' }, 'aws', []],
    [{}, 'azure', []],
    [{ WARM_IP_TARGET: '5' }, 'azure', []],
    [{ WARM_ENI_TARGET: '1' }, 'azure', ['WARM_ENI_TARGET']],
    [{ ENABLE_PREFIX_DELEGATION: 'true' }, 'azure', ['ENABLE_PREFIX_DELEGATION']],
  ] as const)('%j on %s → %j', (env, cloud, expected) => {
    const issues = cloudPlugin(cloud).poolSettingIssues(loadDaemonConfig(env));
    expect(issues.map((i) => i.env)).toEqual(expected);
    for (const issue of issues) expect(issue.message).toMatch(/Azure/);
  });
});

describe('the next interface, attached ahead', () => {
  it('creates an empty interface once free addresses and the attached room would not cover an interface\'s latency of arrivals', () => {
    // 10 free + 1 room on eni-0 = 11 < interfaceLow 12: attach eni-1 now, holding only its primary.
    expect(planAdaptiveGrow(input([pif('eni-0', 0, 13, 3)]), band({ interfaceLow: 12 }))).toEqual({ kind: 'create', deviceIndex: 1, secondaryCount: 0 });
  });

  it('does nothing ahead while the attached interfaces still cover it, or at the interface limit, or past max pods', () => {
    expect(planAdaptiveGrow(input([pif('eni-0', 0, 10, 2)]), band({ interfaceLow: 12 }))).toEqual({ kind: 'none' });
    const full = [pif('eni-0', 0, 14, 5), pif('eni-1', 1, 14, 14), pif('eni-2', 2, 14, 14), pif('eni-3', 3, 14, 14)];
    expect(planAdaptiveGrow(input(full), band({ interfaceLow: 20 }))).toEqual({ kind: 'none' });
    // Max pods 14: the attached interface already holds all the node can use.
    expect(planAdaptiveGrow(input([pif('eni-0', 0, 13, 3)], { maxPods: 14 }), band({ interfaceLow: 12 }))).toEqual({ kind: 'none' });
  });

  it('the band asks for an interface\'s latency of arrivals above high, at the measured create latency', () => {
    const controller = new AdaptiveController();
    const t0 = DEFAULT_ADAPTIVE_PARAMS.startupWindowMs;
    for (let i = 0; i < 60; i += 1) controller.recordArrival(t0 + i * 1_000, `pod-${i}`);
    controller.recordGrowLatency(300);
    controller.recordInterfaceLatency(6_000);
    const band = controller.band(t0 + 60_000);
    expect(band.interfaceLow).toBeGreaterThanOrEqual(band.high + Math.ceil((band.ratePerSec / 1000) * 6_000));
  });
});

describe('the chunk follows net growth', () => {
  it('steady churn (as many pods leaving as arriving) needs no chunk of new addresses; a rising load does', () => {
    const t0 = DEFAULT_ADAPTIVE_PARAMS.startupWindowMs;
    const span = DEFAULT_ADAPTIVE_PARAMS.chunkHorizonMs;
    const churn = new AdaptiveController();
    const rising = new AdaptiveController();
    for (let i = 0; i < 300; i += 1) {
      const t = t0 + (i * span) / 300;
      churn.recordArrival(t, `a-${i}`);
      churn.recordDeparture(t);
      rising.recordArrival(t, `a-${i}`);
    }
    const now = t0 + span;
    expect(churn.band(now).high - churn.band(now).low).toBeLessThan(rising.band(now).high - rising.band(now).low);
    expect(rising.band(now).high - rising.band(now).low).toBeGreaterThanOrEqual(100);
  });
});
