import { describe, expect, it } from 'vitest';
import { renderStatus } from '../../src/cli/daemon-views.js';
import type { StatusResult } from '../../src/rpc/protocol.js';

const status: StatusResult = {
  state: 'ready',
  cloud: 'aws',
  instanceId: 'i-1',
  instanceType: 'm5.xlarge',
  maxPods: 58,
  pool: { total: 20, assigned: 12, available: 8, coolingDown: 0 },
  interfaces: [],
  pods: [],
};

describe('nativeip status', () => {
  it('shows the adaptive band the pool keeps now', () => {
    const text = renderStatus({ ...status, warmPool: { policy: 'adaptive', low: 5, high: 25, burst: true, arrivalsPerMinute: 600 } });
    expect(text).toContain('warm pool: adaptive default: grows below 5 free addresses, up to 25 (a burst is arriving), 600 pods/min at the busiest recent rate');
  });

  it('names an AWS knob policy, and says nothing of a warm pool an older daemon does not report', () => {
    expect(renderStatus({ ...status, warmPool: { policy: 'ip' } })).toContain('warm pool: WARM_IP_TARGET / MINIMUM_IP_TARGET');
    expect(renderStatus(status)).not.toContain('warm pool');
  });
});
