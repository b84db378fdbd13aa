import type { NetworkInterface } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { CloudError } from '../../src/core/types.js';
import {
  decodeAssignedAddresses,
  decodeInstanceLimits,
  decodeNetworkInterface,
  type EniRecord,
} from '../../src/providers/aws/ec2-records.js';
import { attachedEnis, buildSnapshot, capLimits, missingSubnets, nextFreeDeviceIndex } from '../../src/providers/aws/snapshot.js';
import { interfaceTags, isManaged } from '../../src/providers/aws/tags.js';

function sdkEni(options: {
  id: string;
  mac: string;
  subnet: string;
  primary: string;
  secondaries: string[];
  device?: number;
  attachmentStatus?: string;
  instance?: string;
  tags?: Record<string, string>;
}): NetworkInterface {
  return {
    NetworkInterfaceId: options.id,
    MacAddress: options.mac,
    SubnetId: options.subnet,
    PrivateIpAddress: options.primary,
    Status: options.device === undefined ? 'available' : 'in-use',
    PrivateIpAddresses: [
      { PrivateIpAddress: options.primary, Primary: true },
      ...options.secondaries.map((ip) => ({ PrivateIpAddress: ip, Primary: false })),
    ],
    TagSet: Object.entries(options.tags ?? {}).map(([Key, Value]) => ({ Key, Value })),
    ...(options.device === undefined
      ? {}
      : {
          Attachment: {
            AttachmentId: `eni-attach-${options.id}`,
            DeviceIndex: options.device,
            Status: options.attachmentStatus ?? 'attached',
            InstanceId: options.instance ?? 'i-1',
          },
        }),
  } as NetworkInterface;
}

const decode = (eni: NetworkInterface): EniRecord => decodeNetworkInterface(eni, 'DescribeNetworkInterfaces');

describe('decodeNetworkInterface', () => {
  it('splits primary and secondary addresses, lower-cases the MAC and reads tags and attachment', () => {
    const record = decode(
      sdkEni({
        id: 'eni-a',
        mac: '0A:1B:2C:3D:4E:5F',
        subnet: 'subnet-1',
        primary: '10.0.1.10',
        secondaries: ['10.0.1.11', '10.0.1.12'],
        device: 2,
        tags: { 'nativeip.io/managed': 'true' },
      }),
    );
    expect(record).toMatchObject({
      id: 'eni-a',
      mac: '0a:1b:2c:3d:4e:5f',
      subnetId: 'subnet-1',
      primaryIp: '10.0.1.10',
      secondaryIps: ['10.0.1.11', '10.0.1.12'],
      attachment: { attachmentId: 'eni-attach-eni-a', deviceIndex: 2, status: 'attached', instanceId: 'i-1' },
    });
    expect(isManaged(record.tags)).toBe(true);
  });

  it.each([
    [{ NetworkInterfaceId: undefined }, /without NetworkInterfaceId/],
    [{ PrivateIpAddress: undefined }, /has no PrivateIpAddress/],
    [{ MacAddress: undefined }, /has no MacAddress/],
    [{ SubnetId: undefined }, /has no SubnetId/],
  ])('rejects an interface missing %o', (patch, message) => {
    const eni = { ...sdkEni({ id: 'eni-a', mac: 'aa', subnet: 's', primary: '10.0.0.1', secondaries: [] }), ...patch };
    expect(() => decode(eni)).toThrow(CloudError);
    expect(() => decode(eni)).toThrow(message);
  });
});

describe('decodeInstanceLimits', () => {
  it('reads ENI and address limits', () => {
    const info = { InstanceType: 'm5.large', NetworkInfo: { MaximumNetworkInterfaces: 3, Ipv4AddressesPerInterface: 10 } } as const;
    expect(decodeInstanceLimits(info, 'm5.large')).toEqual({ maxInterfaces: 3, ipv4PerInterface: 10 });
  });
  it('says NotFound for an unknown type and Transient for a malformed answer', () => {
    expect(() => decodeInstanceLimits(undefined, 'x9.huge')).toThrow(/x9.huge not found/);
    expect(() => decodeInstanceLimits({ NetworkInfo: {} }, 'm5.large')).toThrow(/MaximumNetworkInterfaces/);
  });
});

