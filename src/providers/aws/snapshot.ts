/** Pure assembly of the {@link NodeSnapshot} from IMDS facts and EC2's view of the ENIs. */
import { CloudError, type CloudInterface, type InterfaceLimits, type NodeSnapshot } from '../../core/types.js';
import type { EniRecord } from './ec2-records.js';
import { isAdoptableFromVpcCni, isManaged } from './tags.js';

export interface SnapshotInput {
  readonly instanceId: string;
  readonly instanceType: string;
  /** IMDS `local-ipv4`; used only if EC2 shows no primary interface. */
  readonly localIpv4: string;
  readonly vpcCidrs: readonly string[];
  readonly limits: InterfaceLimits;
  /** ENIs EC2 reports for the instance (`attachment.instance-id` filter). */
  readonly enis: readonly EniRecord[];
  /** Subnet id → IPv4 CIDR, for every subnet an attached ENI is in. */
  readonly subnetCidrs: ReadonlyMap<string, string>;
}

const GONE_ATTACHMENT_STATES: ReadonlySet<string> = new Set(['detaching', 'detached']);

/** ENIs attached (or attaching) to the instance, sorted by device index. */
export function attachedEnis(enis: readonly EniRecord[], instanceId: string): EniRecord[] {
  return enis
    .filter((eni) => {
      const attachment = eni.attachment;
      if (attachment === undefined || GONE_ATTACHMENT_STATES.has(attachment.status)) return false;
      return attachment.instanceId === undefined || attachment.instanceId === instanceId;
    })
    .sort((a, b) => (a.attachment?.deviceIndex ?? 0) - (b.attachment?.deviceIndex ?? 0));
}

/** Subnets of attached ENIs whose CIDR is not in `known`. */
export function missingSubnets(enis: readonly EniRecord[], known: ReadonlyMap<string, string>): string[] {
  const missing = new Set<string>();
  for (const eni of enis) if (!known.has(eni.subnetId)) missing.add(eni.subnetId);
  return [...missing].sort();
}

/**
 * True when the attached ENI is one the AWS VPC CNI made for this instance to hold pods'
 * addresses, which nativeip adopts (isAdoptableFromVpcCni): not the primary, and a plain
 * interface (never a trunk, branch or EFA interface, whatever its tags).
 */
export function adoptsEni(eni: EniRecord, instanceId: string): boolean {
  const deviceIndex = eni.attachment?.deviceIndex ?? 0;
  return deviceIndex > 0 && (eni.interfaceType === undefined || eni.interfaceType === 'interface') && isAdoptableFromVpcCni(eni.tags, instanceId);
}

/**
 * The ENI as the pool sees it. `instanceId` given: an ENI the AWS VPC CNI made for this instance is
 * adopted (`pooled`, see adoptsEni).
 */
export function toCloudInterface(eni: EniRecord, deviceIndex: number, subnetCidr: string, instanceId?: string): CloudInterface {
  const adopted = instanceId !== undefined && adoptsEni(eni, instanceId);
  return {
    id: eni.id,
    mac: eni.mac,
    deviceIndex,
    subnetId: eni.subnetId,
    subnetCidr,
    primaryIp: eni.primaryIp,
    secondaryIps: eni.secondaryIps.filter((ip) => ip !== eni.primaryIp),
    ...(eni.prefixes.length > 0 ? { prefixes: [...eni.prefixes] } : {}),
    managed: isManaged(eni.tags),
    ...(adopted ? { pooled: true } : {}),
  };
}

export function buildSnapshot(input: SnapshotInput): NodeSnapshot {
  const interfaces = attachedEnis(input.enis, input.instanceId).map((eni) => {
    const subnetCidr = input.subnetCidrs.get(eni.subnetId);
    if (subnetCidr === undefined) {
      throw new CloudError('Transient', `no CIDR known for subnet ${eni.subnetId} of ${eni.id}`);
    }
    return toCloudInterface(eni, eni.attachment?.deviceIndex ?? 0, subnetCidr, input.instanceId);
  });
  const primary = interfaces.find((eni) => eni.deviceIndex === 0);
  return {
    instanceId: input.instanceId,
    instanceType: input.instanceType,
    primaryIp: primary?.primaryIp ?? input.localIpv4,
    vpcCidrs: [...input.vpcCidrs],
    limits: input.limits,
    interfaces,
  };
}

/** The configured ENI cap (MAX_ENI) applied to the instance type's limits. */
export function capLimits(limits: InterfaceLimits, maxInterfaces: number | undefined): InterfaceLimits {
  if (maxInterfaces === undefined || maxInterfaces >= limits.maxInterfaces) return limits;
  return { ...limits, maxInterfaces: Math.max(1, maxInterfaces) };
}

/** The lowest device index not in use below the limit, or undefined when every slot is taken. */
export function nextFreeDeviceIndex(
  interfaces: readonly Pick<CloudInterface, 'deviceIndex'>[],
  maxInterfaces: number,
): number | undefined {
  const used = new Set(interfaces.map((eni) => eni.deviceIndex));
  for (let index = 0; index < maxInterfaces; index += 1) if (!used.has(index)) return index;
  return undefined;
}
