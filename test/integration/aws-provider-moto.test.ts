/**
 * Ec2Provider against moto_server: EC2 request and response shapes for the ENI lifecycle.
 * moto has no IMDS `macs/` tree, so a small IMDSv2 stub serves the moto instance's facts.
 */
import {
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudError } from '../../src/core/types.js';
import { Ec2Provider } from '../../src/providers/aws/index.js';
import { imdsTree, startImdsStub, type ImdsStub } from '../support/aws-imds-stub.js';
import { motoUnavailableReason, startMoto, type MotoServer } from './support/moto.js';

const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const unavailable = motoUnavailableReason();
if (unavailable !== undefined) console.warn(unavailable);

interface MotoInstance {
  instanceId: string;
  eniId: string;
  mac: string;
  primaryIp: string;
  subnetId: string;
  subnetCidr: string;
  vpcCidr: string;
  securityGroupIds: string[];
}

async function runInstance(ec2: EC2Client): Promise<MotoInstance> {
  const run = await ec2.send(
    new RunInstancesCommand({ ImageId: 'ami-12c6146b', InstanceType: 'm5.large', MinCount: 1, MaxCount: 1 }),
  );
  const instanceId = run.Instances?.[0]?.InstanceId;
  if (instanceId === undefined) throw new Error('moto RunInstances returned no instance');
  const described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  const eni = described.Reservations?.[0]?.Instances?.[0]?.NetworkInterfaces?.[0];
  if (eni?.NetworkInterfaceId === undefined || eni.MacAddress === undefined || eni.SubnetId === undefined) {
    throw new Error('moto instance has no primary ENI');
  }
  const subnets = await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [eni.SubnetId] }));
  const subnet = subnets.Subnets?.[0];
  const vpcs = await ec2.send(new DescribeVpcsCommand({ VpcIds: [subnet?.VpcId ?? ''] }));
  return {
    instanceId,
    eniId: eni.NetworkInterfaceId,
    mac: eni.MacAddress,
    primaryIp: eni.PrivateIpAddress ?? '',
    subnetId: eni.SubnetId,
    subnetCidr: subnet?.CidrBlock ?? '',
    vpcCidr: vpcs.Vpcs?.[0]?.CidrBlock ?? '',
    securityGroupIds: (eni.Groups ?? []).map((group) => group.GroupId ?? ''),
  };
}

function imdsFor(node: MotoInstance, instanceId = node.instanceId): Record<string, string> {
  return imdsTree({
    instanceId,
    instanceType: 'm5.large',
    region: REGION,
    interfaces: [
      {
        mac: node.mac,
        deviceIndex: 0,
        interfaceId: node.eniId,
        subnetId: node.subnetId,
        subnetCidr: node.subnetCidr,
        localIpv4s: [node.primaryIp],
        vpcCidrs: [node.vpcCidr],
        securityGroupIds: node.securityGroupIds,
      },
    ],
  });
}