describe('decodeAssignedAddresses', () => {
  it('keeps order, drops empties and duplicates', () => {
    expect(
      decodeAssignedAddresses([
        { PrivateIpAddress: '10.0.0.5' },
        { PrivateIpAddress: '' },
        {},
        { PrivateIpAddress: '10.0.0.4' },
        { PrivateIpAddress: '10.0.0.5' },
      ]),
    ).toEqual(['10.0.0.5', '10.0.0.4']);
    expect(decodeAssignedAddresses(undefined)).toEqual([]);
  });
});

describe('buildSnapshot', () => {
  const primary = decode(
    sdkEni({ id: 'eni-p', mac: '02:00:00:00:00:01', subnet: 'subnet-1', primary: '10.0.1.10', secondaries: ['10.0.1.20'], device: 0 }),
  );
  const second = decode(
    sdkEni({
      id: 'eni-s',
      mac: '02:00:00:00:00:02',
      subnet: 'subnet-2',
      primary: '10.0.2.10',
      secondaries: ['10.0.2.11'],
      device: 1,
      tags: { 'nativeip.io/managed': 'true' },
    }),
  );
  const detaching = decode(
    sdkEni({ id: 'eni-d', mac: '02:00:00:00:00:03', subnet: 'subnet-1', primary: '10.0.1.30', secondaries: [], device: 2, attachmentStatus: 'detaching' }),
  );
  const loose = decode(sdkEni({ id: 'eni-l', mac: '02:00:00:00:00:04', subnet: 'subnet-1', primary: '10.0.1.40', secondaries: [] }));
  const input = {
    instanceId: 'i-1',
    instanceType: 'm5.large',
    localIpv4: '10.0.1.10',
    vpcCidrs: ['10.0.0.0/16'],
    limits: { maxInterfaces: 3, ipv4PerInterface: 10 },
    subnetCidrs: new Map([
      ['subnet-1', '10.0.1.0/24'],
      ['subnet-2', '10.0.2.0/24'],
    ]),
  };

  it('adopts (pooled, not managed) an attached ENI the AWS VPC CNI made for this instance, and only such', () => {
    const vpcCni = (id: string, device: number, tags: Record<string, string>) =>
      decode(sdkEni({ id, mac: `02:00:00:00:01:0${device}`, subnet: 'subnet-1', primary: `10.0.1.${50 + device}`, secondaries: [], device, tags }));
    const owner = { 'node.k8s.amazonaws.com/instance_id': 'i-1', 'node.k8s.amazonaws.com/createdAt': '2026-12-01T00:00:00Z' };
    const snapshot = buildSnapshot({
      ...input,
      limits: { maxInterfaces: 7, ipv4PerInterface: 10 },
      enis: [
        primary,
        vpcCni('eni-aws', 1, owner),
        vpcCni('eni-other', 2, { ...owner, 'node.k8s.amazonaws.com/instance_id': 'i-2' }),
        vpcCni('eni-optout', 3, { ...owner, 'node.k8s.amazonaws.com/no_manage': 'true' }),
        vpcCni('eni-untagged', 4, {}),
        vpcCni('eni-ours', 5, { ...owner, 'nativeip.io/managed': 'true' }),
        decode({ ...sdkEni({ id: 'eni-trunk', mac: '02:00:00:00:01:06', subnet: 'subnet-1', primary: '10.0.1.56', secondaries: [], device: 6, tags: owner }), InterfaceType: 'trunk' }),
      ],
    });
    const view = snapshot.interfaces.map((i) => ({ id: i.id, managed: i.managed, pooled: i.pooled === true }));
    expect(view).toEqual([
      { id: 'eni-p', managed: false, pooled: false },
      { id: 'eni-aws', managed: false, pooled: true },
      { id: 'eni-other', managed: false, pooled: false },
      { id: 'eni-optout', managed: false, pooled: false },
      { id: 'eni-untagged', managed: false, pooled: false },
      { id: 'eni-ours', managed: true, pooled: false },
      { id: 'eni-trunk', managed: false, pooled: false },
    ]);
  });

  it('lists attached ENIs sorted by device index with their subnet CIDRs and ownership', () => {
    const snapshot = buildSnapshot({ ...input, enis: [detaching, second, loose, primary] });
    expect(snapshot).toEqual({
      instanceId: 'i-1',
      instanceType: 'm5.large',
      primaryIp: '10.0.1.10',
      vpcCidrs: ['10.0.0.0/16'],
      limits: { maxInterfaces: 3, ipv4PerInterface: 10 },
      interfaces: [
        {
          id: 'eni-p',
          mac: '02:00:00:00:00:01',
          deviceIndex: 0,
          subnetId: 'subnet-1',
          subnetCidr: '10.0.1.0/24',
          primaryIp: '10.0.1.10',
          secondaryIps: ['10.0.1.20'],
          managed: false,
        },
        {
          id: 'eni-s',
          mac: '02:00:00:00:00:02',
          deviceIndex: 1,
          subnetId: 'subnet-2',
          subnetCidr: '10.0.2.0/24',
          primaryIp: '10.0.2.10',
          secondaryIps: ['10.0.2.11'],
          managed: true,
        },
      ],
    });
  });

  it('falls back to IMDS local-ipv4 when EC2 shows no primary ENI', () => {
    expect(buildSnapshot({ ...input, localIpv4: '10.0.1.99', enis: [second] }).primaryIp).toBe('10.0.1.99');
  });

  it('refuses to guess a subnet CIDR it does not know', () => {
    expect(() => buildSnapshot({ ...input, subnetCidrs: new Map(), enis: [primary] })).toThrow(/no CIDR known for subnet subnet-1/);
  });

  it('ignores ENIs attached to another instance', () => {
    const other = decode(
      sdkEni({ id: 'eni-o', mac: '02:00:00:00:00:09', subnet: 'subnet-1', primary: '10.0.1.90', secondaries: [], device: 1, instance: 'i-2' }),
    );
    expect(attachedEnis([primary, other], 'i-1').map((eni) => eni.id)).toEqual(['eni-p']);
  });

  it('reports subnets without a known CIDR', () => {
    expect(missingSubnets([primary, second], new Map([['subnet-1', '10.0.1.0/24']]))).toEqual(['subnet-2']);
  });
});

