import type { EmulatorTopology, EniRecord, ImdsInterfaceView, TopologyDetachedInterface } from './ec2-model.js';
import type { Ec2State } from './ec2-state.js';
import { intToIpv4 } from '../../core/ipv4.js';

/** An ENI's attachment as DescribeNetworkInterfaces answers it. */
export interface Ec2AttachmentView {
  readonly attachmentId: string;
  readonly deviceIndex: number;
  /** `attached`, or `detaching` while an asynchronous detach runs. */
  readonly status: string;
  readonly instanceId: string;
  readonly deleteOnTermination: boolean;
}

/** One ENI as DescribeNetworkInterfaces answers it, in camelCase: the in-process backend's answer (ec2-backend.ts). */
export interface Ec2InterfaceView {
  readonly id: string;
  /** Lower case, colon separated. */
  readonly mac: string;
  readonly subnetId: string;
  readonly primaryIp: string;
  readonly secondaryIps: readonly string[];
  readonly prefixes: readonly string[];
  /** `available` or `in-use`. */
  readonly status: string;
  readonly attachment: Ec2AttachmentView | undefined;
  readonly tags: ReadonlyMap<string, string>;
}

/** One instance type as DescribeInstanceTypes answers it, reduced to what the backend gives. */
export interface Ec2InstanceTypeView {
  readonly name: string;
  /** Undefined where the instance-type data has no vCPU count. */
  readonly vcpus: number | undefined;
  readonly maxInterfaces: number;
  readonly ipv4PerInterface: number;
}

/** An ENI of the state as DescribeNetworkInterfaces shows it: a copy, so later changes to the state do not show through. */
export function interfaceView(eni: EniRecord): Ec2InterfaceView {
  const a = eni.attachment;
  return {
    id: eni.id,
    mac: eni.mac,
    subnetId: eni.subnetId,
    primaryIp: eni.primaryIp,
    secondaryIps: [...eni.secondaryIps],
    prefixes: [...eni.prefixes],
    status: a === undefined ? 'available' : 'in-use',
    attachment: a === undefined ? undefined : { attachmentId: a.id, deviceIndex: a.deviceIndex, status: a.status, instanceId: a.instanceId, deleteOnTermination: a.deleteOnTermination },
    tags: new Map(eni.tags),
  };
}

/** An instance's interfaces as its IMDS shows them, by device number. */
export function imdsInterfaces(state: Ec2State, instanceId: string): ImdsInterfaceView[] {
  return state.attachedTo(instanceId).map((eni) => {
    const subnet = state.subnet(eni.subnetId);
    return {
      mac: eni.mac,
      interfaceId: eni.id,
      deviceNumber: eni.attachment?.deviceIndex ?? 0,
      subnetId: subnet.id,
      subnetCidr: subnet.allocator.cidr.text,
      vpcId: state.vpcId,
      vpcCidr: state.vpcCidr.text,
      localIpv4s: [eni.primaryIp, ...eni.secondaryIps],
      ipv4Prefixes: [...eni.prefixes],
      securityGroupIds: [...eni.securityGroups],
      ownerId: state.accountId,
    };
  });
}

function detachedView(state: Ec2State, eni: EniRecord): TopologyDetachedInterface {
  const subnet = state.subnet(eni.subnetId);
  return {
    eniId: eni.id,
    mac: eni.mac,
    subnetId: subnet.id,
    subnetCidr: subnet.allocator.cidr.text,
    gateway: intToIpv4(subnet.allocator.gateway),
    primaryIp: eni.primaryIp,
    secondaryIps: [...eni.secondaryIps],
    prefixes: [...eni.prefixes],
    tags: Object.fromEntries(eni.tags),
  };
}

/** The current truth: every running instance with its wired interfaces, and loose interfaces. */
export function topology(state: Ec2State): EmulatorTopology {
  const instances = state
    .instances()
    .filter((i) => i.state === 'running')
    .map((instance) => ({
      instanceId: instance.id,
      instanceType: instance.type.name,
      subnetId: instance.subnetId,
      interfaces: state.attachedTo(instance.id).map((eni) => ({
        ...detachedView(state, eni),
        deviceIndex: eni.attachment?.deviceIndex ?? 0,
        attachmentStatus: eni.attachment?.status ?? 'attached',
        deleteOnTermination: eni.attachment?.deleteOnTermination ?? false,
      })),
    }));
  const detachedInterfaces = state
    .networkInterfaces()
    .filter((eni) => eni.attachment === undefined)
    .map((eni) => detachedView(state, eni));
  return { vpcId: state.vpcId, vpcCidr: state.vpcCidr.text, instances, detachedInterfaces };
}
