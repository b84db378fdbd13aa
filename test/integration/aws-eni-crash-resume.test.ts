/**
 * A daemon killed at any point of create → attach → DeleteOnTermination, against the EC2
 * emulator through the real SDK. The "crash": the provider's Nth checkpoint save never returns,
 * so it makes no call after it; the disk holds either that save or the one before (killed before
 * or after the write). A new provider is restored from what the disk holds, described (as the
 * daemon does at start) and asked for an ENI if the node still has none (as the pool would).
 * Then: one ENI of ours at most, none left detached, DeleteOnTermination on every attached one,
 * and terminating the instance leaves no ENI behind.
 */
import { AttachNetworkInterfaceCommand, CreateNetworkInterfaceCommand, DescribeNetworkInterfacesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAwsEmulator } from '../../src/emulator/aws/index.js';
import { Ec2Provider } from '../../src/providers/aws/index.js';

type Emulator = Awaited<ReturnType<typeof startAwsEmulator>>;
type Instance = Awaited<ReturnType<Emulator['launchInstance']>>;

const CREDENTIALS = { accessKeyId: 'AKIDEMULATOR', secretAccessKey: 'emulator-secret' };
const CLUSTER = 'crash-resume';

describe('ENI work interrupted by a crash, resumed from the checkpoint', () => {
  let emulator: Emulator;
  let ec2: EC2Client;
  const providers: Ec2Provider[] = [];

  beforeAll(async () => {
    emulator = await startAwsEmulator({});
    ec2 = new EC2Client({ region: emulator.region, endpoint: emulator.ec2Url, credentials: CREDENTIALS });
  });

  afterAll(async () => {
    for (const provider of providers) provider.close();
    ec2?.destroy();
    await emulator?.close();
  });

  function providerFor(instance: Instance): Ec2Provider {
    const provider = new Ec2Provider({
      ec2Endpoint: emulator.ec2Url,
      imdsEndpoint: instance.imdsUrl,
      clusterName: CLUSTER,
      credentials: CREDENTIALS,
      detachWait: { attempts: 40, initialDelayMs: 5, maxDelayMs: 50 },
    });
    providers.push(provider);
    return provider;
  }

  /** Every ENI tagged as this instance's, wherever it is. */
  async function enisOf(instanceId: string) {
    const out = await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'tag:node.k8s.amazonaws.com/instance_id', Values: [instanceId] }] }));
    return out.NetworkInterfaces ?? [];
  }

  async function attachedTo(instanceId: string) {
    const out = await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [instanceId] }] }));
    return out.NetworkInterfaces ?? [];
  }

  /**
   * Runs createInterface until save number `crashAt` (1: intent to create, 2: ENI id before the
   * attach, 3: attachment id before the modify, 4: the operation dropped), which never returns.
   * Returns the disk's content: that save's state, or the one before it.
   */
  async function crashAt(instance: Instance, save: number, written: boolean): Promise<unknown> {
    const provider = providerFor(instance);
    const disk: unknown[] = [undefined];
    let saves = 0;
    let crashed!: () => void;
    const reached = new Promise<void>((resolve) => {
      crashed = resolve;
    });
    provider.onResumeStateChange(() => {
      saves += 1;
      const state = structuredClone(provider.resumeState());
      if (saves < save) {
        disk.push(state);
        return Promise.resolve();
      }
      if (written) disk.push(state);
      crashed();
      return new Promise<void>(() => undefined);
    });
    void provider.createInterface({ deviceIndex: 1, secondaryCount: 2 });
    await reached;
    provider.close();
    return disk.at(-1);
  }

  async function restart(instance: Instance, state: unknown): Promise<Ec2Provider> {
    const provider = providerFor(instance);
    const disk: unknown[] = [];
    provider.onResumeStateChange(async () => {
      disk.push(structuredClone(provider.resumeState()));
    });
    if (state !== undefined) provider.restoreState(state);
    const node = await provider.describeNode();
    if (node.interfaces.length < 2) await provider.createInterface({ deviceIndex: 1, secondaryCount: 2 });
    expect(provider.resumeState(), 'nothing left unfinished').toBeUndefined();
    return provider;
  }

  async function expectWhole(instance: Instance): Promise<void> {
    const ours = await enisOf(instance.instanceId);
    expect(ours, 'exactly one ENI made for the node').toHaveLength(1);
    expect(ours[0]?.Attachment?.InstanceId, 'and it is attached').toBe(instance.instanceId);
    const attached = await attachedTo(instance.instanceId);
    expect(attached).toHaveLength(2);
    for (const eni of attached) expect(eni.Attachment?.DeleteOnTermination, eni.NetworkInterfaceId).toBe(true);
    await emulator.terminateInstance(instance.instanceId);
    expect(await enisOf(instance.instanceId), 'nothing outlives the instance').toEqual([]);
  }

  const cases: { save: number; written: boolean; what: string }[] = [
    { save: 1, written: false, what: 'before the intent to create reached the disk' },
    { save: 1, written: true, what: 'after the intent to create, before the create' },
    { save: 2, written: false, what: 'after the create, before its ENI id reached the disk' },
    { save: 2, written: true, what: 'after the create was recorded, before the attach' },
    { save: 3, written: false, what: 'after the attach, before it reached the disk (DeleteOnTermination unset)' },
    { save: 3, written: true, what: 'after the attach was recorded, before DeleteOnTermination' },
    { save: 4, written: false, what: 'after DeleteOnTermination, before the operation was dropped from the disk' },
    { save: 4, written: true, what: 'after everything' },
  ];

  for (const { save, written, what } of cases) {
    it(`killed ${what}`, async () => {
      const instance = await emulator.launchInstance({ instanceType: 'm5.large' });
      const state = await crashAt(instance, save, written);
      emulator.resetCounts();
      await restart(instance, state);
      const calls = emulator.callCounts();
      // Never a second ENI left where the first was made; never the flag set twice. An ENI the
      // crash left detached is deleted at the first describe and the node's create makes a new one.
      expect(calls['CreateNetworkInterface'] ?? 0).toBe(save <= 2 ? 1 : 0);
      expect(calls['DeleteNetworkInterface'] ?? 0).toBe(save === 2 ? 1 : 0);
      expect(calls['ModifyNetworkInterfaceAttribute'] ?? 0).toBe(save === 4 ? 0 : 1);
      await expectWhole(instance);
    });
  }

  it('describeNode sets DeleteOnTermination on an ENI of ours attached without it, whatever left it so', async () => {
    const instance = await emulator.launchInstance({ instanceType: 'm5.large' });
    const subnetId = emulator.subnets()[0]!.id;
    const tags = (extra: Record<string, string>) => [
      {
        ResourceType: 'network-interface' as const,
        Tags: Object.entries({ 'node.k8s.amazonaws.com/instance_id': instance.instanceId, ...extra }).map(([Key, Value]) => ({ Key, Value })),
      },
    ];
    const ours = await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetId, TagSpecifications: tags({ 'nativeip.io/managed': 'true' }) }));
    const notOurs = await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetId, TagSpecifications: tags({}) }));
    await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: ours.NetworkInterface!.NetworkInterfaceId!, InstanceId: instance.instanceId, DeviceIndex: 1 }));
    await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: notOurs.NetworkInterface!.NetworkInterfaceId!, InstanceId: instance.instanceId, DeviceIndex: 2 }));
    const provider = providerFor(instance);
    emulator.resetCounts();
    await provider.describeNode();
    expect(emulator.callCounts()['ModifyNetworkInterfaceAttribute']).toBe(1);
    const flags = new Map((await attachedTo(instance.instanceId)).map((eni) => [eni.NetworkInterfaceId, eni.Attachment?.DeleteOnTermination]));
    expect(flags.get(ours.NetworkInterface!.NetworkInterfaceId)).toBe(true);
    expect(flags.get(notOurs.NetworkInterface!.NetworkInterfaceId), 'an ENI nativeip did not make is not touched').toBe(false);
    emulator.resetCounts();
    await provider.describeNode();
    await provider.collectLeakedInterfaces();
    expect(emulator.callCounts()['ModifyNetworkInterfaceAttribute'] ?? 0, 'nothing more to set').toBe(0);
  });

  it('a restored create whose ENI is found detached is deleted at the first describe: no ENI waits for a create that may never come', async () => {
    const instance = await emulator.launchInstance({ instanceType: 'm5.large' });
    const state = await crashAt(instance, 2, true);
    const provider = providerFor(instance);
    provider.restoreState(state, instance.instanceId);
    await provider.describeNode();
    expect(await enisOf(instance.instanceId)).toEqual([]);
    expect(provider.resumeState()).toBeUndefined();
  });

  it('state a checkpoint recorded on another instance (a disk carried over) is dropped: that instance\'s ENI is not touched', async () => {
    const other = await emulator.launchInstance({ instanceType: 'm5.large' });
    const state = await crashAt(other, 2, true);
    const instance = await emulator.launchInstance({ instanceType: 'm5.large' });
    const provider = providerFor(instance);
    provider.restoreState(state, other.instanceId);
    await provider.describeNode();
    expect(await enisOf(other.instanceId)).toHaveLength(1);
    expect(provider.resumeState()).toBeUndefined();
  });
});
