import type { ImdsInterfaceView } from './ec2-model.js';

/** A metadata category: leaves are text, branches list their children. */
export interface MetadataTree {
  readonly [name: string]: string | MetadataTree;
}

export interface ImdsInstanceInfo {
  readonly instanceId: string;
  readonly instanceType: string;
  readonly imageId: string;
  readonly region: string;
  readonly availabilityZone: string;
  readonly availabilityZoneId: string;
  readonly accountId: string;
  readonly iamRole: string;
  readonly launchTime: number;
}

function hostname(region: string, ip: string): string {
  const domain = region === 'us-east-1' ? 'ec2.internal' : `${region}.compute.internal`;
  return `ip-${ip.replaceAll('.', '-')}.${domain}`;
}

function macTree(info: ImdsInstanceInfo, eni: ImdsInterfaceView): MetadataTree {
  return {
    'device-number': String(eni.deviceNumber),
    'interface-id': eni.interfaceId,
    ...((eni.ipv4Prefixes?.length ?? 0) > 0 ? { 'ipv4-prefix': (eni.ipv4Prefixes ?? []).join('\n') } : {}),
    'local-hostname': hostname(info.region, eni.localIpv4s[0] ?? ''),
    'local-ipv4s': eni.localIpv4s.join('\n'),
    mac: eni.mac,
    'owner-id': eni.ownerId,
    'security-group-ids': eni.securityGroupIds.join('\n'),
    'subnet-id': eni.subnetId,
    'subnet-ipv4-cidr-block': eni.subnetCidr,
    'vpc-id': eni.vpcId,
    'vpc-ipv4-cidr-block': eni.vpcCidr,
    'vpc-ipv4-cidr-blocks': eni.vpcCidr,
  };
}

/**
 * The `/latest/meta-data/` tree for one instance given its (possibly lagging) interface view and
 * the credentials document to serve for its role.
 */
export function metadataTree(info: ImdsInstanceInfo, interfaces: readonly ImdsInterfaceView[], credentials: string): MetadataTree {
  const primary = interfaces.find((i) => i.deviceNumber === 0) ?? interfaces[0];
  const primaryIp = primary?.localIpv4s[0] ?? '';
  const macs: Record<string, MetadataTree> = {};
  for (const eni of interfaces) macs[eni.mac] = macTree(info, eni);
  return {
    'ami-id': info.imageId,
    hostname: hostname(info.region, primaryIp),
    'instance-id': info.instanceId,
    'instance-type': info.instanceType,
    'local-hostname': hostname(info.region, primaryIp),
    'local-ipv4': primaryIp,
    mac: primary?.mac ?? '',
    placement: {
      'availability-zone': info.availabilityZone,
      'availability-zone-id': info.availabilityZoneId,
      region: info.region,
    },
    network: { interfaces: { macs } },
    iam: {
      info: JSON.stringify({
        Code: 'Success',
        LastUpdated: new Date(info.launchTime).toISOString(),
        InstanceProfileArn: `arn:aws:iam::${info.accountId}:instance-profile/${info.iamRole}`,
        InstanceProfileId: `AIPA${info.instanceId.slice(2, 19).toUpperCase()}`,
      }),
      'security-credentials': { [info.iamRole]: credentials },
    },
  };
}

export function identityDocument(info: ImdsInstanceInfo, primaryIp: string): string {
  return JSON.stringify(
    {
      accountId: info.accountId,
      architecture: 'x86_64',
      availabilityZone: info.availabilityZone,
      imageId: info.imageId,
      instanceId: info.instanceId,
      instanceType: info.instanceType,
      pendingTime: new Date(info.launchTime).toISOString(),
      privateIp: primaryIp,
      region: info.region,
      version: '2017-09-30',
    },
    null,
    2,
  );
}

/** Looks a `/`-separated path up; a branch answers with its listing (sub-branches end in `/`). */
export function lookup(tree: MetadataTree, path: string): string | undefined {
  const parts = path.split('/').filter((p) => p.length > 0);
  let node: string | MetadataTree = tree;
  for (const part of parts) {
    if (typeof node === 'string' || !Object.hasOwn(node, part)) return undefined;
    node = node[part]!;
  }
  if (typeof node === 'string') return node;
  return Object.entries(node)
    .map(([name, child]) => (typeof child === 'string' ? name : `${name}/`))
    .join('\n');
}
