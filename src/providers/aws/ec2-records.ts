/**
 * Plain records for what the provider reads from EC2, and the pure decoders that build them from
 * SDK output. SDK types stop here: everything past this file sees only these records.
 */
import type { InstanceTypeInfo, NetworkInterface } from '@aws-sdk/client-ec2';
import { CloudError, type InterfaceLimits } from '../../core/types.js';

export interface AttachmentRecord {
  readonly attachmentId: string;
  readonly deviceIndex: number;
  /** `attaching`, `attached`, `detaching` or `detached`. */
  readonly status: string;
  readonly instanceId: string | undefined;
  /** As EC2 reports it; absent when the answer did not say. */
  readonly deleteOnTermination?: boolean;
}

export interface EniRecord {
  readonly id: string;
  /** Lower-case, colon separated. */
  readonly mac: string;
  readonly subnetId: string;
  readonly primaryIp: string;
  readonly secondaryIps: readonly string[];
  /** Delegated IPv4 prefixes (`10.0.0.16/28`). */
  readonly prefixes: readonly string[];
  /** `available`, `in-use`, `attaching`, `detaching`, … */
  readonly status: string;
  readonly attachment: AttachmentRecord | undefined;
  readonly tags: ReadonlyMap<string, string>;
  /** EC2's InterfaceType (`interface`, `trunk`, `branch`, `efa`…); absent when EC2 does not say. */
  readonly interfaceType?: string;
}

function malformed(action: string, detail: string): CloudError {
  return new CloudError('Transient', `malformed ${action} response: ${detail}`);
}

function required<T>(value: T | undefined | null, action: string, detail: string): T {
  if (value === undefined || value === null || value === '') throw malformed(action, detail);
  return value;
}

/** Builds an {@link EniRecord} from one `NetworkInterface` of an EC2 response. */
export function decodeNetworkInterface(eni: NetworkInterface, action: string): EniRecord {
  const id = required(eni.NetworkInterfaceId, action, 'interface without NetworkInterfaceId');
  const primaryIp = required(eni.PrivateIpAddress, action, `${id} has no PrivateIpAddress`);
  const secondaryIps: string[] = [];
  for (const address of eni.PrivateIpAddresses ?? []) {
    const ip = address.PrivateIpAddress;
    if (ip === undefined || ip === primaryIp || address.Primary === true) continue;
    if (!secondaryIps.includes(ip)) secondaryIps.push(ip);
  }
  const prefixes: string[] = [];
  for (const entry of eni.Ipv4Prefixes ?? []) {
    if (entry.Ipv4Prefix !== undefined && entry.Ipv4Prefix !== '' && !prefixes.includes(entry.Ipv4Prefix)) prefixes.push(entry.Ipv4Prefix);
  }
  const tags = new Map<string, string>();
  for (const tag of eni.TagSet ?? []) {
    if (tag.Key !== undefined) tags.set(tag.Key, tag.Value ?? '');
  }
  const raw = eni.Attachment;
  let attachment: AttachmentRecord | undefined;
  if (raw?.AttachmentId !== undefined && raw.DeviceIndex !== undefined) {
    attachment = {
      attachmentId: raw.AttachmentId,
      deviceIndex: raw.DeviceIndex,
      status: raw.Status ?? 'attached',
      instanceId: raw.InstanceId,
      ...(raw.DeleteOnTermination === undefined ? {} : { deleteOnTermination: raw.DeleteOnTermination }),
    };
  }
  return {
    id,
    mac: required(eni.MacAddress, action, `${id} has no MacAddress`).toLowerCase(),
    subnetId: required(eni.SubnetId, action, `${id} has no SubnetId`),
    primaryIp,
    secondaryIps,
    prefixes,
    status: eni.Status ?? 'unknown',
    attachment,
    tags,
    ...(eni.InterfaceType === undefined ? {} : { interfaceType: eni.InterfaceType }),
  };
}

/** Reads the ENI limits of an instance type from `DescribeInstanceTypes`. */
export function decodeInstanceLimits(info: InstanceTypeInfo | undefined, instanceType: string): InterfaceLimits {
  const action = 'DescribeInstanceTypes';
  if (info === undefined) throw new CloudError('NotFound', `${action}: instance type ${instanceType} not found`);
  const network = required(info.NetworkInfo, action, `${instanceType} has no NetworkInfo`);
  const maxInterfaces = required(network.MaximumNetworkInterfaces, action, `${instanceType} has no MaximumNetworkInterfaces`);
  const ipv4PerInterface = required(
    network.Ipv4AddressesPerInterface,
    action,
    `${instanceType} has no Ipv4AddressesPerInterface`,
  );
  const vcpus = info.VCpuInfo?.DefaultVCpus;
  return vcpus === undefined ? { maxInterfaces, ipv4PerInterface } : { maxInterfaces, ipv4PerInterface, vcpus };
}

/** Delegated prefixes from an `AssignPrivateIpAddresses` answer, in answer order, without duplicates. */
export function decodeAssignedPrefixes(assigned: readonly { Ipv4Prefix?: string | undefined }[] | undefined): string[] {
  const out: string[] = [];
  for (const entry of assigned ?? []) {
    const prefix = entry.Ipv4Prefix;
    if (prefix !== undefined && prefix !== '' && !out.includes(prefix)) out.push(prefix);
  }
  return out;
}

/** New addresses from an `AssignPrivateIpAddresses` answer, in answer order, without duplicates. */
export function decodeAssignedAddresses(
  assigned: readonly { PrivateIpAddress?: string | undefined }[] | undefined,
): string[] {
  const out: string[] = [];
  for (const entry of assigned ?? []) {
    const ip = entry.PrivateIpAddress;
    if (ip !== undefined && ip !== '' && !out.includes(ip)) out.push(ip);
  }
  return out;
}
