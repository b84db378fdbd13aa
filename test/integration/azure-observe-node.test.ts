/**
 * AzureProvider.observeNode reads the VM's NICs from the emulator's IMDS
 * (`/metadata/instance/network`) with no ARM call, lagging ARM as the emulator's IMDS does; and a
 * PoolManager on it reconciles without reading the VM or its NICs from ARM unless something changed
 * behind its back. The emulator's clock (which drives the IMDS lag) moves only when the test or the
 * pool sleeps, so "right after a change" is exact, whatever the machine's load. ARM goes through
 * the real SDKs and @azure/identity's ManagedIdentityCredential, as in azure-provider-emulator.
 */
import { ManagedIdentityCredential } from '@azure/identity';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AddressPool } from '../../src/ipamd/pool/plan/address-pool.js';
import { expectedNodeOf, observationDifference } from '../../src/ipamd/pool/plan/node-observation.js';
import type { NodeSnapshot } from '../../src/core/types.js';
import { DEFAULT_AZURE_IMDS_PROPAGATION_MS, startAzureEmulator, type AzureEmulator, type CreatedVm } from '../../src/emulator/azure/index.js';
import { PoolManager } from '../../src/ipamd/pool/pool-manager.js';
import { AzureProvider } from '../../src/providers/azure/index.js';
import { FakeDatapath } from '../support/fake-datapath.js';

const IMDS_LAG_MS = DEFAULT_AZURE_IMDS_PROPAGATION_MS;
const logger = pino({ level: 'silent' });
const sorted = (list: readonly string[]) => [...list].sort();

let now = Date.now();
const clock = () => now;
const pause = async (ms: number) => {
  now += ms;
};

let emulator: AzureEmulator;
let credential: ManagedIdentityCredential;
const providers: AzureProvider[] = [];

beforeAll(async () => {
  emulator = await startAzureEmulator({ seed: 31, clock });
  const tokenVm = await emulator.createVm({ name: 'token-vm' });
  // Why: @azure/identity's IMDS source reads its endpoint from this variable (AKS pod identity's).
  process.env['AZURE_POD_IDENTITY_AUTHORITY_HOST'] = tokenVm.imdsUrl;
  credential = new ManagedIdentityCredential();
});

afterEach(() => {
  for (const provider of providers.splice(0)) provider.close();
});

afterAll(async () => {
  delete process.env['AZURE_POD_IDENTITY_AUTHORITY_HOST'];
  await emulator?.close();
});

function providerFor(vm: CreatedVm): AzureProvider {
  const provider = new AzureProvider({
    credential,
    armEndpoint: emulator.armUrl,
    armCaBundle: emulator.caCert,
    imdsEndpoint: vm.imdsUrl,
    pollIntervalMs: 10,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 20))),
    clock,
  });
  providers.push(provider);
  return provider;
}

/** ARM requests by operation since the last reset (IMDS requests left out). */
function armCalls(): Record<string, number> {
  return Object.fromEntries(Object.entries(emulator.callCounts()).filter(([operation]) => !operation.startsWith('Imds')));
}

/** What the observation says against the snapshot, with the pool holding the snapshot's addresses. */
function differenceFrom(observed: Awaited<ReturnType<AzureProvider['observeNode']>>, node: NodeSnapshot): string | undefined {
  const pool = new AddressPool();
  for (const cloud of node.interfaces) pool.addInterface(cloud);
  return observationDifference(observed, expectedNodeOf(node, pool));
}

