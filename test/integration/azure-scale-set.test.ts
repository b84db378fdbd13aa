/**
 * Scale-set instances through the real SDKs: Uniform instances are changed through the instance's
 * network profile (virtualMachineScaleSetVMs), Flexible instances through their NIC resources.
 */
import { ManagedIdentityCredential } from '@azure/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzureEmulator, type AzureEmulator, type CreatedVm } from '../../src/emulator/azure/index.js';
import { AzureProvider } from '../../src/providers/azure/index.js';

let emulator: AzureEmulator;
let credential: ManagedIdentityCredential;
const providers: AzureProvider[] = [];

beforeAll(async () => {
  emulator = await startAzureEmulator({ operationLatencyMs: 100, seed: 21 });
  process.env['AZURE_POD_IDENTITY_AUTHORITY_HOST'] = (await emulator.createVm({ name: 'token-vm' })).imdsUrl;
  credential = new ManagedIdentityCredential();
});

afterAll(async () => {
  for (const provider of providers) provider.close();
  delete process.env['AZURE_POD_IDENTITY_AUTHORITY_HOST'];
  await emulator?.close();
});

function providerFor(vm: CreatedVm): AzureProvider {
  const provider = new AzureProvider({ credential, armEndpoint: emulator.armUrl, armCaBundle: emulator.caCert, imdsEndpoint: vm.imdsUrl, pollIntervalMs: 20 });
  providers.push(provider);
  return provider;
}

describe('Azure scale sets', () => {
  it('Uniform: grows and shrinks through the instance’s network profile, never a NIC PUT', async () => {
    const vm = await emulator.createVm({ scaleSet: { name: 'pool', mode: 'Uniform' }, nics: 2 });
    expect(vm.vmId).toMatch(/\/virtualMachineScaleSets\/pool\/virtualMachines\/0$/);
    const provider = providerFor(vm);
    const node = await provider.describeNode();
    expect(node.instanceId).toBe(vm.vmId);
    expect(node.interfaces.map((i) => i.id)).toEqual(vm.nicIds);
    emulator.resetCounts();
    const added = await provider.assignAddresses(vm.nicIds[1]!, 3);
    expect(added).toHaveLength(3);
    expect(emulator.callCounts()['PutScaleSetVm']).toBe(1);
    expect(emulator.callCounts()['PutNetworkInterface']).toBeUndefined();
    expect(emulator.nic(vm.nicIds[1]!)!.configs.map((c) => c.name)).toEqual(['ipconfig1', 'nativeip-1', 'nativeip-2', 'nativeip-3']);
    await provider.releaseAddresses(vm.nicIds[1]!, [added[1]!]);
    expect(emulator.nic(vm.nicIds[1]!)!.configs.map((c) => c.name)).toEqual(['ipconfig1', 'nativeip-1', 'nativeip-3']);
    const after = await provider.describeNode();
    expect([...after.interfaces[1]!.secondaryIps].sort()).toEqual([added[0]!, added[2]!].sort());
  });

  it('Flexible: instances are ordinary VMs with NIC resources', async () => {
    const vm = await emulator.createVm({ scaleSet: { name: 'flex', mode: 'Flexible' } });
    expect(vm.vmId).toMatch(/\/virtualMachines\/flex_[0-9a-f]+$/);
    const provider = providerFor(vm);
    emulator.resetCounts();
    expect(await provider.assignAddresses(vm.nicIds[0]!, 2)).toHaveLength(2);
    expect(emulator.callCounts()['PutNetworkInterface']).toBe(1);
    expect(emulator.callCounts()['PutScaleSetVm']).toBeUndefined();
  });
});
