import type { DescribeInstanceTypesCommandInput } from '@aws-sdk/client-ec2';
import {
  AssignPrivateIpAddressesCommand,
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  CreateTagsCommand,
  DeleteNetworkInterfaceCommand,
  DeleteTagsCommand,
  DescribeInstancesCommand,
  DescribeInstanceTypesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSubnetsCommand,
  DetachNetworkInterfaceCommand,
  EC2Client,
  EC2ServiceException,
  ModifyNetworkInterfaceAttributeCommand,
  UnassignPrivateIpAddressesCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AwsEmulator, LaunchedInstance } from '../../src/emulator/aws/index.js';
import { startAwsEmulator } from '../../src/emulator/aws/index.js';

function client(emu: AwsEmulator): EC2Client {
  return new EC2Client({
    endpoint: emu.ec2Url,
    region: emu.region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
}

async function errorOf(promise: Promise<unknown>): Promise<{ code: string; status: number | undefined; message: string }> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof EC2ServiceException) {
      return { code: err.name, status: err.$metadata.httpStatusCode, message: err.message };
    }
    throw err;
  }
  throw new Error('expected the call to fail');
}

describe('AWS emulator through @aws-sdk/client-ec2', () => {
  let emu: AwsEmulator;
  let ec2: EC2Client;
  let node: LaunchedInstance;
  let subnetId: string;

  beforeAll(async () => {
    emu = await startAwsEmulator({ subnets: [{ cidr: '10.0.0.0/24' }, { cidr: '10.0.1.0/28', az: 'us-east-1b' }], seed: 7 });
    ec2 = client(emu);
    node = await emu.launchInstance({ instanceType: 'm5.large' });
    subnetId = emu.subnets()[0]!.id;
  });

  afterAll(async () => {
    ec2.destroy();
    await emu.close();
  });

  it('DescribeInstanceTypes returns the published network limits', async () => {
    const out = await ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: ['m5.large', 't3.medium', 'm5.4xlarge'] }));
    const byName = new Map(out.InstanceTypes?.map((t) => [t.InstanceType, t.NetworkInfo]));
    expect(byName.get('m5.large')).toMatchObject({ MaximumNetworkInterfaces: 3, Ipv4AddressesPerInterface: 10, Ipv6AddressesPerInterface: 10 });
    expect(byName.get('t3.medium')).toMatchObject({ MaximumNetworkInterfaces: 3, Ipv4AddressesPerInterface: 6 });
    expect(byName.get('m5.4xlarge')).toMatchObject({ MaximumNetworkInterfaces: 8, Ipv4AddressesPerInterface: 30 });
    expect(byName.get('m5.large')?.NetworkCards).toEqual([
      expect.objectContaining({ NetworkCardIndex: 0, MaximumNetworkInterfaces: 3 }),
    ]);
    const bad = await errorOf(ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: ['m5.huge'] as unknown as DescribeInstanceTypesCommandInput['InstanceTypes'] })));
    expect(bad).toMatchObject({ code: 'InvalidInstanceType', status: 400 });
  });

  it('DescribeInstances shows the instance with its primary interface', async () => {
    const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [node.instanceId] }));
    const instance = out.Reservations?.[0]?.Instances?.[0];
    expect(instance).toMatchObject({
      InstanceId: node.instanceId,
      InstanceType: 'm5.large',
      PrivateIpAddress: node.primaryIp,
      SubnetId: subnetId,
      State: { Name: 'running', Code: 16 },
      Placement: { AvailabilityZone: 'us-east-1a' },
    });
    expect(instance?.NetworkInterfaces?.[0]).toMatchObject({
      NetworkInterfaceId: node.primaryEni,
      MacAddress: node.mac,
      Attachment: { DeviceIndex: 0, Status: 'attached', DeleteOnTermination: true },
    });
    const missing = await errorOf(ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] })));
    expect(missing).toMatchObject({ code: 'InvalidInstanceID.NotFound', status: 400 });
  });

  it('DescribeSubnets reports CIDR, zone and free addresses (5 reserved per subnet)', async () => {
    const out = await ec2.send(new DescribeSubnetsCommand({}));
    const small = out.Subnets?.find((s) => s.CidrBlock === '10.0.1.0/28');
    expect(small).toMatchObject({ AvailableIpAddressCount: 11, AvailabilityZone: 'us-east-1b', State: 'available' });
    const first = out.Subnets?.find((s) => s.SubnetId === subnetId);
    expect(first?.AvailableIpAddressCount).toBe(256 - 5 - 1);
  });

  it('creates, tags, attaches, assigns, unassigns, modifies, detaches and deletes an ENI', async () => {
    const created = await ec2.send(
      new CreateNetworkInterfaceCommand({
        SubnetId: subnetId,
        Description: 'pods <&> "1"',
        Groups: ['sg-0123456789abcdef0'],
        SecondaryPrivateIpAddressCount: 2,
        TagSpecifications: [{ ResourceType: 'network-interface', Tags: [{ Key: 'nativeip/node', Value: node.instanceId }] }],
      }),
    );
    const eni = created.NetworkInterface!;
    expect(eni.NetworkInterfaceId).toMatch(/^eni-[0-9a-f]{17}$/);
    expect(eni.MacAddress).toMatch(/^02(:[0-9a-f]{2}){5}$/);
    expect(eni.Description).toBe('pods <&> "1"');
    expect(eni.Status).toBe('available');
    expect(eni.Groups?.map((g) => g.GroupId)).toEqual(['sg-0123456789abcdef0']);
    expect(eni.PrivateIpAddresses).toHaveLength(3);
    expect(eni.PrivateIpAddresses?.[0]).toMatchObject({ Primary: true, PrivateIpAddress: eni.PrivateIpAddress });
    expect(eni.TagSet).toEqual([{ Key: 'nativeip/node', Value: node.instanceId }]);
    const eniId = eni.NetworkInterfaceId!;

    const attached = await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: eniId, InstanceId: node.instanceId, DeviceIndex: 1, NetworkCardIndex: 0 }));
    expect(attached.AttachmentId).toMatch(/^eni-attach-[0-9a-f]{17}$/);
    expect(attached.NetworkCardIndex).toBe(0);

    const assigned = await ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: eniId, SecondaryPrivateIpAddressCount: 3 }));
    expect(assigned.NetworkInterfaceId).toBe(eniId);
    expect(assigned.AssignedPrivateIpAddresses).toHaveLength(3);
    const newIps = assigned.AssignedPrivateIpAddresses!.map((a) => a.PrivateIpAddress!);

    await ec2.send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: eniId, PrivateIpAddresses: [newIps[0]!] }));
    await ec2.send(
      new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eniId, Attachment: { AttachmentId: attached.AttachmentId, DeleteOnTermination: true } }),
    );
    await ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eniId, Description: { Value: 'renamed' } }));
    await ec2.send(new CreateTagsCommand({ Resources: [eniId], Tags: [{ Key: 'extra', Value: 'x' }] }));

    const described = await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eniId] }));
    const d = described.NetworkInterfaces?.[0];
    expect(d).toMatchObject({
      Status: 'in-use',
      Description: 'renamed',
      Attachment: { AttachmentId: attached.AttachmentId, DeviceIndex: 1, InstanceId: node.instanceId, Status: 'attached', DeleteOnTermination: true },
    });
    expect(d?.PrivateIpAddresses?.map((p) => p.PrivateIpAddress)).toEqual([
      eni.PrivateIpAddress,
      ...eni.PrivateIpAddresses!.slice(1).map((p) => p.PrivateIpAddress),
      newIps[1],
      newIps[2],
    ]);
    expect(d?.TagSet).toEqual(expect.arrayContaining([{ Key: 'extra', Value: 'x' }]));

    await ec2.send(new DeleteTagsCommand({ Resources: [eniId], Tags: [{ Key: 'extra' }] }));
    const inUse = await errorOf(ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: eniId })));
    expect(inUse).toMatchObject({ code: 'InvalidNetworkInterface.InUse', status: 400 });

    await ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: attached.AttachmentId!, Force: false }));
    const after = await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eniId] }));
    expect(after.NetworkInterfaces?.[0]?.Status).toBe('available');
    expect(after.NetworkInterfaces?.[0]?.Attachment).toBeUndefined();
    expect(after.NetworkInterfaces?.[0]?.TagSet).toEqual([{ Key: 'nativeip/node', Value: node.instanceId }]);

    await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: eniId }));
    const gone = await errorOf(ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eniId] })));
    expect(gone).toMatchObject({ code: 'InvalidNetworkInterfaceID.NotFound', status: 400 });
    expect(emu.callCounts()).toMatchObject({ CreateNetworkInterface: 1, AttachNetworkInterface: 1, DeleteNetworkInterface: 2 });
  });

  it('filters DescribeNetworkInterfaces and pages with NextToken', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const out = await ec2.send(
        new CreateNetworkInterfaceCommand({
          SubnetId: subnetId,
          TagSpecifications: [{ ResourceType: 'network-interface', Tags: [{ Key: 'batch', Value: i % 2 === 0 ? 'even' : 'odd' }] }],
        }),
      );
      ids.push(out.NetworkInterface!.NetworkInterfaceId!);
    }
    const byInstance = await ec2.send(
      new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [node.instanceId] }] }),
    );
    expect(byInstance.NetworkInterfaces?.map((e) => e.NetworkInterfaceId)).toEqual([node.primaryEni]);
    const even = await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'tag:batch', Values: ['even'] }] }));
    expect(even.NetworkInterfaces).toHaveLength(3);
    const tagged = await ec2.send(
      new DescribeNetworkInterfacesCommand({
        Filters: [
          { Name: 'tag-key', Values: ['batch'] },
          { Name: 'status', Values: ['available'] },
          { Name: 'subnet-id', Values: [subnetId] },
          { Name: 'network-interface-id', Values: [ids[0]!, ids[1]!, 'eni-nothere*'] },
        ],
      }),
    );
    expect(tagged.NetworkInterfaces?.map((e) => e.NetworkInterfaceId).sort()).toEqual([ids[0], ids[1]].sort());
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await ec2.send(
        new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'tag-key', Values: ['batch'] }], MaxResults: 5, NextToken: token }),
      );
      seen.push(...(page.NetworkInterfaces ?? []).map((e) => e.NetworkInterfaceId!));
      token = page.NextToken;
    } while (token !== undefined);
    expect(seen.sort()).toEqual([...ids].sort());
    const badFilter = await errorOf(ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'colour', Values: ['x'] }] })));
    expect(badFilter.code).toBe('InvalidParameterValue');
    for (const id of ids) await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: id }));
  });

  it('maps EC2 errors to the SDK exception names and HTTP statuses', async () => {
    const cases: { call: () => Promise<unknown>; code: string }[] = [
      { call: () => ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: ['eni-0000000000000000f'] })), code: 'InvalidNetworkInterfaceID.NotFound' },
      { call: () => ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: ['nope'] })), code: 'InvalidNetworkInterfaceID.Malformed' },
      { call: () => ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: 'subnet-0000000000000000f' })), code: 'InvalidSubnetID.NotFound' },
      { call: () => ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: 'eni-attach-0000000000000000f' })), code: 'InvalidAttachmentID.NotFound' },
      {
        call: () => ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: node.primaryEni, InstanceId: 'i-0000000000000000f', DeviceIndex: 1 })),
        code: 'InvalidInstanceID.NotFound',
      },
      {
        call: () =>
          ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: node.primaryEni, Ipv4PrefixCount: 1, SecondaryPrivateIpAddressCount: 1 })),
        code: 'InvalidParameterCombination',
      },
      {
        call: () => ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: node.primaryEni, SecondaryPrivateIpAddressCount: 10 })),
        code: 'PrivateIpAddressLimitExceeded',
      },
    ];
    for (const c of cases) expect(await errorOf(c.call())).toMatchObject({ code: c.code, status: 400 });
  });

  it('answers an unknown action with InvalidAction and a missing one with MissingParameter', async () => {
    const unknown = await fetch(emu.ec2Url, { method: 'POST', body: new URLSearchParams({ Action: 'RunInstances', Version: '2016-11-15' }) });
    expect(unknown.status).toBe(400);
    const text = await unknown.text();
    expect(text).toContain('<Code>InvalidAction</Code>');
    expect(text).toMatch(/<RequestID>[0-9a-f-]{36}<\/RequestID>/);
    const missing = await fetch(emu.ec2Url, { method: 'POST', body: new URLSearchParams({ Version: '2016-11-15' }) });
    expect(await missing.text()).toContain('<Code>MissingParameter</Code>');
  });
});

