/**
 * Leaked-ENI collection through the real SDK: Ec2Provider.collectLeakedInterfaces against the
 * EC2 emulator, with a mix of detached ENIs that must and must not be deleted.
 */
import { CreateNetworkInterfaceCommand, EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAwsEmulator } from '../../src/emulator/aws/index.js';
import { Ec2Provider } from '../../src/providers/aws/index.js';

type Emulator = Awaited<ReturnType<typeof startAwsEmulator>>;

const CREDENTIALS = { accessKeyId: 'AKIDEMULATOR', secretAccessKey: 'emulator-secret' };
const CLUSTER = 'gc-test';
const OLD = new Date(Date.now() - 60 * 60_000).toISOString();
const YOUNG = new Date(Date.now() - 30_000).toISOString();

describe('collectLeakedInterfaces against the AWS emulator', () => {
  let emulator: Emulator;
  let ec2: EC2Client;
  let provider: Ec2Provider;
  let subnetId: string;
  let self: string;
  let liveOther: string;
  let terminated: string;
  const eni: Record<string, string> = {};

  async function create(tags: Record<string, string>): Promise<string> {
    const out = await ec2.send(
      new CreateNetworkInterfaceCommand({
        SubnetId: subnetId,
        TagSpecifications: [{ ResourceType: 'network-interface', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }],
      }),
    );
    const id = out.NetworkInterface?.NetworkInterfaceId;
    if (id === undefined) throw new Error('no ENI id');
    return id;
  }

  const ours = (owner: string, createdAt = OLD, extra: Record<string, string> = {}) => ({
    'node.k8s.amazonaws.com/instance_id': owner,
    'node.k8s.amazonaws.com/createdAt': createdAt,
    'cluster.k8s.amazonaws.com/name': CLUSTER,
    'nativeip.io/managed': 'true',
    ...extra,
  });

  beforeAll(async () => {
    emulator = await startAwsEmulator({});
    const node = await emulator.launchInstance({ instanceType: 'm5.large' });
    const other = await emulator.launchInstance({ instanceType: 'm5.large' });
    const gone = await emulator.launchInstance({ instanceType: 'm5.large' });
    self = node.instanceId;
    liveOther = other.instanceId;
    terminated = gone.instanceId;
    await emulator.terminateInstance(terminated);
    subnetId = emulator.subnets()[0]!.id;
    ec2 = new EC2Client({ region: emulator.region, endpoint: emulator.ec2Url, credentials: CREDENTIALS });
    eni['oursOld'] = await create(ours(self));
    eni['oursYoung'] = await create(ours(self, YOUNG));
    eni['ofTerminated'] = await create(ours(terminated));
    eni['ofUnknownInstance'] = await create(ours('i-0123456789abcdef0'));
    eni['ofLiveOther'] = await create(ours(liveOther));
    eni['untagged'] = await create({});
    eni['noManage'] = await create(ours(self, OLD, { 'node.k8s.amazonaws.com/no_manage': 'true' }));
    eni['otherCluster'] = await create(ours(self, OLD, { 'cluster.k8s.amazonaws.com/name': 'someone-else' }));
    eni['unmanagedButOwned'] = await create({ 'node.k8s.amazonaws.com/instance_id': self, 'node.k8s.amazonaws.com/createdAt': OLD });
    // What the AWS VPC CNI leaves on a node switched from it: its tags, not nativeip's.
    const vpcCni = (owner: string, createdAt = OLD) => ({ 'node.k8s.amazonaws.com/instance_id': owner, 'node.k8s.amazonaws.com/createdAt': createdAt, 'cluster.k8s.amazonaws.com/name': CLUSTER });
    eni['vpcCniOld'] = await create(vpcCni(self));
    eni['vpcCniYoung'] = await create(vpcCni(self, YOUNG));
    eni['vpcCniOfTerminated'] = await create(vpcCni(terminated));
    eni['vpcCniOfLiveOther'] = await create(vpcCni(liveOther));
    provider = new Ec2Provider({ ec2Endpoint: emulator.ec2Url, imdsEndpoint: node.imdsUrl, credentials: CREDENTIALS, clusterName: CLUSTER });
  });

  afterAll(async () => {
    provider?.close();
    ec2?.destroy();
    await emulator?.close();
  });

  it('deletes exactly the leaked ENIs of this node (however young: no create of it is under way) and of instances that are gone; the AWS VPC CNI’s too, past the grace period', async () => {
    const deleted = await provider.collectLeakedInterfaces();
    const gones = ['oursOld', 'oursYoung', 'ofTerminated', 'ofUnknownInstance', 'vpcCniOld', 'vpcCniOfTerminated'];
    expect([...deleted].sort()).toEqual(gones.map((name) => eni[name]).sort());
    const remaining = new Set(emulator.topology().detachedInterfaces.map((d) => d.eniId));
    for (const kept of ['ofLiveOther', 'untagged', 'noManage', 'otherCluster', 'unmanagedButOwned', 'vpcCniYoung', 'vpcCniOfLiveOther']) {
      expect(remaining.has(eni[kept]!), kept).toBe(true);
    }
    for (const gone of gones) expect(remaining.has(eni[gone]!), gone).toBe(false);
  });

  it('spares the ENI of a create under way (detached until its attach lands)', async () => {
    // The attach is held for 1.5 s before EC2 applies it: meanwhile the new ENI is detached.
    emulator.faults.set({ rules: [{ kind: 'timeout', actions: 'AttachNetworkInterface', delayMs: 1_500, count: 1 }] });
    const growing = provider.createInterface({ deviceIndex: 1, secondaryCount: 1 });
    const deadline = Date.now() + 5_000;
    while (emulator.topology().detachedInterfaces.every((d) => Object.values(eni).includes(d.eniId))) {
      if (Date.now() > deadline) throw new Error('the create never came');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await provider.collectLeakedInterfaces()).toEqual([]);
    const created = await growing;
    emulator.faults.clear();
    expect(emulator.topology().instances.find((i) => i.instanceId === self)?.interfaces.map((x) => x.eniId)).toContain(created.id);
  });

  it('a second sweep finds nothing more and never touches attached ENIs', async () => {
    expect(await provider.collectLeakedInterfaces()).toEqual([]);
    const attached = emulator.topology().instances.flatMap((i) => i.interfaces.map((x) => x.eniId));
    expect(attached.length).toBeGreaterThanOrEqual(2);
  });
});
