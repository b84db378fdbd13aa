/**
 * The crash campaign's view of the cloud, read from the AWS emulator's own state (no SDK): which
 * ENIs of a node would outlive it, and what the node's interfaces hold; and how the campaign
 * compares that with the daemon's pool (cloudDisagreements).
 */
import { AssignPrivateIpAddressesCommand, AttachNetworkInterfaceCommand, CreateNetworkInterfaceCommand, EC2Client, ModifyNetworkInterfaceAttributeCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAwsEmulator, type AwsEmulator, type LaunchedInstance } from '../../src/emulator/aws/index.js';
import { awsCloudUnderTest } from '../../src/emulator/aws/cloud-under-test.js';
import type { CloudView } from '../../src/demo/cloud-under-test.js';
import { cloudDisagreements } from '../../src/demo/crash-campaign/invariants.js';
import type { StatusResult } from '../../src/rpc/protocol.js';

const CREDENTIALS = { accessKeyId: 'AKIDEMULATOR', secretAccessKey: 'emulator-secret' };
const OWNER_TAG = 'node.k8s.amazonaws.com/instance_id';

describe('the crash campaign reads the cloud from the AWS emulator', () => {
  let emulator: AwsEmulator;
  let ec2: EC2Client;
  let node: LaunchedInstance;
  let other: LaunchedInstance;
  const eni: Record<string, string> = {};

  async function create(tags: Record<string, string>): Promise<string> {
    const out = await ec2.send(
      new CreateNetworkInterfaceCommand({
        SubnetId: emulator.subnets()[0]!.id,
        TagSpecifications: [{ ResourceType: 'network-interface', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }],
      }),
    );
    const id = out.NetworkInterface?.NetworkInterfaceId;
    if (id === undefined) throw new Error('no ENI id');
    return id;
  }

  async function attach(eniId: string, instanceId: string, deviceIndex: number, deleteOnTermination: boolean): Promise<void> {
    const out = await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: eniId, InstanceId: instanceId, DeviceIndex: deviceIndex }));
    if (deleteOnTermination) {
      await ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eniId, Attachment: { AttachmentId: out.AttachmentId, DeleteOnTermination: true } }));
    }
  }

  beforeAll(async () => {
    emulator = await startAwsEmulator({});
    node = await emulator.launchInstance({ instanceType: 'm5.large' });
    other = await emulator.launchInstance({ instanceType: 'm5.large' });
    ec2 = new EC2Client({ region: emulator.region, endpoint: emulator.ec2Url, credentials: CREDENTIALS });
    eni['detached'] = await create({ [OWNER_TAG]: node.instanceId });
    eni['noDeleteOnTermination'] = await create({ [OWNER_TAG]: node.instanceId });
    await attach(eni['noDeleteOnTermination'], node.instanceId, 1, false);
    eni['healthy'] = await create({ [OWNER_TAG]: node.instanceId });
    await attach(eni['healthy'], node.instanceId, 2, true);
    await ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: eni['healthy'], SecondaryPrivateIpAddressCount: 2 }));
    eni['onOtherInstance'] = await create({ [OWNER_TAG]: node.instanceId });
    await attach(eni['onOtherInstance'], other.instanceId, 1, true);
    eni['ofOtherNode'] = await create({ [OWNER_TAG]: other.instanceId });
    eni['untagged'] = await create({});
  });

  afterAll(async () => {
    ec2?.destroy();
    await emulator?.close();
  });

  it('names each ENI of the node that would outlive it, and no other', async () => {
    const leaks = await awsCloudUnderTest(emulator).view(node.instanceId).leakedInterfaces();
    expect([...leaks].sort()).toEqual(
      [
        `${eni['detached']} of ${node.instanceId} is available (attached to nothing)`,
        `${eni['noDeleteOnTermination']} is attached to ${node.instanceId} without DeleteOnTermination`,
        `${eni['onOtherInstance']} of ${node.instanceId} is attached to ${other.instanceId}`,
      ].sort(),
    );
  });

  it('lists the node\'s interfaces with the addresses each holds for pods', async () => {
    const interfaces = await awsCloudUnderTest(emulator).view(node.instanceId).nodeInterfaces();
    expect(interfaces.map((i) => i.id)).toEqual([node.primaryEni, eni['noDeleteOnTermination'], eni['healthy']]);
    expect(interfaces.map((i) => i.addresses.length)).toEqual([0, 0, 2]);
  });
});

describe('cloudDisagreements', () => {
  const view = (interfaces: Record<string, number>, leaks: string[] = []): CloudView => ({
    nodeInterfaces: async () => Object.entries(interfaces).map(([id, n]) => ({ id, addresses: Array.from({ length: n }, (_, i) => `10.0.0.${i + 10}`) })),
    leakedInterfaces: async () => leaks,
  });
  const status = (interfaces: Record<string, number>): StatusResult =>
    ({ interfaces: Object.entries(interfaces).map(([id, addresses], deviceIndex) => ({ id, deviceIndex, subnetId: 'subnet-1', addresses, assigned: 0 })) }) as unknown as StatusResult;

  it.each([
    { name: 'agreement', cloud: { 'eni-a': 3, 'eni-b': 2 }, pool: { 'eni-a': 3, 'eni-b': 2 }, keys: [] },
    { name: 'addresses nothing accounts for', cloud: { 'eni-a': 4 }, pool: { 'eni-a': 3 }, keys: ['count eni-a'] },
    { name: 'addresses the node does not have', cloud: { 'eni-a': 2 }, pool: { 'eni-a': 3 }, keys: ['count eni-a'] },
    { name: 'an interface the pool does not know', cloud: { 'eni-a': 1, 'eni-b': 5 }, pool: { 'eni-a': 1 }, keys: ['unknown eni-b'] },
    { name: 'an interface the cloud does not attach', cloud: { 'eni-a': 1 }, pool: { 'eni-a': 1, 'eni-b': 5 }, keys: ['gone eni-b'] },
    { name: 'ids compared without case (ARM)', cloud: { '/Subscriptions/S/NIC-1': 2 }, pool: { '/subscriptions/s/nic-1': 2 }, keys: [] },
  ])('$name', async ({ cloud, pool, keys }) => {
    expect((await cloudDisagreements(status(pool), view(cloud))).map((d) => d.key)).toEqual(keys);
  });

  it('a leaked interface is one, keyed by its id whatever the text says', async () => {
    const found = await cloudDisagreements(status({}), view({}, ['eni-x of i-1 is available (attached to nothing)']));
    expect(found).toEqual([{ key: 'leak eni-x', text: 'leaked interface: eni-x of i-1 is available (attached to nothing)' }]);
  });
});
