/**
 * The Azure provider against the Azure emulator through the real SDKs (@azure/arm-network,
 * @azure/arm-compute, @azure/identity's ManagedIdentityCredential) over https with the emulator's
 * self-signed certificate.
 */
import { ManagedIdentityCredential } from '@azure/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudError } from '../../src/core/types.js';
import { startAzureEmulator, type AzureEmulator, type CreatedVm } from '../../src/emulator/azure/index.js';
import { AzureProvider, type AzureProviderOptions } from '../../src/providers/azure/index.js';

let emulator: AzureEmulator;
let tokenVm: CreatedVm;
let credential: ManagedIdentityCredential;
const providers: AzureProvider[] = [];

beforeAll(async () => {
  emulator = await startAzureEmulator({ operationLatencyMs: 150, seed: 7 });
  tokenVm = await emulator.createVm({ name: 'token-vm' });
  // Why: @azure/identity's IMDS source reads its endpoint from this variable (AKS pod identity's).
  process.env['AZURE_POD_IDENTITY_AUTHORITY_HOST'] = tokenVm.imdsUrl;
  credential = new ManagedIdentityCredential();
});

afterAll(async () => {
  for (const provider of providers) provider.close();
  delete process.env['AZURE_POD_IDENTITY_AUTHORITY_HOST'];
  await emulator?.close();
});

function providerFor(vm: CreatedVm, options: Partial<AzureProviderOptions> = {}): AzureProvider {
  const provider = new AzureProvider({
    credential,
    armEndpoint: emulator.armUrl,
    armCaBundle: emulator.caCert,
    imdsEndpoint: vm.imdsUrl,
    pollIntervalMs: 20,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 50))),
    ...options,
  });
  providers.push(provider);
  return provider;
}

const ourNames = (nicId: string) => emulator.nic(nicId)?.configs.filter((c) => c.name.startsWith('nativeip-')).map((c) => c.name) ?? [];

