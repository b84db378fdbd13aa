/**
 * The churn simulator's Azure nodes run the real AzureProvider on the in-process emulated ARM, so
 * what the provider does when ARM answers otherwise than "accepted" (another writer changed the
 * NIC between its read and its PUT, the operation failed, the reply was lost) happens in the
 * simulator too, with every request counted as ARM would count it.
 */
import { describe, expect, it } from 'vitest';
import { SimSubscription } from '../support/sim-clouds.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';

function setup() {
  const clock = new VirtualClock(0);
  const sub = new SimSubscription({ clock, latencies: { operation: 5_000 } });
  const vmId = sub.launch('Standard_D4s_v5');
  const nicId = sub.state.vm(vmId)!.nicIds[0]!;
  return { clock, sub, nicId, node: sub.provider(vmId) };
}

const run = <T>(clock: VirtualClock, work: Promise<T>): Promise<T> => clock.drive(work, { stepMs: 1_000, horizonMs: 600_000 });
const ours = (sub: SimSubscription, nicId: string) => sub.state.nic(nicId)!.configs.filter((c) => c.name.startsWith('nativeip-')).map((c) => c.name);

describe('the real AzureProvider on the emulated ARM', () => {
  it('reads the NIC again and writes again when another writer changed it under its PUT (412), keeping the other configuration', async () => {
    const { clock, sub, nicId, node } = setup();
    sub.backend.faults.add({ kind: 'concurrentWrite', actions: 'PutNetworkInterface', count: 1, name: 'someone-else' });
    const added = await run(clock, node.assignAddresses(nicId, 2));
    expect(added).toHaveLength(2);
    expect(sub.calls.get('PutNetworkInterface')).toBe(2);
    expect(sub.state.nic(nicId)!.configs.map((c) => c.name)).toEqual(expect.arrayContaining(['ipconfig1', 'someone-else', 'nativeip-1', 'nativeip-2']));
  });

  it('reports a failed operation as the mapped ARM error and writes nothing', async () => {
    const { clock, sub, nicId, node } = setup();
    sub.backend.faults.add({ kind: 'failOperation', actions: 'PutNetworkInterface', count: 1, code: 'InternalServerError', message: 'boom' });
    await expect(run(clock, node.assignAddresses(nicId, 2))).rejects.toMatchObject({ code: 'Transient', cloudCode: 'InternalServerError' });
    expect(ours(sub, nicId)).toEqual([]);
    expect(node.resumeState?.()).toBeUndefined();
  });

  it('keeps a write whose reply was lost in its journal and finishes it before the next write to that NIC, without a second PUT for it', async () => {
    const { clock, sub, nicId, node } = setup();
    sub.backend.faults.add({ kind: 'replyLost', actions: 'PutNetworkInterface', count: 1 });
    await expect(run(clock, node.assignAddresses(nicId, 2))).rejects.toMatchObject({ code: 'Transient' });
    expect(node.resumeState?.()).toBeDefined();
    const added = await run(clock, node.assignAddresses(nicId, 1));
    expect(added).toHaveLength(1);
    expect(sub.calls.get('PutNetworkInterface')).toBe(2);
    expect(ours(sub, nicId)).toHaveLength(3);
    expect(node.resumeState?.()).toBeUndefined();
  });
});
