/**
 * The in-process ARM backend (src/emulator/azure/arm-backend.ts): the https emulator's state,
 * write bucket, faults and latencies as typed requests on an injected clock, and a lagging IMDS
 * that shows an operation from the moment it was due.
 */
import { describe, expect, it } from 'vitest';
import { ArmApiError, ArmBackend, ArmNoAnswer } from '../../src/emulator/azure/arm-backend.js';
import type { DesiredConfig } from '../../src/emulator/azure/arm-model.js';

function manualClock() {
  let now = 1_000_000;
  return {
    now: () => now,
    sleep: async (ms: number) => {
      now += ms;
    },
  };
}

function setup(options: Partial<ConstructorParameters<typeof ArmBackend>[0]> = {}) {
  const clock = manualClock();
  const arm = new ArmBackend({ clock: clock.now, sleep: clock.sleep, operationLatencyMs: 10_000, imdsPropagationMs: 3_000, ...options });
  const vmId = arm.createVm({ vmSize: 'Standard_D4s_v5' });
  const nicId = arm.state.vm(vmId)!.nicIds[0]!;
  return { clock, arm, vmId, nicId };
}

/** The NIC's configurations plus `names`, new and dynamic, in the primary's subnet. */
async function withAdded(arm: ArmBackend, nicId: string, names: readonly string[]): Promise<{ configs: DesiredConfig[]; etag: string }> {
  const nic = await arm.getNetworkInterface(nicId);
  const subnetId = nic.ipConfigurations[0]!.subnetId;
  const configs: DesiredConfig[] = [
    ...nic.ipConfigurations.map((c) => ({ name: c.name, primary: c.primary, subnetId: c.subnetId, allocation: c.allocation, address: c.address })),
    ...names.map((name) => ({ name, primary: false, subnetId, allocation: 'Dynamic' as const, address: undefined })),
  ];
  return { configs, etag: nic.etag };
}

const addressesIn = (network: Record<string, unknown>) => ((network['interface'] as { ipv4: { ipAddress: unknown[] } }[])[0]!.ipv4.ipAddress).length;

describe('ArmBackend', () => {
  it('runs a NIC PUT as a long-running operation: the goal state at once, Succeeded when due, in IMDS after the lag', async () => {
    const { clock, arm, vmId, nicId } = setup({ latencyMs: { GetNetworkInterface: 150, PutNetworkInterface: 300 } });
    const { configs, etag } = await withAdded(arm, nicId, ['nativeip-1', 'nativeip-2']);
    const accepted = await arm.putNetworkInterface(nicId, configs, etag);
    expect(accepted.nic).toMatchObject({ provisioningState: 'Updating' });
    expect(accepted.nic.ipConfigurations).toHaveLength(3);
    expect(accepted.remainingWrites).toBe(1199);
    const dueAt = clock.now() + 10_000;
    expect(await arm.getOperation(accepted.operationId)).toMatchObject({ status: 'InProgress' });
    await clock.sleep(20_000);
    expect(await arm.getOperation(accepted.operationId)).toMatchObject({ status: 'Succeeded' });
    expect(clock.now()).toBeGreaterThan(dueAt + 3_000);
    // Completed when due (not when first asked), so IMDS shows it 3 s after that.
    expect(addressesIn(await arm.imdsNetwork(vmId))).toBe(3);
    expect(Object.fromEntries(arm.calls)).toEqual({ GetNetworkInterface: 1, PutNetworkInterface: 1, GetOperation: 2 });
  });

  it('refuses a stale ETag (412), a write while another runs (429 with Retry-After), and an empty write bucket (429)', async () => {
    const { arm, nicId } = setup({ throttling: { capacity: 3, refillPerSecond: 0.01 } });
    const { configs, etag } = await withAdded(arm, nicId, ['nativeip-1']);
    await expect(arm.putNetworkInterface(nicId, configs, 'W/"stale"')).rejects.toMatchObject({ status: 412, code: 'PreconditionFailed' });
    await arm.putNetworkInterface(nicId, configs, etag);
    const busy = await arm.putNetworkInterface(nicId, configs, undefined).catch((e: unknown) => e);
    expect(busy).toBeInstanceOf(ArmApiError);
    expect(busy).toMatchObject({ status: 429, code: 'RetryableErrorDueToAnotherOperation' });
    expect((busy as ArmApiError).retryAfterSec).toBeGreaterThanOrEqual(1);
    await expect(arm.putNetworkInterface(nicId, configs, undefined)).rejects.toMatchObject({ status: 429, code: 'SubscriptionRequestsThrottled' });
    expect(arm.throttled.get('PutNetworkInterface')).toBe(2);
  });

  it('injects faults from the shared fault plan: a failed operation, a lost reply after the write was accepted', async () => {
    const { clock, arm, nicId } = setup();
    arm.faults.set({ seed: 1, rules: [{ kind: 'failOperation', actions: 'PutNetworkInterface', count: 1, code: 'InternalServerError' }, { kind: 'replyLost', actions: 'PutNetworkInterface', count: 1 }] });
    const first = await withAdded(arm, nicId, ['nativeip-1']);
    const failing = await arm.putNetworkInterface(nicId, first.configs, first.etag);
    await clock.sleep(10_000);
    expect(await arm.getOperation(failing.operationId)).toMatchObject({ status: 'Failed', error: { code: 'InternalServerError' } });
    const second = await withAdded(arm, nicId, ['nativeip-2']);
    await expect(arm.putNetworkInterface(nicId, second.configs, second.etag)).rejects.toBeInstanceOf(ArmNoAnswer);
    expect((await arm.getNetworkInterface(nicId)).provisioningState).toBe('Updating');
    expect(arm.faults.fired().byKind).toEqual({ failOperation: 1, replyLost: 1 });
  });

  it("serves each VM's IMDS instance document with its compute part", async () => {
    const { arm, vmId } = setup();
    const document = await arm.imdsInstance(vmId);
    expect(document).toMatchObject({ compute: { resourceId: vmId, vmSize: 'Standard_D4s_v5' } });
    expect(arm.imdsReads).toBe(1);
    expect(arm.calls.size).toBe(0);
  });
});