describe('AzureProvider.observeNode against the emulator', () => {
  it('after init shows every NIC by its ARM id and device index with its primary address, matching the describe, with no ARM call', async () => {
    const vm = await emulator.createVm({ name: 'init', nics: 2 });
    const provider = providerFor(vm);
    const node = await provider.describeNode();
    emulator.resetCounts();
    const seen = await provider.observeNode();
    expect(armCalls()).toEqual({});
    expect(emulator.callCounts()).toEqual({ ImdsNetwork: 1 });
    expect(seen.interfaces.map((i) => [i.id, i.deviceIndex, i.mac])).toEqual(node.interfaces.map((i) => [i.id, i.deviceIndex, i.mac]));
    expect(seen.interfaces[0]?.addresses).toEqual([vm.primaryIp]);
    expect(seen.vpcCidrs).toBeUndefined();
    expect(differenceFrom(seen, node)).toBeUndefined();
  });

  it('after a grow differs until the IMDS lag has passed, then matches', async () => {
    const vm = await emulator.createVm({ name: 'grow' });
    const provider = providerFor(vm);
    const nicId = vm.nicIds[0]!;
    await provider.describeNode();
    const added = await provider.assignAddresses(nicId, 3);
    const node = await provider.describeNode();
    expect(sorted(node.interfaces[0]!.secondaryIps)).toEqual(sorted(added));

    const early = await provider.observeNode();
    expect(early.interfaces[0]?.addresses).toEqual([vm.primaryIp]);
    expect(differenceFrom(early, node)).toMatch(/not on the node$/);

    await pause(IMDS_LAG_MS - 1);
    expect(differenceFrom(await provider.observeNode(), node)).toBeDefined();
    await pause(1);
    const late = await provider.observeNode();
    expect(late.interfaces[0]?.addresses[0]).toBe(vm.primaryIp);
    expect(sorted(late.interfaces[0]?.addresses ?? [])).toEqual(sorted([vm.primaryIp, ...added]));
    expect(differenceFrom(late, node)).toBeUndefined();
  });

  it('differs once someone else adds an IP configuration through ARM, and matches again after a describe', async () => {
    const vm = await emulator.createVm({ name: 'foreign' });
    const provider = providerFor(vm);
    const nicId = vm.nicIds[0]!;
    await provider.assignAddresses(nicId, 2);
    await pause(IMDS_LAG_MS);
    const before = await provider.describeNode();
    expect(differenceFrom(await provider.observeNode(), before)).toBeUndefined();

    const foreign = emulator.addForeignConfig(nicId, 'someone-else');
    await pause(IMDS_LAG_MS);
    const seen = await provider.observeNode();
    expect(seen.interfaces[0]?.addresses).toContain(foreign);
    expect(differenceFrom(seen, before)).toBe(`${nicId}: ${foreign} on the node but not known`);

    const after = await provider.describeNode();
    expect(after.interfaces[0]).toMatchObject({ otherIps: [foreign] });
    expect(after.interfaces[0]!.secondaryIps).not.toContain(foreign);
    expect(differenceFrom(await provider.observeNode(), after)).toBeUndefined();
  });

  it('a pool reconciles from IMDS alone, rechecks after its own grow, and reads ARM only on a change behind its back', async () => {
    const vm = await emulator.createVm({ name: 'pool' });
    const provider = providerFor(vm);
    const nicId = vm.nicIds[0]!;
    const pool = new PoolManager({
      provider,
      datapath: new FakeDatapath(),
      targets: { warmEniTarget: 0, warmIpTarget: 3 },
      mtu: 1500,
      attachTimeoutMs: 1_000,
      acquireTimeoutMs: 5_000,
      logger,
      clock,
      sleep: pause,
    });
    await pool.start();
    await pool.kickGrow();
    expect(pool.pool.stats(now).available).toBe(3);
    emulator.resetCounts();

    // Right after our grow IMDS still lags: checked again after the lag, with no ARM read.
    await pool.reconcile();
    expect(pool.reconcileCounts).toEqual({ observedMatch: 1, rechecked: 1, described: 0 });
    await pool.reconcile();
    expect(pool.reconcileCounts).toEqual({ observedMatch: 2, rechecked: 1, described: 0 });
    expect(armCalls()).toEqual({});
    expect(emulator.callCounts()['ImdsNetwork']).toBe(3);

    // Someone else adds an IP configuration: IMDS shows it, the pool describes the node once.
    const foreign = emulator.addForeignConfig(nicId, 'someone-else');
    await pause(IMDS_LAG_MS);
    await pool.reconcile();
    expect(pool.reconcileCounts.described).toBe(1);
    expect(armCalls()['GetNetworkInterface']).toBeGreaterThanOrEqual(1);
    expect(pool.pool.addressesOf(nicId).map((a) => a.address)).not.toContain(foreign);
    // …and then agrees with IMDS again: the foreign address is expected, not the pool's.
    emulator.resetCounts();
    await pool.reconcile();
    expect(pool.reconcileCounts).toMatchObject({ observedMatch: 3, described: 1 });
    expect(armCalls()).toEqual({});
    pool.close();
  });
});