describe('AWS emulator limits through the SDK', () => {
  it('enforces AttachmentLimitExceeded, device-index conflicts and subnet exhaustion', async () => {
    const emu = await startAwsEmulator({ vpcCidr: '10.1.0.0/16', subnets: [{ cidr: '10.1.0.0/28' }] });
    const ec2 = client(emu);
    try {
      const node = await emu.launchInstance({ instanceType: 't3.medium' });
      const subnetId = emu.subnets()[0]!.id;
      const make = async (): Promise<string> =>
        (await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetId }))).NetworkInterface!.NetworkInterfaceId!;
      const a = await make();
      const b = await make();
      const c = await make();
      await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: a, InstanceId: node.instanceId, DeviceIndex: 1 }));
      expect(await errorOf(ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: b, InstanceId: node.instanceId, DeviceIndex: 1 })))).toMatchObject({
        code: 'InvalidParameterValue',
      });
      await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: b, InstanceId: node.instanceId, DeviceIndex: 2 }));
      expect(await errorOf(ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: c, InstanceId: node.instanceId, DeviceIndex: 3 })))).toMatchObject({
        code: 'AttachmentLimitExceeded',
      });
      // 11 usable in a /28: primary + a + b + c use 4, so 7 are left.
      expect(emu.subnets()[0]!.free).toBe(7);
      await ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: a, SecondaryPrivateIpAddressCount: 5 }));
      expect(await errorOf(ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: b, SecondaryPrivateIpAddressCount: 3 })))).toMatchObject({
        code: 'InsufficientFreeAddressesInSubnet',
      });
      const all = await ec2.send(new DescribeNetworkInterfacesCommand({}));
      const addresses = all.NetworkInterfaces!.flatMap((e) => e.PrivateIpAddresses!.map((p) => p.PrivateIpAddress!));
      expect(new Set(addresses).size).toBe(addresses.length);
      expect(addresses).not.toContain('10.1.0.0');
      expect(addresses).not.toContain('10.1.0.3');
      expect(addresses).not.toContain('10.1.0.15');
    } finally {
      ec2.destroy();
      await emu.close();
    }
  });

  it('throttles with RequestLimitExceeded (HTTP 503) when enabled, and counts it', async () => {
    const now = 1_000_000;
    const emu = await startAwsEmulator({ throttling: true, clock: () => now });
    const ec2 = client(emu);
    try {
      await emu.launchInstance({ instanceType: 'm5.large' });
      const results = await Promise.allSettled(Array.from({ length: 55 }, () => ec2.send(new DescribeNetworkInterfacesCommand({}))));
      const rejected = results.filter((r) => r.status === 'rejected');
      expect(rejected).toHaveLength(5);
      const reason: unknown = rejected[0]?.status === 'rejected' ? rejected[0].reason : undefined;
      expect(reason).toBeInstanceOf(EC2ServiceException);
      expect((reason as EC2ServiceException).name).toBe('RequestLimitExceeded');
      expect((reason as EC2ServiceException).$metadata.httpStatusCode).toBe(503);
      expect(emu.throttledCounts()).toEqual({ DescribeNetworkInterfaces: 5 });
      expect(emu.callCounts()).toEqual({ DescribeNetworkInterfaces: 55 });
      // A filtered describe uses the other bucket, so it still goes through.
      await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'status', Values: ['in-use'] }] }));
      emu.resetCounts();
      expect(emu.callCounts()).toEqual({});
    } finally {
      ec2.destroy();
      await emu.close();
    }
  });

  it('delays only the configured action and answers DryRun with DryRunOperation', async () => {
    const emu = await startAwsEmulator({ latencyMs: { AssignPrivateIpAddresses: 300 } });
    const ec2 = client(emu);
    try {
      const node = await emu.launchInstance({ instanceType: 'm5.large' });
      const order: string[] = [];
      const slow = ec2
        .send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: node.primaryEni, SecondaryPrivateIpAddressCount: 1 }))
        .then(() => order.push('assign'));
      const fast = ec2.send(new DescribeSubnetsCommand({})).then(() => order.push('describe'));
      await Promise.all([slow, fast]);
      expect(order).toEqual(['describe', 'assign']);
      const dry = await errorOf(ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: node.primaryEni, DryRun: true })));
      expect(dry).toMatchObject({ code: 'DryRunOperation', status: 412 });
    } finally {
      ec2.destroy();
      await emu.close();
    }
  });
});
