/**
 * The churn simulator's Azure nodes observe themselves through a lagging IMDS network view, as the
 * real provider does, and a pool on them reads the VM and its NICs from ARM only on a mismatch or
 * every 15 minutes.
 */
import { describe, expect, it } from 'vitest';
import { SimSubscription } from '../support/sim-clouds.js';
import { simulate } from '../../src/sim/simulate.js';
import { steadyTrace } from '../../src/sim/traces.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';

/** Runs virtual time in 100 ms steps until `promise` settles. */
const drive = <T>(clock: VirtualClock, promise: Promise<T>): Promise<T> => clock.drive(promise);

describe('the Azure churn simulator observes nodes through a lagging IMDS', () => {
  it('shows a grow only after the IMDS lag, by the NIC ids of the last describe, and counts IMDS reads apart from ARM calls', async () => {
    const clock = new VirtualClock(0);
    const sub = new SimSubscription({ clock, latencies: { operation: 2_000, imdsLag: 3_000, imdsRead: 0 } });
    const provider = sub.provider(sub.launch('Standard_D4s_v5'));
    const node = await drive(clock, provider.describeNode());
    const nic = node.interfaces[0]!;
    const added = await drive(clock, provider.assignAddresses(nic.id, 2));
    sub.calls.clear();
    const seen = async () => (await drive(clock, provider.observeNode())).interfaces.find((i) => i.id === nic.id)?.addresses ?? [];
    expect(await seen()).toEqual([nic.primaryIp]);
    await clock.runUntil(clock.now() + 3_000);
    expect([...(await seen())].sort()).toEqual([nic.primaryIp, ...added].sort());
    expect(sub.imdsReads).toBe(2);
    expect(sub.calls.size).toBe(0);
  });

  it('a node described from ARM on every reconcile has no observeNode', () => {
    const clock = new VirtualClock(0);
    const sub = new SimSubscription({ clock });
    const provider = sub.provider(sub.launch('Standard_D4s_v5'));
    expect(provider.describeOnly().observeNode).toBeUndefined();
    expect(typeof provider.observeNode).toBe('function');
  });

  it('reconciling from IMDS leaves the pods alone and reads the VM from ARM about every 15 minutes, not every minute', async () => {
    const trace = steadyTrace({ nodes: 2, hours: 1 });
    const result = await simulate(trace, { name: 'adaptive', env: {} }, { instanceType: 'Standard_D4s_v5', cloud: 'azure', latencies: { operation: 2_000 } });
    expect(result.podsUnserved).toBe(0);
    // Before observeNode: one GET VM per node and reconcile, 2 × 60 in the hour.
    expect(result.callsByAction['GetVirtualMachine'] ?? 0).toBeLessThanOrEqual(2 * 4 + 4);
    expect(result.reconciles.observedMatch).toBeGreaterThan(2 * 50);
    expect(result.reconciles.described).toBe(result.callsByAction['GetVirtualMachine'] ?? 0);
  });
});
