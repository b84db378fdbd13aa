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

  it('says what a grow under way is doing and for how long, so a stalled one shows where', () => {
    const text = renderStatus({ ...status, state: 'growing', grow: { doing: 'waiting for interface eni-1 (MAC 0a:00:00:00:00:01) to appear on the host, up to 60 s', forMs: 45_200 } });
    expect(text).toContain('growing:   waiting for interface eni-1 (MAC 0a:00:00:00:00:01) to appear on the host, up to 60 s (for 45 s)');
  });

  it('shows the start-up floor of a new node, and the knobs of the AWS policies', () => {
    expect(renderStatus({ ...status, warmPool: { policy: 'adaptive', low: 9, high: 9, startupFloor: 9 } })).toContain('up to 9 (a new node: at least 9 for its first minutes)');
    expect(renderStatus({ ...status, warmPool: { policy: 'ip', knobs: { WARM_IP_TARGET: 5, MINIMUM_IP_TARGET: 10 } } })).toContain('warm pool: WARM_IP_TARGET / MINIMUM_IP_TARGET: WARM_IP_TARGET=5, MINIMUM_IP_TARGET=10');
  });
});
