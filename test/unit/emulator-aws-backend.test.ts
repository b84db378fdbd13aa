/**
 * The in-process EC2 backend (src/emulator/aws/ec2-backend.ts): the HTTP emulator's state,
 * buckets, faults and latencies as typed calls on an injected clock, and a lagging IMDS.
 */
import { describe, expect, it } from 'vitest';
import { Ec2ApiError, Ec2Backend, Ec2NoAnswer } from '../../src/emulator/aws/ec2-backend.js';

/** A clock that only moves when the test sleeps, and sleeps that return at once. */
function manualClock() {
  let now = 1_000_000;
  return {
    now: () => now,
    sleep: async (ms: number) => {
      now += ms;
    },
  };
}

function backend(options: Partial<ConstructorParameters<typeof Ec2Backend>[0]> = {}) {
  const clock = manualClock();
  const ec2 = new Ec2Backend({ clock: clock.now, sleep: clock.sleep, ...options });
  const node = ec2.launchInstance('m5.large');
  return { clock, ec2, node };
}

describe('Ec2Backend', () => {
  it('answers describes in EC2 shape, pays each action its latency, and counts every request', async () => {
    const { clock, ec2, node } = backend({ latencyMs: { DescribeNetworkInterfaces: 150, AssignPrivateIpAddresses: 300 } });
    const before = clock.now();
    const added = await ec2.assignPrivateIpAddresses({ eniId: node.primaryEni, count: 2 });
    const [eni] = await ec2.describeNetworkInterfaces({ filters: [{ name: 'attachment.instance-id', values: [node.instanceId] }] });
    expect(clock.now() - before).toBe(450);
    expect(eni).toMatchObject({ id: node.primaryEni, primaryIp: node.primaryIp, secondaryIps: added, status: 'in-use', attachment: { deviceIndex: 0, instanceId: node.instanceId, status: 'attached' } });
    expect(Object.fromEntries(ec2.counters.calls)).toEqual({ AssignPrivateIpAddresses: 1, DescribeNetworkInterfaces: 1 });
  });

  it('answers a repeated create with the same client token with the same ENI, and refuses it with other parameters', async () => {
    const { ec2 } = backend();
    const subnetId = ec2.state.subnetRecords()[0]!.id;
    const first = await ec2.createNetworkInterface({ subnetId, secondaryCount: 2, clientToken: 'tok-1' });
    const again = await ec2.createNetworkInterface({ subnetId, secondaryCount: 2, clientToken: 'tok-1' });
    expect(again.id).toBe(first.id);
    await expect(ec2.createNetworkInterface({ subnetId, secondaryCount: 3, clientToken: 'tok-1' })).rejects.toMatchObject({ code: 'IdempotentParameterMismatch' });
  });

  it('throttles from the account buckets with RequestLimitExceeded (503), counted apart', async () => {
    const { ec2, node } = backend({ throttling: true });
    const results = await Promise.allSettled(Array.from({ length: 101 }, () => ec2.describeNetworkInterfaces({ ids: [node.primaryEni] })));
    const refused = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason as Ec2ApiError);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ code: 'RequestLimitExceeded', httpStatus: 503 });
    expect(ec2.counters.throttled.get('DescribeNetworkInterfaces')).toBe(1);
  });

  it('injects faults from the shared fault plan: a lost reply after the action applied, a server error before', async () => {
    const { ec2, node } = backend();
    ec2.faults.set({ seed: 1, rules: [{ kind: 'replyLost', actions: 'AssignPrivateIpAddresses', count: 1 }, { kind: 'serverError', actions: 'UnassignPrivateIpAddresses', count: 1, status: 503 }] });
    const lost = await ec2.assignPrivateIpAddresses({ eniId: node.primaryEni, count: 1 }).catch((e: unknown) => e);
    expect(lost).toBeInstanceOf(Ec2NoAnswer);
    expect(lost).toMatchObject({ reason: 'reset' });
    const [eni] = await ec2.describeNetworkInterfaces({ ids: [node.primaryEni] });
    expect(eni!.secondaryIps).toHaveLength(1);
    await expect(ec2.unassignPrivateIpAddresses({ eniId: node.primaryEni, addresses: eni!.secondaryIps })).rejects.toMatchObject({ code: 'Unavailable', httpStatus: 503 });
    expect((await ec2.describeNetworkInterfaces({ ids: [node.primaryEni] }))[0]!.secondaryIps).toHaveLength(1);
    expect(ec2.faults.fired().byKind).toEqual({ replyLost: 1, serverError: 1 });
  });

  it('a timeout fault holds the request until the client gives up', async () => {
    const { clock, ec2, node } = backend({ clientTimeoutMs: 10_000 });
    ec2.faults.add({ kind: 'timeout', actions: 'DescribeNetworkInterfaces', count: 1 });
    const before = clock.now();
    await expect(ec2.describeNetworkInterfaces({ ids: [node.primaryEni] })).rejects.toMatchObject({ reason: 'timeout' });
    expect(clock.now() - before).toBe(10_000);
  });

  it("shows each instance's interfaces in its IMDS only after the lag, a detach once it completed", async () => {
    const { clock, ec2, node } = backend({ imdsPropagationMs: 1_500, detachDelayMs: 2_000 });
    const macs = async () => (await ec2.imdsGet(node.instanceId, '/latest/meta-data/network/interfaces/macs/')).body.split('\n').filter((l) => l !== '');
    expect(await macs()).toHaveLength(1);
    const subnetId = ec2.state.subnetRecords()[0]!.id;
    const eni = await ec2.createNetworkInterface({ subnetId });
    const attachmentId = await ec2.attachNetworkInterface({ eniId: eni.id, instanceId: node.instanceId, deviceIndex: 1 });
    expect(await macs()).toHaveLength(1);
    await clock.sleep(1_500);
    expect(await macs()).toHaveLength(2);
    await ec2.detachNetworkInterface(attachmentId);
    await clock.sleep(3_000);
    expect(await macs()).toHaveLength(2);
    await clock.sleep(1_000);
    expect(await macs()).toHaveLength(1);
    expect(await ec2.imdsGet(node.instanceId, '/latest/meta-data/nothing-here')).toMatchObject({ status: 404 });
    expect(ec2.imdsReads).toBe(6);
    expect(ec2.counters.calls.size).toBe(3);
  });
});
