import type { EniRecord, InstanceRecord, SubnetRecord } from './ec2-model.js';
import type { Ec2State } from './ec2-state.js';
import type { InstanceTypeInfo } from './instance-types.js';
import type { XmlFragment } from './xml.js';
import { el, isoTime, leaf, set } from './xml.js';

function tagSet(tags: ReadonlyMap<string, string>): XmlFragment {
  return set(
    'tagSet',
    [...tags.entries()].map(([key, value]) => [leaf('key', key), leaf('value', value)]),
  );
}

function privateDnsName(state: Ec2State, ip: string): string {
  const domain = state.region === 'us-east-1' ? 'ec2.internal' : `${state.region}.compute.internal`;
  return `ip-${ip.replaceAll('.', '-')}.${domain}`;
}

function groupSet(groups: readonly string[]): XmlFragment {
  return set(
    'groupSet',
    groups.map((id) => [leaf('groupId', id), leaf('groupName', id.endsWith('default') ? 'default' : id)]),
  );
}

function privateIpSet(state: Ec2State, eni: EniRecord): XmlFragment {
  return set(
    'privateIpAddressesSet',
    [eni.primaryIp, ...eni.secondaryIps].map((ip, i) => [
      leaf('privateIpAddress', ip),
      leaf('privateDnsName', privateDnsName(state, ip)),
      leaf('primary', i === 0),
    ]),
  );
}

/** Fields shared by `NetworkInterface` and `InstanceNetworkInterface`. */
function eniCommon(state: Ec2State, eni: EniRecord): XmlFragment[] {
  return [
    leaf('networkInterfaceId', eni.id),
    leaf('subnetId', eni.subnetId),
    leaf('vpcId', state.vpcId),
    leaf('description', eni.description),
    leaf('ownerId', state.accountId),
    leaf('status', eni.attachment === undefined ? 'available' : 'in-use'),
    leaf('macAddress', eni.mac),
    leaf('privateIpAddress', eni.primaryIp),
    leaf('privateDnsName', privateDnsName(state, eni.primaryIp)),
    leaf('sourceDestCheck', true),
    leaf('interfaceType', 'interface'),
    groupSet(eni.securityGroups),
    privateIpSet(state, eni),
    set('ipv6AddressesSet', []),
    set('ipv4PrefixSet', eni.prefixes.map((prefix) => [leaf('ipv4Prefix', prefix)])),
  ];
}

export function renderNetworkInterface(state: Ec2State, eni: EniRecord): XmlFragment[] {
  const subnet = state.subnet(eni.subnetId);
  const a = eni.attachment;
  return [
    ...eniCommon(state, eni),
    leaf('availabilityZone', subnet.az),
    leaf('availabilityZoneId', subnet.azId),
    leaf('requesterManaged', false),
    ...(a === undefined
      ? []
      : [
          el('attachment', [
            leaf('attachmentId', a.id),
            leaf('instanceId', a.instanceId),
            leaf('instanceOwnerId', state.accountId),
            leaf('deviceIndex', a.deviceIndex),
            leaf('networkCardIndex', a.networkCardIndex),
            leaf('status', a.status),
            leaf('attachTime', isoTime(a.attachTime)),
            leaf('deleteOnTermination', a.deleteOnTermination),
          ]),
        ]),
    tagSet(eni.tags),
  ];
}

function instanceNetworkInterface(state: Ec2State, eni: EniRecord): XmlFragment[] {
  const a = eni.attachment;
  return [
    ...eniCommon(state, eni),
    ...(a === undefined
      ? []
      : [
          el('attachment', [
            leaf('attachmentId', a.id),
            leaf('deviceIndex', a.deviceIndex),
            leaf('networkCardIndex', a.networkCardIndex),
            leaf('status', a.status),
            leaf('attachTime', isoTime(a.attachTime)),
            leaf('deleteOnTermination', a.deleteOnTermination),
          ]),
        ]),
  ];
}

const STATE_CODES = { running: 16, terminated: 48 } as const;

