/**
 * NodeMetrics on a real PoolManager (fake cloud, virtual clock): pool gauges read when scraped,
 * the max_pods failure (which needs the Node's capacity, so the e2e nodes cannot show it), pods
 * that waited, cloud operations, and the exposition's shape.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import type { PoolManager } from '../../src/ipamd/pool/pool-manager.js';
import { CloudCallCounter } from '../../src/ipamd/pool/cloud-call-counter.js';
import { NodeMetrics } from '../../src/ipamd/metrics/node-metrics.js';
import { NODE_METRICS } from '../../src/ipamd/metrics/metric-definitions.js';
import { FakeCloud } from '../support/fake-cloud.js';
import { fakePool } from '../support/fake-pool.js';
import { parseExposition, sampleSum } from '../support/metrics-text.js';

function instrumented(options: { clusterPodCapacity?: number; warmIpTarget?: number } = {}) {
  const clock = new VirtualClock(0);
  const cloud = new FakeCloud({ maxInterfaces: 3, ipv4PerInterface: 4 });
  const calls = new CloudCallCounter(clock.now);
  const made: { pool?: PoolManager } = {};
  const metrics = new NodeMetrics({ pool: () => made.pool, clock: clock.now, build: { version: '0.1.0', nodejs: 'v24', cloud: 'fake' } });
  calls.listen((operation, ms, result) => metrics.cloudOperation(operation, ms, result));
  // Each assign takes 300 ms of virtual time, as a real one does, so a pod that waits waits a while.
  const slow = new Proxy(cloud, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      if (property !== 'assignAddresses') return method.bind(target);
      return async (...args: unknown[]) => {
        await clock.sleep(300);
        return method.apply(target, args);
      };
    },
  });
  const { pool } = fakePool({
    cloud,
    provider: () => calls.wrap(slow),
    clock,
    targets: { warmEniTarget: 0, warmIpTarget: options.warmIpTarget ?? 2 },
    observer: metrics,
    ...(options.clusterPodCapacity === undefined ? {} : { clusterPodCapacity: () => options.clusterPodCapacity }),
  });
  made.pool = pool;
  return { clock, pool, metrics };
}

const samplesOf = async (metrics: NodeMetrics) => parseExposition(await metrics.exposition());

describe('NodeMetrics', () => {
  it('reports nothing about the pool before the node is read, and the build info always', async () => {
    const metrics = new NodeMetrics({ pool: () => undefined, build: { version: '9.9.9', nodejs: 'v24.0.0', cloud: 'fake' } });
    const samples = await samplesOf(metrics);
    expect(samples.filter((s) => s.name === 'nativeip_addresses')).toEqual([]);
    expect(samples.find((s) => s.name === 'nativeip_build_info')?.labels).toEqual({ version: '9.9.9', nodejs: 'v24.0.0', cloud: 'fake' });
  });

  it('reads the pool when scraped: addresses by state, per interface, limits, max pods, policy', async () => {
    const { clock, pool, metrics } = instrumented();
    await clock.drive(pool.start());
    await clock.drive(pool.kickGrow());
    await clock.drive(pool.acquire('a'), { stepMs: 10 });
    await clock.drive(pool.acquire('b'), { stepMs: 10 });
    pool.release('b', { used: true, cooldownMs: 30_000 });
    const samples = await samplesOf(metrics);
    const stats = pool.pool.stats(clock.now());
    expect(sampleSum(samples, 'nativeip_addresses', { state: 'assigned' })).toBe(1);
    expect(sampleSum(samples, 'nativeip_addresses', { state: 'cooling' })).toBe(1);
    expect(sampleSum(samples, 'nativeip_addresses', { state: 'free' })).toBe(stats.available);
    expect(sampleSum(samples, 'nativeip_interface_addresses')).toBe(stats.total);
    expect(sampleSum(samples, 'nativeip_interfaces')).toBe(pool.pool.interfaces().length);
    expect(sampleSum(samples, 'nativeip_interfaces_max')).toBe(3);
    expect(sampleSum(samples, 'nativeip_addresses_max')).toBe(9);
    expect(sampleSum(samples, 'nativeip_max_pods')).toBe(pool.maxPods);
    expect(sampleSum(samples, 'nativeip_warm_pool_policy_info', { policy: 'ip' })).toBe(1);
    expect(sampleSum(samples, 'nativeip_cloud_operations_total', { operation: 'assignAddresses', result: 'ok' })).toBeGreaterThanOrEqual(1);
  });

  it('a single metric read alone is current too (the pool is read by whichever pool metric comes first)', async () => {
    const { clock, pool, metrics } = instrumented();
    await clock.drive(pool.start());
    await clock.drive(pool.acquire('a'), { stepMs: 10 });
    // Never scraped whole: a read of one gauge that is not the first defined still reads the pool.
    const interfaces = parseExposition(await metrics.registry.getSingleMetricAsString('nativeip_interfaces'));
    expect(sampleSum(interfaces, 'nativeip_interfaces')).toBe(pool.pool.interfaces().length);
    await new Promise((resolve) => setImmediate(resolve));
    await clock.drive(pool.acquire('b'), { stepMs: 10 });
    await new Promise((resolve) => setImmediate(resolve));
    const assigned = parseExposition(await metrics.registry.getSingleMetricAsString('nativeip_interface_addresses'));
    expect(sampleSum(assigned, 'nativeip_interface_addresses', { state: 'assigned' })).toBe(2);
  });

  it('counts max_pods when the Node’s capacity stops the pool, and the gauge says it is blocked', async () => {
    const { clock, pool, metrics } = instrumented({ clusterPodCapacity: 2 });
    await clock.drive(pool.start());
    await clock.drive(pool.acquire('a'), { stepMs: 10 });
    await clock.drive(pool.acquire('b'), { stepMs: 10 });
    await expect(clock.drive(pool.acquire('c'), { stepMs: 10 })).rejects.toThrow(/no free address/);
    const samples = await samplesOf(metrics);
    expect(sampleSum(samples, 'nativeip_assign_failures_total', { reason: 'max_pods' })).toBe(1);
    expect(sampleSum(samples, 'nativeip_assign_failures_total')).toBe(1);
    expect(sampleSum(samples, 'nativeip_pool_blocked', { reason: 'max_pods' })).toBe(1);
  });

  it('counts a pod that waited for a grow, with how long', async () => {
    const { clock, pool, metrics } = instrumented({ warmIpTarget: 1 });
    await clock.drive(pool.start());
    await clock.drive(pool.acquire('a'), { stepMs: 10 });
    // Take the warm address before the pool tops up: the next pod waits for the grow.
    await clock.drive(pool.acquire('b'), { stepMs: 10 });
    await clock.drive(pool.acquire('c'), { stepMs: 10 });
    const samples = await samplesOf(metrics);
    const waited = sampleSum(samples, 'nativeip_pod_wait_seconds_count');
    expect(waited).toBeGreaterThanOrEqual(1);
    expect(sampleSum(samples, 'nativeip_pod_wait_seconds_sum')).toBeGreaterThanOrEqual(0.3 * waited);
    expect(sampleSum(samples, 'nativeip_cloud_operation_duration_seconds_sum', { operation: 'assignAddresses' })).toBeGreaterThanOrEqual(0.3);
  });

  it('defines every metric with a unique name, base units and counters ending in _total', () => {
    const names = Object.values(NODE_METRICS).map((d) => d.name);
    expect(new Set(names).size).toBe(names.length);
    for (const d of Object.values(NODE_METRICS)) {
      expect(d.name).toMatch(/^nativeip_[a-z_]+$/);
      expect(d.name.endsWith('_total')).toBe(d.kind === 'counter');
      if (d.kind === 'histogram') expect(d.name).toMatch(/_seconds$/);
      expect(d.help.length).toBeGreaterThan(20);
    }
  });
});
