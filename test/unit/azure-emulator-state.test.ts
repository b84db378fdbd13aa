import { describe, expect, it } from 'vitest';
import { seededIdSource } from '../../src/emulator/shared/ids.js';
import type { DesiredConfig } from '../../src/emulator/azure/arm-model.js';
import { AzureState } from '../../src/emulator/azure/arm-state.js';
import { ArmApiError } from '../../src/emulator/azure/errors.js';
import { ARM_WRITE_BUCKET, WriteBucket } from '../../src/emulator/azure/write-bucket.js';

function setup(subnetCidr = '10.1.0.0/24') {
  let now = 1_000;
  let changes = 0;
  const state = new AzureState({
    subscriptionId: 'sub',
    resourceGroup: 'rg',
    location: 'eastus',
    vnetName: 'vnet',
    vnetCidr: '10.1.0.0/16',
    subnets: [{ name: 'nodes', cidr: subnetCidr }],
    clock: () => now,
    ids: seededIdSource(1),
    operationLatencyMs: 5_000,
    onChange: () => (changes += 1),
  });
  const vm = state.createVm({ name: 'vm1' });
  const nic = state.nic(vm.nicIds[0]!)!;
  const subnetId = state.subnetByName('nodes').id;
  const keep = (): DesiredConfig[] => state.visibleConfigs(nic).map((c) => ({ name: c.name, primary: c.primary, subnetId: c.subnetId, allocation: c.allocation, address: c.address }));
  const add = (...names: string[]): DesiredConfig[] => [...keep(), ...names.map((name) => ({ name, primary: false, subnetId, allocation: 'Dynamic' as const, address: undefined }))];
  const put = (desired: DesiredConfig[], ifMatch?: string) => state.startNicUpdate(nic, desired, { ifMatch, etagOf: () => nic.etag, target: nic.id });
  return { state, nic, add, keep, put, advance: (ms: number) => (now += ms), changes: () => changes };
}

function armError(fn: () => unknown): ArmApiError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ArmApiError) return error;
    throw error;
  }
  throw new Error('expected an ArmApiError');
}

describe('emulated NIC writes', () => {
  it('gives the VM’s primary configuration the first free address after the five Azure reserves', () => {
    const { nic } = setup();
    expect(nic.configs).toMatchObject([{ name: 'ipconfig1', primary: true, address: '10.1.0.4' }]);
  });

  it('answers the goal state while the operation runs and commits it when the operation is due', () => {
    const { state, nic, add, put, advance, changes } = setup();
    const before = changes();
    const op = put(add('nativeip-1', 'nativeip-2'));
    expect(op.status).toBe('InProgress');
    expect(state.visibleConfigs(nic).map((c) => [c.name, c.provisioningState])).toEqual([
      ['ipconfig1', 'Succeeded'],
      ['nativeip-1', 'Updating'],
      ['nativeip-2', 'Updating'],
    ]);
    expect(nic.configs).toHaveLength(1);
    advance(4_999);
    expect(state.settle()).toBe(false);
    advance(1);
    expect(state.settle()).toBe(true);
    expect(op.status).toBe('Succeeded');
    expect(nic.configs.map((c) => [c.name, c.address, c.provisioningState])).toEqual([
      ['ipconfig1', '10.1.0.4', 'Succeeded'],
      ['nativeip-1', '10.1.0.5', 'Succeeded'],
      ['nativeip-2', '10.1.0.6', 'Succeeded'],
    ]);
    expect(changes()).toBeGreaterThan(before);
  });

  it('refuses a write with a stale ETag (412) and one while another operation runs (429, Retry-After)', () => {
    const { state, nic, add, put, advance } = setup();
    const stale = nic.etag;
    put(add('nativeip-1'), stale);
    advance(2_000);
    const busy = armError(() => put(add('nativeip-2')));
    expect(busy).toMatchObject({ status: 429, code: 'RetryableErrorDueToAnotherOperation', retryAfterSec: 3 });
    advance(3_000);
    state.settle();
    const conflict = armError(() => put(add('nativeip-2'), stale));
    expect(conflict).toMatchObject({ status: 412, code: 'PreconditionFailed' });
  });

  it('enforces 256 IP configurations per NIC and refuses to remove the primary', () => {
    const { put, add, keep } = setup('10.1.0.0/20');
    const names = Array.from({ length: 256 }, (_, i) => `nativeip-${i + 1}`);
    expect(armError(() => put(add(...names)))).toMatchObject({ status: 400, code: 'NetworkInterfaceIpConfigurationsLimitExceeded' });
    expect(armError(() => put(keep().filter((c) => !c.primary).concat(add('nativeip-1').slice(1))))).toMatchObject({
      code: 'PrimaryIpConfigurationCannotBeDeleted',
    });
  });

  it('answers SubnetIsFull when the subnet has fewer free addresses than asked, allocating none', () => {
    const { state, put, add } = setup('10.1.0.0/28');
    const free = state.subnetByName('nodes').allocator.freeCount;
    expect(free).toBe(10);
    expect(armError(() => put(add(...Array.from({ length: 11 }, (_, i) => `nativeip-${i + 1}`))))).toMatchObject({ code: 'SubnetIsFull' });
    expect(state.subnetByName('nodes').allocator.freeCount).toBe(10);
  });

  it('frees removed addresses when the operation completes, and new ones when it fails', () => {
    const { state, nic, add, keep, put, advance } = setup();
    const allocator = state.subnetByName('nodes').allocator;
    put(add('nativeip-1', 'nativeip-2'));
    advance(5_000);
    state.settle();
    const freeBefore = allocator.freeCount;
    put(keep().filter((c) => c.name !== 'nativeip-1'));
    expect(allocator.freeCount).toBe(freeBefore);
    advance(5_000);
    state.settle();
    expect(allocator.freeCount).toBe(freeBefore + 1);
    const failing = state.startNicUpdate(nic, add('nativeip-3'), { ifMatch: undefined, etagOf: () => nic.etag, target: nic.id, fail: { code: 'InternalServerError', message: 'no' } });
    expect(allocator.freeCount).toBe(freeBefore);
    advance(5_000);
    state.settle();
    expect(failing).toMatchObject({ status: 'Failed', error: { code: 'InternalServerError' } });
    expect(allocator.freeCount).toBe(freeBefore + 1);
    expect(nic.configs.map((c) => c.name)).toEqual(['ipconfig1', 'nativeip-2']);
  });
});

describe('ARM write bucket', () => {
  it('allows 200 writes at once, then refills 10 per second', () => {
    let now = 0;
    const bucket = new WriteBucket({ ...ARM_WRITE_BUCKET, clock: () => now });
    const takes = Array.from({ length: 200 }, () => bucket.take());
    expect(takes.every((t) => t.ok)).toBe(true);
    expect(takes[0]!.remaining).toBe(199);
    expect(takes[199]!.remaining).toBe(0);
    expect(bucket.take()).toEqual({ ok: false, remaining: 0, waitMs: 100 });
    now += 1_000;
    const refilled = Array.from({ length: 11 }, () => bucket.take().ok);
    expect(refilled.filter(Boolean)).toHaveLength(10);
  });
});