export function renderInstance(state: Ec2State, instance: InstanceRecord): XmlFragment[] {
  const enis = state.attachedTo(instance.id);
  const primary = enis.find((e) => e.attachment?.deviceIndex === 0);
  const running = instance.state === 'running';
  return [
    leaf('instanceId', instance.id),
    leaf('imageId', instance.imageId),
    el('instanceState', [leaf('code', STATE_CODES[instance.state]), leaf('name', instance.state)]),
    leaf('privateDnsName', primary === undefined ? '' : privateDnsName(state, primary.primaryIp)),
    leaf('dnsName', ''),
    leaf('reason', running ? '' : 'User initiated'),
    leaf('amiLaunchIndex', 0),
    leaf('instanceType', instance.type.name),
    leaf('launchTime', isoTime(instance.launchTime)),
    el('placement', [leaf('availabilityZone', instance.az), leaf('groupName', ''), leaf('tenancy', 'default')]),
    el('monitoring', [leaf('state', 'disabled')]),
    ...(running ? [leaf('subnetId', instance.subnetId), leaf('vpcId', state.vpcId)] : []),
    leaf('privateIpAddress', primary?.primaryIp),
    leaf('sourceDestCheck', true),
    groupSet(instance.securityGroups),
    leaf('architecture', 'x86_64'),
    leaf('rootDeviceType', 'ebs'),
    leaf('rootDeviceName', '/dev/xvda'),
    leaf('virtualizationType', 'hvm'),
    leaf('hypervisor', 'xen'),
    leaf('enaSupport', true),
    el('iamInstanceProfile', [
      leaf('arn', `arn:aws:iam::${state.accountId}:instance-profile/${instance.iamRole}`),
      leaf('id', `AIPA${instance.id.slice(2, 19).toUpperCase()}`),
    ]),
    el('metadataOptions', [
      leaf('state', 'applied'),
      leaf('httpTokens', 'required'),
      leaf('httpPutResponseHopLimit', 2),
      leaf('httpEndpoint', 'enabled'),
    ]),
    set(
      'networkInterfaceSet',
      enis.map((eni) => instanceNetworkInterface(state, eni)),
    ),
    tagSet(instance.tags),
  ];
}

/** DescribeInstances groups instances by reservation. */
export function renderReservations(state: Ec2State, instances: readonly InstanceRecord[]): XmlFragment {
  const byReservation = new Map<string, InstanceRecord[]>();
  for (const i of instances) byReservation.set(i.reservationId, [...(byReservation.get(i.reservationId) ?? []), i]);
  return set(
    'reservationSet',
    [...byReservation.entries()].map(([reservationId, members]) => [
      leaf('reservationId', reservationId),
      leaf('ownerId', state.accountId),
      set('groupSet', []),
      set(
        'instancesSet',
        members.map((i) => renderInstance(state, i)),
      ),
    ]),
  );
}

export function renderSubnet(state: Ec2State, subnet: SubnetRecord): XmlFragment[] {
  return [
    leaf('subnetId', subnet.id),
    leaf('subnetArn', `arn:aws:ec2:${state.region}:${state.accountId}:subnet/${subnet.id}`),
    leaf('state', 'available'),
    leaf('ownerId', state.accountId),
    leaf('vpcId', subnet.vpcId),
    leaf('cidrBlock', subnet.allocator.cidr.text),
    leaf('availableIpAddressCount', subnet.allocator.freeCount),
    leaf('availabilityZone', subnet.az),
    leaf('availabilityZoneId', subnet.azId),
    leaf('defaultForAz', false),
    leaf('mapPublicIpOnLaunch', false),
    tagSet(subnet.tags),
  ];
}

export function renderInstanceType(t: InstanceTypeInfo): XmlFragment[] {
  return [
    leaf('instanceType', t.name),
    leaf('currentGeneration', true),
    leaf('bareMetal', t.bareMetal),
    leaf('hypervisor', t.hypervisor),
    leaf('burstablePerformanceSupported', t.burstable),
    ...(t.vcpus === undefined ? [] : [el('vCpuInfo', [leaf('defaultVCpus', t.vcpus)])]),
    ...(t.memoryMiB === undefined ? [] : [el('memoryInfo', [leaf('sizeInMiB', t.memoryMiB)])]),
    el('networkInfo', [
      leaf('networkPerformance', t.networkPerformance),
      leaf('maximumNetworkInterfaces', t.maxInterfaces),
      leaf('maximumNetworkCards', t.networkCards),
      leaf('defaultNetworkCardIndex', t.defaultNetworkCardIndex),
      set(
        'networkCards',
        t.networkCardInterfaces.map((interfaces, i) => [
          leaf('networkCardIndex', i),
          leaf('networkPerformance', t.networkPerformance),
          leaf('maximumNetworkInterfaces', interfaces),
        ]),
      ),
      leaf('ipv4AddressesPerInterface', t.ipv4PerInterface),
      leaf('ipv6AddressesPerInterface', t.ipv6PerInterface),
      leaf('ipv6Supported', true),
      leaf('enaSupport', 'required'),
      leaf('efaSupported', false),
      leaf('encryptionInTransitSupported', !t.burstable),
    ]),
  ];
}