describe.skipIf(unavailable !== undefined)('Ec2Provider against moto', () => {
  let moto: MotoServer;
  let ec2: EC2Client;
  let imds: ImdsStub;
  let node: MotoInstance;
  let provider: Ec2Provider;
  const noSleep = (): Promise<void> => Promise.resolve();

  beforeAll(async () => {
    moto = await startMoto();
    ec2 = new EC2Client({ region: REGION, endpoint: moto.url, credentials: CREDENTIALS });
    node = await runInstance(ec2);
    imds = await startImdsStub(imdsFor(node));
    provider = new Ec2Provider({
      ec2Endpoint: moto.url,
      imdsEndpoint: imds.url,
      clusterName: 'awsp-cluster',
      credentials: CREDENTIALS,
      sleep: noSleep,
    });
  });

  afterAll(async () => {
    provider?.close();
    ec2?.destroy();
    await imds?.close();
    await moto?.stop();
  });

  async function eniOnCloud(eniId: string) {
    const out = await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eniId] }));
    return out.NetworkInterfaces?.[0];
  }

  it('describes the node from IMDS and EC2', async () => {
    const snapshot = await provider.describeNode();
    expect(snapshot.instanceId).toBe(node.instanceId);
    expect(snapshot.instanceType).toBe('m5.large');
    expect(snapshot.primaryIp).toBe(node.primaryIp);
    expect(snapshot.vpcCidrs).toEqual([node.vpcCidr]);
    expect(snapshot.limits).toEqual({ maxInterfaces: 3, ipv4PerInterface: 10, vcpus: 2 });
    expect(snapshot.interfaces).toEqual([
      {
        id: node.eniId,
        mac: node.mac,
        deviceIndex: 0,
        subnetId: node.subnetId,
        subnetCidr: node.subnetCidr,
        primaryIp: node.primaryIp,
        secondaryIps: [],
        managed: false,
      },
    ]);
  });

  it('assigns secondary addresses on the primary ENI', async () => {
    const before = (await provider.describeNode()).interfaces[0]?.secondaryIps ?? [];
    const returned = await provider.assignAddresses(node.eniId, 2);
    const after = (await provider.describeNode()).interfaces[0]?.secondaryIps ?? [];
    const added = after.filter((ip) => !before.includes(ip));
    expect(added).toHaveLength(2);
    // moto answers with every address on the ENI; real EC2 and the emulator with the new ones only.
    for (const ip of added) expect(returned).toContain(ip);
    expect(returned).not.toContain(node.primaryIp);
  });

  it('creates, tags, attaches and marks a new ENI delete-on-termination', async () => {
    const created = await provider.createInterface({ deviceIndex: 1, secondaryCount: 3 });
    expect(created.deviceIndex).toBe(1);
    expect(created.subnetId).toBe(node.subnetId);
    expect(created.subnetCidr).toBe(node.subnetCidr);
    expect(created.managed).toBe(true);
    expect(created.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    expect(created.secondaryIps).toHaveLength(3);
    expect(created.secondaryIps).not.toContain(created.primaryIp);

    const onCloud = await eniOnCloud(created.id);
    expect(onCloud?.Description).toBe(`nativeip ENI for ${node.instanceId}`);
    expect(onCloud?.Attachment?.InstanceId).toBe(node.instanceId);
    expect(onCloud?.Attachment?.DeviceIndex).toBe(1);
    expect((onCloud?.Groups ?? []).map((group) => group.GroupId)).toEqual(node.securityGroupIds);
    const tags = new Map((onCloud?.TagSet ?? []).map((tag) => [tag.Key, tag.Value]));
    expect(tags.get('nativeip.io/managed')).toBe('true');
    expect(tags.get('node.k8s.amazonaws.com/instance_id')).toBe(node.instanceId);
    expect(tags.get('cluster.k8s.amazonaws.com/name')).toBe('awsp-cluster');
    expect(Number.isNaN(Date.parse(tags.get('node.k8s.amazonaws.com/createdAt') ?? ''))).toBe(false);

    const snapshot = await provider.describeNode();
    expect(snapshot.interfaces.map((eni) => eni.deviceIndex)).toEqual([0, 1]);
    const listed = snapshot.interfaces[1];
    expect(listed?.id).toBe(created.id);
    expect(listed?.managed).toBe(true);
    expect([...(listed?.secondaryIps ?? [])].sort()).toEqual([...created.secondaryIps].sort());
  });

  it('releases addresses, and releasing them again is not an error', async () => {
    const eni = (await provider.describeNode()).interfaces[1];
    if (eni === undefined) throw new Error('expected the ENI created above');
    const release = eni.secondaryIps.slice(0, 2);
    await provider.releaseAddresses(eni.id, release);
    const after = (await provider.describeNode()).interfaces[1]?.secondaryIps ?? [];
    expect(after).toHaveLength(eni.secondaryIps.length - 2);
    for (const ip of release) expect(after).not.toContain(ip);
    await expect(provider.releaseAddresses(eni.id, release)).resolves.toBeUndefined();
  });

  it('detaches and deletes a managed ENI; deleting it again is not an error', async () => {
    const eni = (await provider.describeNode()).interfaces[1];
    if (eni === undefined) throw new Error('expected the ENI created above');
    await provider.deleteInterface(eni.id);
    const out = await ec2.send(new DescribeNetworkInterfacesCommand({}));
    expect((out.NetworkInterfaces ?? []).map((entry) => entry.NetworkInterfaceId)).not.toContain(eni.id);
    await expect(provider.deleteInterface(eni.id)).resolves.toBeUndefined();
    expect((await provider.describeNode()).interfaces).toHaveLength(1);
  });

  it('refuses to delete the primary ENI', async () => {
    const error = await provider.deleteInterface(node.eniId).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CloudError);
    expect((error as CloudError).code).toBe('InvalidRequest');
    expect(await eniOnCloud(node.eniId)).toBeDefined();
  });

  it('maps an unknown ENI to NotFound with the EC2 code', async () => {
    const error = await provider.assignAddresses('eni-0000000000000000f', 1).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CloudError);
    expect((error as CloudError).code).toBe('NotFound');
    expect((error as CloudError).cloudCode).toBe('InvalidNetworkInterfaceID.NotFound');
    expect((error as CloudError).retryable).toBe(false);
  });

  it('deletes the ENI it created when the attach fails, and rethrows the attach error', async () => {
    const ghostId = 'i-0000000000000dead';
    const ghostImds = await startImdsStub(imdsFor(node, ghostId));
    const ghost = new Ec2Provider({
      ec2Endpoint: moto.url,
      imdsEndpoint: ghostImds.url,
      region: REGION,
      credentials: CREDENTIALS,
      sleep: noSleep,
    });
    try {
      const error = await ghost.createInterface({ deviceIndex: 1, secondaryCount: 1 }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(CloudError);
      expect((error as CloudError).code).toBe('NotFound');
      expect((error as CloudError).cloudCode).toBe('InvalidInstanceID.NotFound');
      const out = await ec2.send(new DescribeNetworkInterfacesCommand({}));
      const leaked = (out.NetworkInterfaces ?? []).filter((eni) => eni.Description === `nativeip ENI for ${ghostId}`);
      expect(leaked).toEqual([]);
      expect(ghostImds.requests).not.toContain('GET /latest/meta-data/placement/region');
    } finally {
      ghost.close();
      await ghostImds.close();
    }
  });
});
