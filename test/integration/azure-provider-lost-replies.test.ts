/**
 * The Azure provider against the Azure emulator when ARM's answer never comes: a NIC PUT whose
 * reply is lost (`replyLost`: ARM accepted and applies the write, the connection drops), and
 * requests ARM takes but never answers (`timeout`), with the provider's ARM request timeout made
 * short. After the next reconcile (describeNode) the provider knows every configuration ARM holds,
 * nothing is added twice by one call, and the next call succeeds.
 */
import { ManagedIdentityCredential } from '@azure/identity';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CloudError, type NodeSnapshot } from '../../src/core/types.js';
import { startAzureEmulator, type AzureEmulator, type CreatedVm } from '../../src/emulator/azure/index.js';
import { AzureProvider } from '../../src/providers/azure/index.js';
import { DEFAULT_ARM_REQUEST_TIMEOUT_MS } from '../../src/providers/azure/arm-gateway.js';

const TIMEOUT_MS = 400;

let emulator: AzureEmulator;
let credential: ManagedIdentityCredential;
const providers: AzureProvider[] = [];

beforeAll(async () => {
  emulator = await startAzureEmulator({ operationLatencyMs: 50, seed: 21 });
  const tokenVm = await emulator.createVm({ name: 'token-vm' });
  // Why: @azure/identity's IMDS source reads its endpoint from this variable (AKS pod identity's).
  process.env['AZURE_POD_IDENTITY_AUTHORITY_HOST'] = tokenVm.imdsUrl;
  credential = new ManagedIdentityCredential();
});

afterEach(() => {
  emulator.faults.clear();
  emulator.faults.resetFired();
});

afterAll(async () => {
  for (const provider of providers) provider.close();
  delete process.env['AZURE_POD_IDENTITY_AUTHORITY_HOST'];
  await emulator?.close();
});

function providerFor(vm: CreatedVm): AzureProvider {
  const provider = new AzureProvider({
    credential,
    armEndpoint: emulator.armUrl,
    armCaBundle: emulator.caCert,
    imdsEndpoint: vm.imdsUrl,
    pollIntervalMs: 20,
    armRequestTimeoutMs: TIMEOUT_MS,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 50))),
  });
  providers.push(provider);
  return provider;
}

/** Every address of ours ARM holds on the NIC is in the snapshot, and nothing else. */
function expectKnowsEverything(snapshot: NodeSnapshot, nicId: string): void {
  const held = emulator.nic(nicId)?.configs.filter((c) => c.name.startsWith('nativeip-')).map((c) => c.address) ?? [];
  const known = snapshot.interfaces.find((i) => i.id.toLowerCase() === nicId.toLowerCase())?.secondaryIps ?? [];
  expect([...known].sort()).toEqual([...held].sort());
}

async function failure(promise: Promise<unknown>): Promise<{ error: CloudError; ms: number }> {
  const started = Date.now();
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(outcome instanceof CloudError)) throw new Error(`expected a CloudError, got ${String(outcome)}`);
  return { error: outcome, ms: Date.now() - started };
}

describe('AzureProvider when ARM does not answer', () => {
  it('defaults to a 30 s request timeout', () => {
    expect(DEFAULT_ARM_REQUEST_TIMEOUT_MS).toBe(30_000);
  });

  it('replyLost on PutNetworkInterface (grow): a retryable error; the reconcile finds the configurations the PUT added; the next grow adds only what it asks', async () => {
    const vm = await emulator.createVm({ name: 'lost-grow' });
    const nicId = vm.nicIds[0]!;
    const provider = providerFor(vm);
    await provider.describeNode();
    emulator.faults.add({ kind: 'replyLost', actions: 'PutNetworkInterface', count: 1 });
    const { error } = await failure(provider.assignAddresses(nicId, 3));
    expect(error).toMatchObject({ code: 'Transient', retryable: true });
    expect(emulator.faults.fired().byAction).toEqual({ replyLost: { PutNetworkInterface: 1 } });
    const snapshot = await provider.describeNode();
    expectKnowsEverything(snapshot, nicId);
    expect(snapshot.interfaces[0]!.secondaryIps).toHaveLength(3);

    emulator.resetCounts();
    const added = await provider.assignAddresses(nicId, 2);
    expect(added).toHaveLength(2);
    expect(emulator.callCounts()['PutNetworkInterface']).toBe(1);
    expectKnowsEverything(await provider.describeNode(), nicId);
  });

  it('replyLost on PutNetworkInterface (release): a retryable error; the reconcile shows the addresses gone; releasing them again is no error', async () => {
    const vm = await emulator.createVm({ name: 'lost-release' });
    const nicId = vm.nicIds[0]!;
    const provider = providerFor(vm);
    await provider.describeNode();
    const added = await provider.assignAddresses(nicId, 3);
    emulator.faults.add({ kind: 'replyLost', actions: 'PutNetworkInterface', count: 1 });
    const { error } = await failure(provider.releaseAddresses(nicId, added.slice(0, 2)));
    expect(error.retryable).toBe(true);
    const snapshot = await provider.describeNode();
    expectKnowsEverything(snapshot, nicId);
    expect(snapshot.interfaces[0]!.secondaryIps).toEqual([added[2]]);
    emulator.resetCounts();
    await provider.releaseAddresses(nicId, added.slice(0, 2));
    expect(emulator.callCounts()['PutNetworkInterface']).toBeUndefined();
  });

  it.each(['GetNetworkInterface', 'PutNetworkInterface'])('timeout on %s: a retryable error within the timeout, then the next call succeeds', async (action) => {
    const vm = await emulator.createVm({ name: `timeout-${action.toLowerCase()}` });
    const nicId = vm.nicIds[0]!;
    const provider = providerFor(vm);
    await provider.describeNode();
    emulator.faults.add({ kind: 'timeout', actions: action, count: 1 });
    const { error, ms } = await failure(provider.assignAddresses(nicId, 1));
    expect(error).toMatchObject({ code: 'Transient', retryable: true, cloudCode: 'TimeoutError' });
    expect(error.message).toMatch(new RegExp(`got no answer within ${TIMEOUT_MS} ms`));
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
    expect(ms).toBeLessThan(TIMEOUT_MS + 2_000);
    expect(emulator.faults.fired().total).toBe(1);
    expect(await provider.assignAddresses(nicId, 1)).toHaveLength(1);
    expectKnowsEverything(await provider.describeNode(), nicId);
  });
});
