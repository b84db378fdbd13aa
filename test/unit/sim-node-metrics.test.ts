/**
 * The churn simulator's per-node counters are the live daemon's metrics (one definition,
 * src/ipamd/metrics/metric-definitions.ts): a replayed trace reports the same quantities, under the
 * same names, as a real node's /metrics.
 */
import { describe, expect, it } from 'vitest';
import { simulate } from '../../src/sim/simulate.js';
import type { Trace } from '../../src/sim/traces.js';
import { NODE_METRICS } from '../../src/ipamd/metrics/metric-definitions.js';
import type { MetricSnapshot } from '../../src/ipamd/metrics/node-metrics.js';

/** The sum of a snapshot's values named `name` (histograms: their `_count`) whose labels include `labels`. */
function total(snapshot: readonly MetricSnapshot[], name: string, labels: Record<string, string> = {}): number {
  const metric = snapshot.find((m) => m.name === name.replace(/_count$/, ''));
  if (metric === undefined) return 0;
  const wanted = name.endsWith('_count') ? `${metric.name}_count` : metric.name;
  return metric.values
    .filter((v) => ((v as { metricName?: string }).metricName ?? metric.name) === wanted && Object.entries(labels).every(([k, l]) => String(v.labels[k]) === l))
    .reduce((sum, v) => sum + v.value, 0);
}

describe('simulated nodes report the daemon’s own metrics', () => {
  it('a node capped at one ENI: five pods get addresses, the rest are refused for the interface limit', async () => {
    const events = Array.from({ length: 8 }, (_, i) => ({ t: 1 + i, node: 'node-1', pod: `p${i}`, op: 'add' as const }));
    const trace: Trace = { name: 'capped', description: 'eight pods on a node capped at one ENI', durationSec: 120, events };
    const result = await simulate(trace, { name: 'one ENI', env: { MAX_ENI: '1' } }, { cloud: 'aws', instanceType: 't3.medium', nodeMetrics: true, kubeletRetryMs: 30_000 });
    const snapshot = result.nodeMetrics?.['node-1'];
    expect(snapshot).toBeDefined();
    expect(new Set(snapshot!.map((m) => m.name))).toEqual(new Set(Object.values(NODE_METRICS).map((d) => d.name)));
    expect(total(snapshot!, 'nativeip_addresses', { state: 'assigned' })).toBe(5);
    expect(total(snapshot!, 'nativeip_interfaces_max')).toBe(1);
    expect(total(snapshot!, 'nativeip_assign_failures_total', { reason: 'interface_limit' })).toBeGreaterThanOrEqual(3);
    expect(total(snapshot!, 'nativeip_cloud_operations_total', { operation: 'describeNode', result: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(result.podsWaited).toBeGreaterThanOrEqual(3);
  });
});
