import type { AddressAllocator } from '../shared/address-allocator.js';
import type { InstanceTypeInfo } from './instance-types.js';

/** Mutable records held by the state model. Never handed out of the emulator directly. */

export interface SubnetRecord {
  readonly id: string;
  readonly vpcId: string;
  readonly az: string;
  readonly azId: string;
  readonly allocator: AddressAllocator;
  readonly tags: Map<string, string>;
}

export type AttachmentStatus = 'attached' | 'detaching';

export interface AttachmentRecord {
  readonly id: string;
  readonly instanceId: string;
  readonly deviceIndex: number;
  readonly networkCardIndex: number;
  readonly attachTime: number;
  status: AttachmentStatus;
  deleteOnTermination: boolean;
  /** Clock time at which a detach completes; set when status is `detaching`. */
  detachCompletesAt: number | undefined;
}

export interface EniRecord {
  readonly id: string;
  readonly subnetId: string;
  readonly mac: string;
  readonly createdAt: number;
  description: string;
  securityGroups: string[];
  /** Primary address, as dotted text. */
  readonly primaryIp: string;
  /** Secondary addresses in the order they were assigned. */
  secondaryIps: string[];
  /** Delegated IPv4 prefixes (`10.0.0.16/28`) in the order they were assigned; each takes one address slot. */
  prefixes: string[];
  readonly tags: Map<string, string>;
  attachment: AttachmentRecord | undefined;
}

export type InstanceStateName = 'running' | 'terminated';

export interface InstanceRecord {
  readonly id: string;
  readonly reservationId: string;
  readonly type: InstanceTypeInfo;
  readonly subnetId: string;
  readonly az: string;
  readonly securityGroups: readonly string[];
  readonly launchTime: number;
  readonly imageId: string;
  readonly iamRole: string;
  readonly tags: Map<string, string>;
  state: InstanceStateName;
}

/** One interface as the instance's IMDS sees it. */
export interface ImdsInterfaceView {
  readonly mac: string;
  readonly interfaceId: string;
  readonly deviceNumber: number;
  readonly subnetId: string;
  readonly subnetCidr: string;
  readonly vpcId: string;
  readonly vpcCidr: string;
  /** Primary first, then secondaries in assignment order. */
  readonly localIpv4s: readonly string[];
  /** Delegated IPv4 prefixes (`ipv4-prefix`); absent means none. */
  readonly ipv4Prefixes?: readonly string[];
  readonly securityGroupIds: readonly string[];
  readonly ownerId: string;
}

/** Detached network interface as reported by {@link EmulatorTopology}. */
export interface TopologyDetachedInterface {
  readonly eniId: string;
  readonly mac: string;
  readonly subnetId: string;
  readonly subnetCidr: string;
  readonly gateway: string;
  readonly primaryIp: string;
  readonly secondaryIps: readonly string[];
  /** Delegated /28 prefixes: every address in them is the interface's too. */
  readonly prefixes: readonly string[];
  /** The interface's tags (who created it, for which instance), as DescribeNetworkInterfaces shows them. */
  readonly tags: Readonly<Record<string, string>>;
}

export interface TopologyInterface extends TopologyDetachedInterface {
  readonly deviceIndex: number;
  /** `detaching` while an asynchronous detach is in flight; the interface is still wired. */
  readonly attachmentStatus: AttachmentStatus;
  /** Whether the interface is deleted when the instance terminates (the attachment's DeleteOnTermination). */
  readonly deleteOnTermination: boolean;
}

/** The whole emulated network, for a test fabric that mirrors it with real interfaces. */
export interface EmulatorTopology {
  readonly vpcId: string;
  readonly vpcCidr: string;
  readonly instances: readonly {
    readonly instanceId: string;
    readonly instanceType: string;
    readonly subnetId: string;
    /** Attached interfaces sorted by device index. */
    readonly interfaces: readonly TopologyInterface[];
  }[];
  /** Interfaces that exist but are attached to nothing (status `available`). */
  readonly detachedInterfaces: readonly TopologyDetachedInterface[];
}
