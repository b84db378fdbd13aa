/** PoolManager.warmPoolStatus: what `nativeip status` shows of the warm-pool policy. */
import { describe, expect, it } from 'vitest';
import type { VirtualClock } from '../../src/sim/virtual-clock.js';
import type { WarmTargets } from '../../src/ipamd/pool/plan/warm-targets.js';
import { AdaptiveController } from '../../src/ipamd/pool/adaptive-controller.js';
import type { PoolManager } from '../../src/ipamd/pool/pool-manager.js';
import { FakeCloud } from '../support/fake-cloud.js';
import { fakePool } from '../support/fake-pool.js';

function poolWith(targets: WarmTargets, adaptive?: AdaptiveController): { pool: PoolManager; clock: VirtualClock } {
  return fakePool({ cloud: new FakeCloud({ maxInterfaces: 3, ipv4PerInterface: 10 }), targets, ...(adaptive === undefined ? {} : { adaptive }) });
}

describe('PoolManager.warmPoolStatus', () => {
  it.each([
    [{ warmEniTarget: 1 }, 'eni', { WARM_ENI_TARGET: 1 }],
    [{ warmEniTarget: 1, warmIpTarget: 5 }, 'ip', { WARM_ENI_TARGET: 1, WARM_IP_TARGET: 5 }],
    [{ warmEniTarget: 1, minimumIpTarget: 10 }, 'ip', { WARM_ENI_TARGET: 1, MINIMUM_IP_TARGET: 10 }],
  ] as const)('%j → %s, with the knobs in force', (targets, policy, knobs) => {
    expect(poolWith(targets).pool.warmPoolStatus()).toEqual({ policy, knobs });
  });

  it('the adaptive default reports its band and the arrival rate behind it', async () => {
    const adaptive = new AdaptiveController();
    const { pool, clock } = poolWith({ warmEniTarget: 1 }, adaptive);
    expect(pool.warmPoolStatus()).toEqual({ policy: 'adaptive', low: 2, high: 5, burst: false, arrivalsPerMinute: 0 });
    for (let i = 0; i < 5; i += 1) adaptive.recordArrival(clock.now() + i * 100, `pod-${i}`);
    await clock.runUntil(clock.now() + 400);
    const status = pool.warmPoolStatus();
    expect(status).toMatchObject({ policy: 'adaptive', burst: true });
    expect(status.arrivalsPerMinute).toBeGreaterThan(100);
    expect(status.high).toBeGreaterThan(5);
  });
});