describe('AzureProvider against the emulator', () => {
  it('describes the node from IMDS and ARM: NICs in order, primary address, VNet range, limits', async () => {
    const vm = await emulator.createVm({ name: 'init', nics: 2 });
    const node = await providerFor(vm).describeNode();
    expect(node.instanceId).toBe(vm.vmId);
    expect(node.instanceType).toBe('Standard_D4s_v5');
    expect(node.primaryIp).toBe(vm.primaryIp);
    expect(node.vpcCidrs).toEqual(['10.1.0.0/16']);
    expect(node.limits).toEqual({ maxInterfaces: 2, ipv4PerInterface: 256 });
    expect(node.interfaces.map((i) => [i.id, i.deviceIndex, i.managed, i.pooled])).toEqual([
      [vm.nicIds[0], 0, false, true],
      [vm.nicIds[1], 1, false, true],
    ]);
    expect(node.interfaces[0]).toMatchObject({ mac: vm.mac, subnetCidr: '10.1.0.0/20', secondaryIps: [] });
    expect(emulator.callCounts()['ImdsToken']).toBeGreaterThanOrEqual(1);
  });

  it('grows with one PUT that adds as many dynamic configurations as asked, named nativeip-<n>', async () => {
    const vm = await emulator.createVm({ name: 'grow' });
    const provider = providerFor(vm);
    const nicId = vm.nicIds[0]!;
    await provider.describeNode();
    emulator.resetCounts();
    const added = await provider.assignAddresses(nicId, 5);
    expect(added).toHaveLength(5);
    expect(new Set(added).size).toBe(5);
    expect(emulator.callCounts()['PutNetworkInterface']).toBe(1);
    expect(ourNames(nicId)).toEqual(['nativeip-1', 'nativeip-2', 'nativeip-3', 'nativeip-4', 'nativeip-5']);
    const node = await provider.describeNode();
    expect([...node.interfaces[0]!.secondaryIps].sort()).toEqual([...added].sort());
  });

  it('caps one PUT at the batch size', async () => {
    const vm = await emulator.createVm({ name: 'batch' });
    const provider = providerFor(vm, { batchSize: 3 });
    expect(await provider.assignAddresses(vm.nicIds[0]!, 10)).toHaveLength(3);
  });

  it('shrinks by removing only our configurations, never the primary or another writer’s', async () => {
    const vm = await emulator.createVm({ name: 'shrink' });
    const provider = providerFor(vm);
    const nicId = vm.nicIds[0]!;
    const added = await provider.assignAddresses(nicId, 3);
    const foreign = emulator.addForeignConfig(nicId, 'someone-else');
    await provider.releaseAddresses(nicId, [added[0]!, foreign, vm.primaryIp]);
    const names = emulator.nic(nicId)!.configs.map((c) => c.name);
    expect(names).toContain('ipconfig1');
    expect(names).toContain('someone-else');
    expect(names.filter((n) => n.startsWith('nativeip-'))).toHaveLength(2);
    const node = await provider.describeNode();
    expect(node.interfaces[0]!.secondaryIps).not.toContain(added[0]);
    expect(node.interfaces[0]!.secondaryIps).not.toContain(foreign);
  });

  it('re-reads and retries when another writer changed the NIC between read and PUT (ETag, 412)', async () => {
    const vm = await emulator.createVm({ name: 'etag' });
    const provider = providerFor(vm);
    const nicId = vm.nicIds[0]!;
    await provider.describeNode();
    emulator.injectFault({ kind: 'concurrentWrite', name: 'other-writer' });
    emulator.resetCounts();
    const added = await provider.assignAddresses(nicId, 2);
    expect(added).toHaveLength(2);
    expect(emulator.callCounts()['PutNetworkInterface']).toBe(2);
    const names = emulator.nic(nicId)!.configs.map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['ipconfig1', 'other-writer', 'nativeip-1', 'nativeip-2']));
  });

  it('maps 429 with Retry-After to Throttled with the delay, and RetryableErrorDueToAnotherOperation likewise', async () => {
    const vm = await emulator.createVm({ name: 'throttle' });
    const provider = providerFor(vm);
    const nicId = vm.nicIds[0]!;
    emulator.injectFault({ kind: 'throttle', retryAfterSec: 7 });
    const throttled = await provider.assignAddresses(nicId, 1).catch((e: unknown) => e);
    expect(throttled).toBeInstanceOf(CloudError);
    expect(throttled).toMatchObject({ code: 'Throttled', retryAfterMs: 7000, retryable: true, cloudCode: 'SubscriptionRequestsThrottled' });
    emulator.injectFault({ kind: 'anotherOperation', retryAfterSec: 3 });
    const busy = await provider.assignAddresses(nicId, 1).catch((e: unknown) => e);
    expect(busy).toMatchObject({ code: 'Throttled', retryAfterMs: 3000, cloudCode: 'RetryableErrorDueToAnotherOperation' });
    expect(ourNames(nicId)).toEqual([]);
    expect(provider.resumeState()).toBeUndefined();
    expect(await provider.assignAddresses(nicId, 1)).toHaveLength(1);
  });

  it('refuses to grow a NIC that holds 256 IP configurations, whoever added them', async () => {
    const vm = await emulator.createVm({ name: 'limit' });
    const nicId = vm.nicIds[0]!;
    for (let i = 1; i <= 255; i += 1) emulator.addForeignConfig(nicId, `other-${i}`);
    emulator.resetCounts();
    const error = await providerFor(vm).assignAddresses(nicId, 1).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'AddressLimit', retryable: false });
    expect((error as Error).message).toMatch(/holds 256 IP configurations, Azure's limit is 256/);
    expect(emulator.callCounts()['PutNetworkInterface']).toBeUndefined();
  });

  it('an operation that ends Failed leaves nothing behind and nothing in flight', async () => {
    const vm = await emulator.createVm({ name: 'failed-op' });
    const provider = providerFor(vm);
    const nicId = vm.nicIds[0]!;
    emulator.injectFault({ kind: 'failOperation', code: 'InternalServerError', message: 'the fabric controller gave up' });
    const error = await provider.assignAddresses(nicId, 2).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'Transient', cloudCode: 'InternalServerError' });
    expect(provider.resumeState()).toBeUndefined();
    expect(ourNames(nicId)).toEqual([]);
    expect(await provider.assignAddresses(nicId, 2)).toHaveLength(2);
  });

  it('slows its writes down before the subscription runs out of them, and reports 429 from ARM’s bucket', async () => {
    const tight = await startAzureEmulator({ throttling: { capacity: 52, refillPerSecond: 0.01 }, seed: 5 });
    try {
      const vm = await tight.createVm({ name: 'budget' });
      const pauses: number[] = [];
      const provider = new AzureProvider({
        credential: tokenCredentialFor(tight),
        armEndpoint: tight.armUrl,
        armCaBundle: tight.caCert,
        imdsEndpoint: vm.imdsUrl,
        pollIntervalMs: 10,
        sleep: async (ms) => {
          pauses.push(ms);
        },
      });
      providers.push(provider);
      const nicId = vm.nicIds[0]!;
      let throttled: unknown;
      for (let i = 0; i < 60 && throttled === undefined; i += 1) {
        await provider.assignAddresses(nicId, 1).catch((e: unknown) => (throttled = e));
      }
      expect(pauses.length).toBeGreaterThan(0);
      expect(pauses.every((ms) => ms > 0 && ms <= 5000)).toBe(true);
      expect(pauses[pauses.length - 1]).toBeGreaterThan(pauses[0]!);
      expect(throttled).toMatchObject({ code: 'Throttled', cloudCode: 'SubscriptionRequestsThrottled' });
      expect((throttled as { retryAfterMs: number }).retryAfterMs).toBeGreaterThanOrEqual(1000);
      expect(tight.throttledCounts()['PutNetworkInterface']).toBe(1);
    } finally {
      await tight.close();
    }
  });

  it('maps a full subnet to SubnetExhausted naming the subnet', async () => {
    const small = await startAzureEmulator({ subnets: [{ name: 'tiny', cidr: '10.1.0.0/28' }], seed: 3 });
    try {
      const vm = await small.createVm({ name: 'full' });
      const provider = new AzureProvider({ credential: tokenCredentialFor(small), armEndpoint: small.armUrl, armCaBundle: small.caCert, imdsEndpoint: vm.imdsUrl, pollIntervalMs: 20 });
      providers.push(provider);
      const error = await provider.assignAddresses(vm.nicIds[0]!, 20).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'SubnetExhausted', cloudCode: 'SubnetIsFull' });
      expect((error as Error).message).toMatch(/subnet .*tiny has no free addresses/);
    } finally {
      await small.close();
    }
  });
});

/** A credential for a second emulator: fetches tokens from its IMDS like ManagedIdentityCredential would. */
function tokenCredentialFor(other: AzureEmulator) {
  return {
    async getToken() {
      const vm = await other.createVm({ name: `token-${Date.now()}` });
      const response = await fetch(`${vm.imdsUrl}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/`, { headers: { Metadata: 'true' } });
      const body = (await response.json()) as { access_token: string; expires_on: string };
      return { token: body.access_token, expiresOnTimestamp: Number(body.expires_on) * 1000 };
    },
  };
}
