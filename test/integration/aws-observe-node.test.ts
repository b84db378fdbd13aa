/**
 * Ec2Provider.observeNode reads the node from the emulator's IMDS `macs/` tree (addresses and
 * prefixes included) with no EC2 call, lagging EC2 as real IMDS does; and a PoolManager on it
 * reconciles without DescribeNetworkInterfaces unless something changed behind its back.
 * The emulator's clock (which drives the IMDS lag) moves only when the test or the pool sleeps,
 * so "right after a change" is exact, whatever the machine's load.
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startAwsEmulator, type AwsEmulator } from '../../src/emulator/aws/index.js';
import { PoolManager } from '../../src/ipamd/pool/pool-manager.js';
import { Ec2Provider } from '../../src/providers/aws/index.js';
import { FakeDatapath } from '../support/fake-datapath.js';

const CREDENTIALS = { accessKeyId: 'AKIDEMULATOR', secretAccessKey: 'emulator-secret' };
const IMDS_LAG_MS = 300;
const logger = pino({ level: 'silent' });

const sorted = (list: readonly string[]) => [...list].sort();

let now = Date.parse('2026-11-22T00:00:00Z');
const clock = () => now;
const pause = async (ms: number) => {
  now += ms;
};

describe('observeNode against the emulator', () => {
  let emulator: AwsEmulator | undefined;
  const providers: Ec2Provider[] = [];

  afterEach(async () => {
    for (const provider of providers.splice(0)) provider.close();
    await emulator?.close();
    emulator = undefined;
  });

  async function node(instanceType = 'm5.large') {
    emulator ??= await startAwsEmulator({ imdsPropagationMs: IMDS_LAG_MS, seed: 45, clock });
    const instance = await emulator.launchInstance({ instanceType });
    const provider = new Ec2Provider({ ec2Endpoint: emulator.ec2Url, imdsEndpoint: instance.imdsUrl, credentials: CREDENTIALS, detachWait: { attempts: 40, initialDelayMs: 5, maxDelayMs: 50 } });
    providers.push(provider);
    return { emulator, instance, provider };
  }

  it('shows the ENIs, addresses and prefixes EC2 has, after the IMDS lag, with no EC2 call', async () => {
    const { emulator, instance, provider } = await node();
    const addresses = await provider.assignAddresses(instance.primaryEni, 3);
    const prefixes = await provider.assignPrefixes(instance.primaryEni, 1);
    const created = await provider.createInterface({ deviceIndex: 1, secondaryCount: 2 });
    await pause(IMDS_LAG_MS + 100);
    emulator.resetCounts();
    const seen = await provider.observeNode();
    expect(emulator.callCounts()).toEqual({});
    const byId = new Map(seen.interfaces.map((i) => [i.id, i]));
    expect(sorted([...byId.keys()])).toEqual(sorted([instance.primaryEni, created.id]));
    expect(byId.get(instance.primaryEni)).toMatchObject({ deviceIndex: 0, mac: instance.mac, prefixes });
    expect(sorted(byId.get(instance.primaryEni)?.addresses ?? [])).toEqual(sorted([instance.primaryIp, ...addresses]));
    expect(byId.get(created.id)).toMatchObject({ deviceIndex: 1, mac: created.mac, prefixes: [] });
    expect(sorted(byId.get(created.id)?.addresses ?? [])).toEqual(sorted([created.primaryIp, ...created.secondaryIps]));
    expect(seen.vpcCidrs).toEqual([emulator.topology().vpcCidr]);
  });

  it('lags EC2: right after an assign the new addresses are not there yet', async () => {
    const { instance, provider } = await node();
    await provider.observeNode();
    const added = await provider.assignAddresses(instance.primaryEni, 2);
    const early = await provider.observeNode();
    const primaryEarly = early.interfaces.find((i) => i.id === instance.primaryEni);
    expect(primaryEarly?.addresses).not.toContain(added[0]);
    await pause(IMDS_LAG_MS + 100);
    const late = await provider.observeNode();
    expect(late.interfaces.find((i) => i.id === instance.primaryEni)?.addresses).toEqual(expect.arrayContaining(added));
  });

  it('a pool reconciles from IMDS alone, rechecks after its own grow, and describes only on a real change', async () => {
    const { emulator, instance, provider } = await node();
    const pool = new PoolManager({
      provider,
      datapath: new FakeDatapath(),
      targets: { warmEniTarget: 0, warmIpTarget: 3 },
      mtu: 9001,
      attachTimeoutMs: 1_000,
      acquireTimeoutMs: 5_000,
      logger,
      clock,
      sleep: pause,
      observationSettleMs: IMDS_LAG_MS * 3,
    });
    await pool.start();
    await pool.kickGrow();
    emulator.resetCounts();
    expect(pool.pool.stats(now).available).toBe(3);
    // Right after our grow IMDS still lags: checked again after the lag, no describe.
    await pool.reconcile();
    expect(pool.reconcileCounts).toEqual({ observedMatch: 1, rechecked: 1, described: 0 });
    expect(emulator.callCounts()['DescribeNetworkInterfaces']).toBeUndefined();
    await pool.reconcile();
    expect(pool.reconcileCounts).toEqual({ observedMatch: 2, rechecked: 1, described: 0 });
    expect(emulator.callCounts()['DescribeNetworkInterfaces']).toBeUndefined();

    // Someone else removes one of the pool's addresses: IMDS shows it, the pool describes and drops it.
    const other = new Ec2Provider({ ec2Endpoint: emulator.ec2Url, imdsEndpoint: instance.imdsUrl, credentials: CREDENTIALS });
    providers.push(other);
    const victim = pool.pool.addressesOf(instance.primaryEni)[0]!.address;
    await other.releaseAddresses(instance.primaryEni, [victim]);
    await pause(IMDS_LAG_MS * 4);
    expect(pool.pool.addressesOf(instance.primaryEni).map((a) => a.address)).toContain(victim);
    emulator.resetCounts();
    await pool.reconcile();
    expect(pool.reconcileCounts.described).toBe(1);
    expect(emulator.callCounts()['DescribeNetworkInterfaces']).toBe(1);
    // The pool follows EC2 again (its grow may have been handed the same address back).
    const inEc2 = emulator.topology().instances.find((i) => i.instanceId === instance.instanceId)?.interfaces[0]?.secondaryIps ?? [];
    expect(sorted(pool.pool.addressesOf(instance.primaryEni).map((a) => a.address))).toEqual(sorted(inEc2));
    pool.close();
  });
});
