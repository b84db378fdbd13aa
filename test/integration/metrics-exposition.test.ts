/**
 * The daemon's whole exposition, with every metric family holding values (pool gauges, requests,
 * failures, waits, cloud operations and API requests, reconciles, upkeep), passes the real
 * `promtool check metrics` (lint included: names, units, HELP, counters' `_total`).
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import type { PoolManager } from '../../src/ipamd/pool/pool-manager.js';
import { CloudCallCounter } from '../../src/ipamd/pool/cloud-call-counter.js';
import { NodeMetrics } from '../../src/ipamd/metrics/node-metrics.js';
import { NODE_METRICS } from '../../src/ipamd/metrics/metric-definitions.js';
import { AdaptiveController } from '../../src/ipamd/pool/adaptive-controller.js';
import { FakeCloud } from '../support/fake-cloud.js';
import { fakePool } from '../support/fake-pool.js';
import { parseExposition } from '../support/metrics-text.js';
import { checkMetrics } from '../support/prometheus.js';

describe('the metrics exposition', () => {
  it('passes promtool check metrics with every family populated', async () => {
    const clock = new VirtualClock(0);
    const made: { pool?: PoolManager } = {};
    const metrics = new NodeMetrics({ pool: () => made.pool, clock: clock.now, build: { version: '0.1.0', nodejs: process.version, cloud: 'fake' } });
    const calls = new CloudCallCounter(clock.now);
    calls.listen((operation, ms, result) => metrics.cloudOperation(operation, ms, result));
    const { pool } = fakePool({
      cloud: new FakeCloud({ maxInterfaces: 2, ipv4PerInterface: 3 }),
      provider: (cloud) => calls.wrap(cloud),
      clock,
      targets: { warmEniTarget: 0 },
      adaptive: new AdaptiveController(),
      observer: metrics,
    });
    made.pool = pool;
    await clock.drive(pool.start());
    await clock.drive(pool.kickGrow());
    for (let i = 0; i < 4; i += 1) await clock.drive(pool.acquire(`pod-${i}`), { stepMs: 10 });
    await clock.drive(pool.acquire('one-too-many'), { stepMs: 10 }).catch(() => undefined);
    pool.release('pod-0', { used: true, cooldownMs: 30_000 });
    await clock.drive(pool.reconcile(), { stepMs: 10 });
    for (const [command, result] of [['ADD', 'ok'], ['ADD', 'PoolExhausted'], ['DEL', 'ok'], ['CHECK', 'ok'], ['GC', 'ok'], ['STATUS', 'ok']] as const) metrics.cniRequest(command, result, 12);
    metrics.cloudApiRequest('AssignPrivateIpAddresses', 250, 'ok');
    metrics.cloudApiRequest('CreateNetworkInterface', 90, 'throttled');
    metrics.reconcileFound('addresses_vanished', 2);
    metrics.leakedInterfacesCollected(1);
    metrics.checkpointWritten(3);
    metrics.podWaited(400);
    metrics.startupPhase('node', 1.2);
    metrics.startupPhase('total', 2.5);

    const text = await metrics.exposition();
    const names = new Set(parseExposition(text).map((s) => s.name.replace(/_(bucket|sum|count)$/, '')));
    for (const definition of Object.values(NODE_METRICS)) expect(names, definition.name).toContain(definition.name);
    const checked = await checkMetrics(text);
    expect(checked.ok, `promtool check metrics:\n${checked.output}`).toBe(true);
  });
});
