import type { EniRecord, InstanceRecord, SubnetRecord } from './ec2-model.js';
import type { FilterFields } from './ec2-filters.js';
import { applyFilters } from './ec2-filters.js';
import type { Ec2State } from './ec2-state.js';
import { Ec2ApiError, invalidParameterValue } from './errors.js';
import type { InstanceTypeInfo } from './instance-types.js';
import type { Ec2Filter } from './query-params.js';

export interface DescribeRequest {
  readonly ids: readonly string[];
  readonly filters: readonly Ec2Filter[];
  readonly maxResults: number | undefined;
  readonly nextToken: string | undefined;
}

export interface Page<T> {
  readonly items: T[];
  readonly nextToken: string | undefined;
}

/** Opaque to clients; encodes the action and the offset of the next item. */
function paginate<T>(action: string, items: T[], req: DescribeRequest): Page<T> {
  let offset = 0;
  if (req.nextToken !== undefined) {
    const decoded = Buffer.from(req.nextToken, 'base64url').toString('utf8');
    const match = /^(\w+):(\d+)$/.exec(decoded);
    if (match === null || match[1] !== action) throw invalidParameterValue(`Invalid value '${req.nextToken}' for nextToken`);
    offset = Number(match[2]);
  }
  if (req.maxResults === undefined) return { items: items.slice(offset), nextToken: undefined };
  const end = offset + req.maxResults;
  const nextToken = end < items.length ? Buffer.from(`${action}:${end}`).toString('base64url') : undefined;
  return { items: items.slice(offset, end), nextToken };
}

function rejectIdsWithPaging(req: DescribeRequest, idParam: string): void {
  if (req.ids.length > 0 && req.maxResults !== undefined) {
    throw new Ec2ApiError('InvalidParameterCombination', `The parameter ${idParam} cannot be used with the parameter MaxResults`);
  }
}

const list = (v: string | number | boolean | undefined): string[] => (v === undefined ? [] : [String(v)]);

/** `hidden`: ENIs left out of a describe without ids (injected eventual consistency). */
export function describeNetworkInterfaces(state: Ec2State, req: DescribeRequest, hidden?: ReadonlySet<string>): Page<EniRecord> {
  rejectIdsWithPaging(req, 'NetworkInterfaceIds');
  const all = hidden === undefined ? state.networkInterfaces() : state.networkInterfaces().filter((e) => !hidden.has(e.id));
  const selected = req.ids.length > 0 ? req.ids.map((id) => state.eni(id)) : all;
  const fields: FilterFields<EniRecord> = {
    'network-interface-id': (e) => [e.id],
    'subnet-id': (e) => [e.subnetId],
    'vpc-id': () => [state.vpcId],
    'availability-zone': (e) => [state.subnet(e.subnetId).az],
    status: (e) => [e.attachment === undefined ? 'available' : 'in-use'],
    description: (e) => [e.description],
    'mac-address': (e) => [e.mac],
    'private-ip-address': (e) => [e.primaryIp, ...e.secondaryIps],
    'addresses.private-ip-address': (e) => [e.primaryIp, ...e.secondaryIps],
    'group-id': (e) => e.securityGroups,
    'owner-id': () => [state.accountId],
    'interface-type': () => ['interface'],
    'requester-managed': () => ['false'],
    'source-dest-check': () => ['true'],
    'attachment.instance-id': (e) => list(e.attachment?.instanceId),
    'attachment.attachment-id': (e) => list(e.attachment?.id),
    'attachment.status': (e) => list(e.attachment?.status),
    'attachment.device-index': (e) => list(e.attachment?.deviceIndex),
    'attachment.delete-on-termination': (e) => list(e.attachment?.deleteOnTermination),
  };
  return paginate('DescribeNetworkInterfaces', applyFilters(selected, req.filters, fields, (e) => e.tags), req);
}

export function describeInstances(state: Ec2State, req: DescribeRequest): Page<InstanceRecord> {
  rejectIdsWithPaging(req, 'InstanceIds');
  const selected = req.ids.length > 0 ? req.ids.map((id) => state.instance(id)) : state.instances();
  const enisOf = (i: InstanceRecord): EniRecord[] => state.attachedTo(i.id);
  const fields: FilterFields<InstanceRecord> = {
    'instance-id': (i) => [i.id],
    'instance-type': (i) => [i.type.name],
    'instance-state-name': (i) => [i.state],
    'subnet-id': (i) => [i.subnetId],
    'vpc-id': () => [state.vpcId],
    'availability-zone': (i) => [i.az],
    'reservation-id': (i) => [i.reservationId],
    'private-ip-address': (i) => list(enisOf(i)[0]?.primaryIp),
    'network-interface.network-interface-id': (i) => enisOf(i).map((e) => e.id),
    'network-interface.addresses.private-ip-address': (i) => enisOf(i).flatMap((e) => [e.primaryIp, ...e.secondaryIps]),
  };
  return paginate('DescribeInstances', applyFilters(selected, req.filters, fields, (i) => i.tags), req);
}

export function describeSubnets(state: Ec2State, req: DescribeRequest): Page<SubnetRecord> {
  const selected = req.ids.length > 0 ? req.ids.map((id) => state.subnet(id)) : state.subnetRecords();
  const fields: FilterFields<SubnetRecord> = {
    'subnet-id': (s) => [s.id],
    'vpc-id': (s) => [s.vpcId],
    'cidr-block': (s) => [s.allocator.cidr.text],
    cidr: (s) => [s.allocator.cidr.text],
    'availability-zone': (s) => [s.az],
    'availability-zone-id': (s) => [s.azId],
    state: () => ['available'],
    'default-for-az': () => ['false'],
    'owner-id': () => [state.accountId],
  };
  return paginate('DescribeSubnets', applyFilters(selected, req.filters, fields, (s) => s.tags), req);
}

export function describeInstanceTypes(state: Ec2State, req: DescribeRequest): Page<InstanceTypeInfo> {
  const unknown = req.ids.filter((name) => !state.instanceTypes.has(name));
  if (unknown.length > 0) {
    throw new Ec2ApiError('InvalidInstanceType', `The following supplied instance types do not exist: [${unknown.join(', ')}]`);
  }
  const selected = req.ids.length > 0 ? req.ids.map((name) => state.instanceType(name)) : [...state.instanceTypes.values()];
  const fields: FilterFields<InstanceTypeInfo> = {
    'instance-type': (t) => [t.name],
    'current-generation': () => ['true'],
    'burstable-performance-supported': (t) => [String(t.burstable)],
    'vcpu-info.default-vcpus': (t) => (t.vcpus === undefined ? [] : [String(t.vcpus)]),
    'memory-info.size-in-mib': (t) => (t.memoryMiB === undefined ? [] : [String(t.memoryMiB)]),
    'bare-metal': (t) => [String(t.bareMetal)],
    hypervisor: (t) => (t.hypervisor === undefined ? [] : [t.hypervisor]),
    'network-info.maximum-network-interfaces': (t) => [String(t.maxInterfaces)],
    'network-info.ipv4-addresses-per-interface': (t) => [String(t.ipv4PerInterface)],
    'network-info.ipv6-supported': () => ['true'],
  };
  return paginate('DescribeInstanceTypes', applyFilters(selected, req.filters, fields, () => new Map()), req);
}