describe('nextFreeDeviceIndex', () => {
  it.each([
    [[0], 3, 1],
    [[0, 1], 3, 2],
    [[0, 2], 3, 1],
    [[0, 1, 2], 3, undefined],
    [[0, 1], 2, undefined],
  ])('used %j, max %i → %s', (used, max, expected) => {
    expect(nextFreeDeviceIndex(used.map((deviceIndex) => ({ deviceIndex })), max)).toBe(expected);
  });
});

describe('capLimits', () => {
  const limits = { maxInterfaces: 4, ipv4PerInterface: 15 };
  it.each([
    [undefined, 4],
    [2, 2],
    [8, 4],
    [0, 1],
  ])('maxEnis %s → %i interfaces', (cap, expected) => {
    expect(capLimits(limits, cap)).toEqual({ maxInterfaces: expected, ipv4PerInterface: 15 });
  });
});

describe('interfaceTags', () => {
  it('writes the VPC CNI tags and ours, the cluster only when set', () => {
    const createdAt = new Date('2026-11-22T08:00:00.000Z');
    expect(interfaceTags({ instanceId: 'i-1', createdAt, clusterName: 'prod' })).toEqual([
      { key: 'node.k8s.amazonaws.com/instance_id', value: 'i-1' },
      { key: 'node.k8s.amazonaws.com/createdAt', value: '2026-11-22T08:00:00.000Z' },
      { key: 'cluster.k8s.amazonaws.com/name', value: 'prod' },
      { key: 'nativeip.io/managed', value: 'true' },
    ]);
    expect(interfaceTags({ instanceId: 'i-1', createdAt }).map((tag) => tag.key)).not.toContain('cluster.k8s.amazonaws.com/name');
  });
});
