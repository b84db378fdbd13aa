/**
 * The churn simulator's AWS nodes run the real Ec2Provider on the in-process emulated EC2, so what
 * the provider does when EC2 throttles halfway (keep the ENI whose attach was throttled, set
 * DeleteOnTermination later, refuse a device index beyond MAX_ENI) happens in the simulator too,
 * with every attempt counted as EC2 would count it.
 */
import { describe, expect, it } from 'vitest';
import { SimAccount } from '../support/sim-clouds.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';

function setup(provider: { readonly maxEnis?: number } = {}) {
  const clock = new VirtualClock(0);
  const account = new SimAccount({ clock, provider });
  const instanceId = account.launch('m5.xlarge');
  return { clock, account, instanceId, node: account.provider(instanceId) };
}

const eniOf = (account: SimAccount, id: string) => account.backend.state.networkInterfaces().find((e) => e.id === id);

describe('the real Ec2Provider on the emulated EC2', () => {
  it('keeps an ENI whose attach EC2 throttled (after the SDK retries) and attaches it at the next create instead of creating another', async () => {
    const { clock, account, node } = setup();
    await clock.drive(node.describeNode());
    account.backend.faults.add({ kind: 'throttle', actions: 'AttachNetworkInterface', count: 3 });
    await expect(clock.drive(node.createInterface({ deviceIndex: 1, secondaryCount: 4 }))).rejects.toMatchObject({ code: 'Throttled', cloudCode: 'RequestLimitExceeded' });
    expect(account.calls.get('CreateNetworkInterface')).toBe(1);
    expect(account.calls.get('AttachNetworkInterface')).toBe(3);
    const created = await clock.drive(node.createInterface({ deviceIndex: 1, secondaryCount: 4 }));
    expect(account.calls.get('CreateNetworkInterface')).toBe(1);
    expect(created).toMatchObject({ deviceIndex: 1, managed: true });
    expect(created.secondaryIps).toHaveLength(4);
    expect(eniOf(account, created.id)?.attachment?.deleteOnTermination).toBe(true);
    expect(node.throttledAtMs?.()).toBeDefined();
  });

  it('sets a DeleteOnTermination EC2 throttled at the next leaked-ENI sweep', async () => {
    const { clock, account, node } = setup();
    await clock.drive(node.describeNode());
    account.backend.faults.add({ kind: 'throttle', actions: 'ModifyNetworkInterfaceAttribute', count: 3 });
    const created = await clock.drive(node.createInterface({ deviceIndex: 1, secondaryCount: 1 }));
    expect(eniOf(account, created.id)?.attachment?.deleteOnTermination).toBe(false);
    await clock.drive(node.collectLeakedInterfaces!());
    expect(eniOf(account, created.id)?.attachment?.deleteOnTermination).toBe(true);
  });

  it('refuses a device index beyond MAX_ENI without calling EC2', async () => {
    const { clock, account, node } = setup({ maxEnis: 2 });
    await clock.drive(node.describeNode());
    account.calls.clear();
    await expect(clock.drive(node.createInterface({ deviceIndex: 2, secondaryCount: 1 }))).rejects.toMatchObject({ code: 'InterfaceLimit' });
    expect(account.calls.size).toBe(0);
  });

  it('deletes an idle ENI as the daemon does: describe, detach, describe until available, delete', async () => {
    const { clock, account, node } = setup();
    await clock.drive(node.describeNode());
    const created = await clock.drive(node.createInterface({ deviceIndex: 1, secondaryCount: 1 }));
    account.calls.clear();
    await clock.drive(node.deleteInterface(created.id));
    expect(eniOf(account, created.id)).toBeUndefined();
    expect(account.calls.get('DetachNetworkInterface')).toBe(1);
    expect(account.calls.get('DeleteNetworkInterface')).toBe(1);
    expect(account.calls.get('DescribeNetworkInterfaces')).toBeGreaterThanOrEqual(2);
  });
});
