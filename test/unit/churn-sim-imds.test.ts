import { describe, expect, it } from 'vitest';
import { SimAccount } from '../support/sim-clouds.js';
import { simulate } from '../../src/sim/simulate.js';
import { steadyTrace } from '../../src/sim/traces.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';

/** Runs virtual time in 100 ms steps until `promise` settles. */
const drive = <T>(clock: VirtualClock, promise: Promise<T>): Promise<T> => clock.drive(promise);

describe('the churn simulator observes nodes through a lagging IMDS', () => {
  it('shows an assign only after the IMDS lag, and counts IMDS reads apart from EC2 calls', async () => {
    const clock = new VirtualClock(0);
    const account = new SimAccount({ clock, latencies: { imdsLag: 1_500, imdsRead: 0 } });
    const provider = account.provider(account.launch('m5.large'));
    // The daemon's provider discovers its instance (IMDS, DescribeInstanceTypes) at its first call; counting starts after.
    await drive(clock, provider.observeNode());
    account.calls.clear();
    account.imdsReads = 0;
    const node = await drive(clock, provider.describeNode());
    const primary = node.interfaces[0]!;
    const added = await drive(clock, provider.assignAddresses(primary.id, 2));
    const addressesSeen = async () => (await drive(clock, provider.observeNode())).interfaces.find((i) => i.id === primary.id)?.addresses ?? [];
    expect(await addressesSeen()).not.toContain(added[0]);
    await clock.runUntil(clock.now() + 1_500);
    expect(await addressesSeen()).toEqual(expect.arrayContaining(added));
    expect(account.imdsReads).toBe(2);
    expect(Object.fromEntries(account.calls)).toEqual({ DescribeNetworkInterfaces: 1, AssignPrivateIpAddresses: 1 });
  });

  it('reconciling from IMDS leaves the pods alone and cuts DescribeNetworkInterfaces', async () => {
    const trace = steadyTrace({ nodes: 2, hours: 1 });
    const policy = { name: 'adaptive', env: {} };
    const observed = await simulate(trace, policy, { cloud: 'aws', instanceType: 'm5.large' });
    const described = await simulate(trace, policy, { cloud: 'aws', instanceType: 'm5.large', observeNodes: false });
    expect(observed.podsUnserved).toBe(0);
    expect(described.callsByAction['DescribeNetworkInterfaces']).toBeGreaterThanOrEqual(2 * 60);
    expect(observed.callsByAction['DescribeNetworkInterfaces']).toBeLessThanOrEqual(2 * 4 + 4);
    expect(observed.metadataReads).toBeGreaterThanOrEqual(2 * 55);
    expect(observed.reconciles.observedMatch).toBeGreaterThan(observed.reconciles.described);
    expect(described.metadataReads).toBe(0);
  });
});
