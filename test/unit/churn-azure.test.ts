/**
 * The churn simulator's Azure subscription: ARM's behaviour on the virtual clock (long-running NIC
 * PUTs, batches, per-NIC serialisation, the write bucket, another operation in flight) and the pool
 * engine on top of it, including a NIC where someone else holds configurations.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { CloudError } from '../../src/core/types.js';
import { PoolManager } from '../../src/ipamd/pool/pool-manager.js';
import { SimSubscription } from '../support/sim-clouds.js';
import { simulate } from '../../src/sim/simulate.js';
import { burstTrace } from '../../src/sim/traces.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';

const OPERATION_MS = 15_000;

function setup(options: { throttling?: boolean | { capacity: number; refillPerSecond: number }; batchSize?: number } = {}) {
  const clock = new VirtualClock(0);
  const sub = new SimSubscription({ clock, latencies: { operation: OPERATION_MS }, throttling: options.throttling ?? true, ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }) });
  const vmId = sub.launch('Standard_D4s_v5');
  const provider = sub.provider(vmId);
  const nicId = sub.state.vm(vmId)!.nicIds[0]!;
  return { clock, sub, provider, nicId };
}

/** Runs `work` while the virtual clock advances, and returns its outcome. */
const run = <T>(clock: VirtualClock, work: Promise<T>, horizonMs = 600_000): Promise<T> => clock.drive(work, { stepMs: 1_000, horizonMs });

describe('a simulated Azure node (the real AzureProvider on the emulated ARM)', () => {
  it('describes the VM: one NIC of 256 configurations, its capacity, our addresses only', async () => {
    const { clock, sub, provider, nicId } = setup();
    sub.state.addForeignConfig(nicId, 'someone-else');
    const node = await run(clock, provider.describeNode());
    expect(node.limits).toEqual({ maxInterfaces: 1, ipv4PerInterface: 256 });
    expect(node.interfaces).toHaveLength(1);
    expect(node.interfaces[0]).toMatchObject({ id: nicId, deviceIndex: 0, secondaryIps: [], capacity: 254, pooled: true, managed: false });
    expect(sub.calls.get('GetVirtualMachine')).toBe(1);
  });

  it('adds at most a batch per PUT, as a long-running operation polled until it ends', async () => {
    const { clock, sub, provider, nicId } = setup({ batchSize: 32 });
    const added = await run(clock, provider.assignAddresses(nicId, 40));
    expect(added).toHaveLength(32);
    expect(sub.calls.get('PutNetworkInterface')).toBe(1);
    expect(clock.now()).toBeGreaterThanOrEqual(OPERATION_MS);
    expect(sub.calls.get('GetOperation')).toBeGreaterThanOrEqual(Math.floor(OPERATION_MS / (sub.latencies.poll + sub.latencies.read)));
    expect(sub.state.nic(nicId)!.configs.filter((c) => c.name.startsWith('nativeip-'))).toHaveLength(32);
  });

  it('serialises writes to one NIC: concurrent grows never meet another operation', async () => {
    const { clock, sub, provider, nicId } = setup();
    const both = Promise.all([provider.assignAddresses(nicId, 3), provider.assignAddresses(nicId, 4)]);
    const [a, b] = await run(clock, both);
    expect([a.length, b.length]).toEqual([3, 4]);
    expect(sub.calls.get('PutNetworkInterface')).toBe(2);
    expect(sub.throttled.size).toBe(0);
  });

  it('maps RetryableErrorDueToAnotherOperation from a write it did not make to Throttled with the delay ARM gave', async () => {
    const { clock, sub, provider, nicId } = setup();
    const nic = sub.state.nic(nicId)!;
    const keep = nic.configs.map((c) => ({ name: c.name, primary: c.primary, subnetId: c.subnetId, allocation: c.allocation, address: c.address }));
    sub.state.startNicUpdate(nic, keep, { ifMatch: undefined, etagOf: () => nic.etag, target: nic.id });
    const error = await run(clock, provider.assignAddresses(nicId, 2)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CloudError);
    expect(error).toMatchObject({ code: 'Throttled', cloudCode: 'RetryableErrorDueToAnotherOperation' });
    expect((error as CloudError).retryAfterMs).toBeGreaterThanOrEqual(1_000);
    expect(sub.throttled.get('PutNetworkInterface')).toBe(1);
  });

  it('answers 429 with Retry-After once the subscription write bucket is empty', async () => {
    const { clock, sub, provider, nicId } = setup({ throttling: { capacity: 1, refillPerSecond: 0.01 } });
    await run(clock, provider.assignAddresses(nicId, 2));
    const error = await run(clock, provider.assignAddresses(nicId, 2)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'Throttled', cloudCode: 'SubscriptionRequestsThrottled' });
    expect((error as CloudError).retryAfterMs).toBeGreaterThan(60_000);
    expect(sub.throttled.get('PutNetworkInterface')).toBe(1);
  });

  it('releases only our configurations, in one PUT', async () => {
    const { clock, sub, provider, nicId } = setup();
    const added = await run(clock, provider.assignAddresses(nicId, 4));
    const foreign = sub.state.addForeignConfig(nicId, 'vip');
    const primary = sub.state.nic(nicId)!.configs.find((c) => c.primary)!.address;
    await run(clock, provider.releaseAddresses(nicId, [...added.slice(0, 2), foreign, primary]));
    const names = sub.state.nic(nicId)!.configs.map((c) => c.name);
    expect(names).toEqual(['ipconfig1', 'nativeip-3', 'nativeip-4', 'vip']);
    expect(sub.calls.get('PutNetworkInterface')).toBe(2);
  });
});

describe('the pool on a NIC where others hold configurations', () => {
  it('fills the NIC to its capacity and says why it stops, without a write ARM would refuse', async () => {
    const { clock, sub, provider, nicId } = setup({ throttling: false });
    for (const name of ['vip-1', 'vip-2', 'vip-3']) sub.state.addForeignConfig(nicId, name);
    const pool = new PoolManager({
      provider,
      datapath: { setupInterface: async () => undefined, teardownInterface: async () => undefined },
      targets: { warmEniTarget: 1, minimumIpTarget: 300 },
      mtu: 1500,
      attachTimeoutMs: 60_000,
      acquireTimeoutMs: 20_000,
      logger: pino({ level: 'silent' }),
      clock: clock.now,
      sleep: clock.sleep,
      random: () => 0.5,
    });
    await run(clock, pool.start());
    await run(clock, pool.kickGrow(), 30 * 60_000);
    expect(pool.pool.stats(clock.now()).total).toBe(252);
    expect(sub.calls.get('PutNetworkInterface')).toBe(Math.ceil(252 / 32));
    expect(pool.block?.reason).toMatch(/3 of those slots hold addresses nativeip does not manage/);
    pool.close();
  });
});

describe('simulate on Azure', () => {
  it('replays a trace through the real pool engine and counts NIC PUTs as the mutating calls', async () => {
    const trace = burstTrace({ nodes: 2, replicas: 12, cycles: 1, holdSec: 300 });
    const result = await simulate(trace, { name: 'warm ip', env: { WARM_IP_TARGET: '2' } }, { instanceType: 'Standard_D4s_v5', cloud: 'azure', throttling: true });
    expect(result.pods).toBe(12);
    expect(result.podsUnserved).toBe(0);
    expect(result.mutatingCalls).toBe(result.callsByAction['PutNetworkInterface']);
    expect(result.mutatingCalls).toBeGreaterThan(0);
    expect(Object.keys(result.callsByAction)).toEqual(expect.arrayContaining(['GetNetworkInterface', 'GetOperation', 'GetVirtualMachine']));
    // With 2 addresses spare and a 15 s PUT per grow, pods of the burst wait for ARM.
    expect(result.podsWaited).toBeGreaterThan(0);
  });
});
