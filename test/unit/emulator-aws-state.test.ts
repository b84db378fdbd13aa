import { describe, expect, it } from 'vitest';
import { describeNetworkInterfaces } from '../../src/emulator/aws/ec2-describe.js';
import { Ec2State } from '../../src/emulator/aws/ec2-state.js';
import type { Ec2StateOptions } from '../../src/emulator/aws/ec2-state.js';
import { imdsInterfaces, topology } from '../../src/emulator/aws/ec2-views.js';
import { Ec2ApiError } from '../../src/emulator/aws/errors.js';
import { seededIdSource } from '../../src/emulator/shared/ids.js';
import { instanceTypeTable } from '../../src/emulator/aws/instance-types.js';

interface Harness {
  state: Ec2State;
  now: { t: number };
  subnet: string;
  changes: number[];
}

function harness(overrides: Partial<Ec2StateOptions> = {}): Harness {
  const now = { t: 1000 };
  const changes: number[] = [];
  const state = new Ec2State({
    region: 'us-east-1',
    accountId: '111122223333',
    vpcCidr: '10.0.0.0/16',
    subnets: [{ cidr: '10.0.0.0/24' }, { cidr: '10.0.1.0/28', az: 'us-east-1b' }],
    clock: () => now.t,
    ids: seededIdSource(42),
    detachDelayMs: 0,
    instanceTypes: instanceTypeTable(),
    onChange: (at) => changes.push(at),
    ...overrides,
  });
  return { state, now, subnet: state.subnetRecords()[0]!.id, changes };
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof Ec2ApiError) return err.code;
    throw err;
  }
  return 'no error';
}

describe('instance type table', () => {
  it.each([
    ['t3.nano', 2, 2],
    ['t3.medium', 3, 6],
    ['t3.2xlarge', 4, 15],
    ['m5.large', 3, 10],
    ['m5.xlarge', 4, 15],
    ['m5.4xlarge', 8, 30],
    ['m5.24xlarge', 15, 50],
    ['m6i.large', 3, 10],
    ['c5.large', 3, 10],
    ['c5.9xlarge', 8, 30],
    ['r5.large', 3, 10],
    ['r5.24xlarge', 15, 50],
  ])('%s allows %i ENIs x %i IPv4', (name, enis, ips) => {
    const info = instanceTypeTable().get(name);
    expect(info).toMatchObject({ maxInterfaces: enis, ipv4PerInterface: ips });
  });

  it('rejects unknown types with InvalidInstanceType', () => {
    const { state } = harness();
    expect(codeOf(() => state.launchInstance({ instanceType: 'x9.large' }))).toBe('InvalidInstanceType');
  });
});

describe('Ec2State limits and errors', () => {
  it('counts the primary against the per-ENI limit', () => {
    const { state } = harness();
    const { primaryEni } = state.launchInstance({ instanceType: 't3.medium' });
    expect(state.assignPrivateIpAddresses({ eniId: primaryEni.id, count: 5 })).toHaveLength(5);
    expect(codeOf(() => state.assignPrivateIpAddresses({ eniId: primaryEni.id, count: 1 }))).toBe('PrivateIpAddressLimitExceeded');
  });

  it('checks an ENI address count against the instance type on attach', () => {
    const { state, subnet } = harness();
    const { instance } = state.launchInstance({ instanceType: 't3.small' });
    const eni = state.createNetworkInterface({ subnetId: subnet, secondaryCount: 4 });
    expect(codeOf(() => state.attachNetworkInterface({ eniId: eni.id, instanceId: instance.id, deviceIndex: 1 }))).toBe(
      'PrivateIpAddressLimitExceeded',
    );
  });

  it.each([
    ['t3.nano', 2],
    ['m5.large', 3],
    ['m5.xlarge', 4],
  ])('%s takes %i interfaces, then AttachmentLimitExceeded', (type, max) => {
    const { state, subnet } = harness();
    const { instance } = state.launchInstance({ instanceType: type });
    for (let i = 1; i < max; i++) {
      const eni = state.createNetworkInterface({ subnetId: subnet });
      state.attachNetworkInterface({ eniId: eni.id, instanceId: instance.id, deviceIndex: i });
    }
    const extra = state.createNetworkInterface({ subnetId: subnet });
    expect(codeOf(() => state.attachNetworkInterface({ eniId: extra.id, instanceId: instance.id, deviceIndex: max }))).toBe(
      'AttachmentLimitExceeded',
    );
  });

  it('exhausts a /28 after 11 addresses (4 first and the last are reserved)', () => {
    const { state } = harness();
    const small = state.subnetRecords()[1]!;
    const eni = state.createNetworkInterface({ subnetId: small.id, secondaryCount: 10 });
    expect([eni.primaryIp, ...eni.secondaryIps]).toEqual(Array.from({ length: 11 }, (_, i) => `10.0.1.${i + 4}`));
    expect(codeOf(() => state.createNetworkInterface({ subnetId: small.id }))).toBe('InsufficientFreeAddressesInSubnet');
    expect(small.allocator.freeCount).toBe(0);
    state.unassignPrivateIpAddresses(eni.id, ['10.0.1.9']);
    expect(state.createNetworkInterface({ subnetId: small.id }).primaryIp).toBe('10.0.1.9');
  });

  it('a failed create takes no addresses', () => {
    const { state } = harness();
    const small = state.subnetRecords()[1]!;
    expect(codeOf(() => state.createNetworkInterface({ subnetId: small.id, secondaryCount: 11 }))).toBe('InsufficientFreeAddressesInSubnet');
    expect(small.allocator.freeCount).toBe(11);
  });

  it('never hands out an address twice across the VPC', () => {
    const { state, subnet } = harness();
    const a = state.launchInstance({ instanceType: 'm5.4xlarge' });
    const b = state.launchInstance({ instanceType: 'm5.4xlarge' });
    state.assignPrivateIpAddresses({ eniId: a.primaryEni.id, count: 20 });
    state.assignPrivateIpAddresses({ eniId: b.primaryEni.id, count: 20 });
    const c = state.createNetworkInterface({ subnetId: subnet, secondaryCount: 9 });
    state.unassignPrivateIpAddresses(a.primaryEni.id, a.primaryEni.secondaryIps.slice(0, 5));
    state.assignPrivateIpAddresses({ eniId: c.id, count: 7 });
    const all = state.networkInterfaces().flatMap((e) => [e.primaryIp, ...e.secondaryIps]);
    expect(new Set(all).size).toBe(all.length);
  });

  it.each([
    ['explicit address in use', { addresses: ['HOLDER'] }, 'InvalidIPAddress.InUse'],
    ['reserved address', { addresses: ['10.0.0.3'] }, 'InvalidParameterValue'],
    ['address outside the subnet', { addresses: ['10.0.1.5'] }, 'InvalidParameterValue'],
    ['count and addresses together', { addresses: ['10.0.0.100'], count: 1 }, 'InvalidParameterCombination'],
    ['neither count nor addresses', {}, 'MissingParameter'],
    ['zero count', { count: 0 }, 'InvalidParameterValue'],
    ['prefix count', { ipv4PrefixCount: 1 }, 'InvalidParameterValue'],
  ])('assign rejects %s', (_name, req, code) => {
    const { state, subnet } = harness();
    const { primaryEni } = state.launchInstance({ instanceType: 'm5.large' });
    const holder = state.createNetworkInterface({ subnetId: subnet, secondaryCount: 1 });
    const addresses = (req as { addresses?: string[] }).addresses?.map((a) => (a === 'HOLDER' ? holder.secondaryIps[0]! : a));
    expect(codeOf(() => state.assignPrivateIpAddresses({ ...req, ...(addresses ? { addresses } : {}), eniId: primaryEni.id }))).toBe(code);
  });

  it('moves a secondary address with AllowReassignment, never a primary', () => {
    const { state, subnet } = harness();
    const { primaryEni } = state.launchInstance({ instanceType: 'm5.large' });
    const holder = state.createNetworkInterface({ subnetId: subnet, secondaryCount: 1 });
    const moved = holder.secondaryIps[0]!;
    expect(state.assignPrivateIpAddresses({ eniId: primaryEni.id, addresses: [moved], allowReassignment: true })).toEqual([moved]);
    expect(holder.secondaryIps).toEqual([]);
    expect(primaryEni.secondaryIps).toEqual([moved]);
    expect(codeOf(() => state.assignPrivateIpAddresses({ eniId: primaryEni.id, addresses: [holder.primaryIp], allowReassignment: true }))).toBe(
      'InvalidIPAddress.InUse',
    );
  });

  it.each([
    ['primary address', (p: string) => [p], 'InvalidParameterValue'],
    ['address not on the ENI', () => ['10.0.0.200'], 'InvalidParameterValue'],
    ['nothing', () => [], 'MissingParameter'],
  ])('unassign rejects %s', (_name, addresses, code) => {
    const { state } = harness();
    const { primaryEni } = state.launchInstance({ instanceType: 'm5.large' });
    expect(codeOf(() => state.unassignPrivateIpAddresses(primaryEni.id, addresses(primaryEni.primaryIp)))).toBe(code);
  });

  it.each([
    ['malformed ENI id', (s: Ec2State) => s.deleteNetworkInterface('eni-zz'), 'InvalidNetworkInterfaceID.Malformed'],
    ['unknown ENI', (s: Ec2State) => s.deleteNetworkInterface('eni-0123456789abcdef0'), 'InvalidNetworkInterfaceID.NotFound'],
    ['unknown subnet', (s: Ec2State) => s.createNetworkInterface({ subnetId: 'subnet-0123456789abcdef0' }), 'InvalidSubnetID.NotFound'],
    ['unknown attachment', (s: Ec2State) => s.detachNetworkInterface('eni-attach-0123456789abcdef0'), 'InvalidAttachmentID.NotFound'],
    ['unknown instance', (s: Ec2State) => s.terminateInstance('i-0123456789abcdef0'), 'InvalidInstanceID.NotFound'],
    ['tag on an unknown kind of id', (s: Ec2State) => s.createTags(['ami-123'], [{ key: 'a', value: 'b' }]), 'InvalidID'],
    ['reserved tag key', (s: Ec2State) => s.createTags([s.vpcId], [{ key: 'aws:x', value: 'b' }]), 'InvalidParameterValue'],
    ['wrong tag resource type', (s: Ec2State) => s.createNetworkInterface({ subnetId: s.subnetRecords()[0]!.id, tagSpecifications: [{ resourceType: 'instance', tags: [] }] }), 'InvalidParameterValue'],
    ['two primaries', (s: Ec2State) => s.createNetworkInterface({ subnetId: s.subnetRecords()[0]!.id, privateIp: '10.0.0.10', privateIpSpecs: [{ address: '10.0.0.11', primary: true }] }), 'InvalidParameterCombination'],
  ])('%s', (_name, act, code) => {
    const { state } = harness();
    expect(codeOf(() => act(state))).toBe(code);
  });

  it('refuses a device index in use and detaching device 0', () => {
    const { state, subnet } = harness();
    const { instance, primaryEni } = state.launchInstance({ instanceType: 'm5.large' });
    const eni = state.createNetworkInterface({ subnetId: subnet });
    expect(codeOf(() => state.attachNetworkInterface({ eniId: eni.id, instanceId: instance.id, deviceIndex: 0 }))).toBe('InvalidParameterValue');
    expect(codeOf(() => state.detachNetworkInterface(primaryEni.attachment!.id))).toBe('OperationNotPermitted');
  });

  it('refuses attaching across availability zones', () => {
    const { state } = harness();
    const { instance } = state.launchInstance({ instanceType: 'm5.large' });
    const other = state.createNetworkInterface({ subnetId: state.subnetRecords()[1]!.id });
    expect(codeOf(() => state.attachNetworkInterface({ eniId: other.id, instanceId: instance.id, deviceIndex: 1 }))).toBe(
      'InvalidParameterCombination',
    );
  });

  it('detaches asynchronously: in use while detaching, available after the delay', () => {
    const { state, subnet, now, changes } = harness({ detachDelayMs: 500 });
    const { instance } = state.launchInstance({ instanceType: 'm5.large' });
    const eni = state.createNetworkInterface({ subnetId: subnet });
    const attachment = state.attachNetworkInterface({ eniId: eni.id, instanceId: instance.id, deviceIndex: 1 });
    now.t = 2000;
    state.detachNetworkInterface(attachment.id);
    expect(eni.attachment?.status).toBe('detaching');
    expect(codeOf(() => state.deleteNetworkInterface(eni.id))).toBe('InvalidNetworkInterface.InUse');
    now.t = 2499;
    expect(state.settle()).toBe(false);
    now.t = 2600;
    expect(state.settle()).toBe(true);
    expect(eni.attachment).toBeUndefined();
    expect(changes[changes.length - 1]).toBe(2500);
    state.deleteNetworkInterface(eni.id);
    expect(state.networkInterfaces().map((e) => e.id)).not.toContain(eni.id);
  });

  it('terminate deletes delete-on-termination ENIs and frees the others', () => {
    const { state, subnet } = harness();
    const { instance, primaryEni } = state.launchInstance({ instanceType: 'm5.large' });
    const kept = state.createNetworkInterface({ subnetId: subnet });
    state.attachNetworkInterface({ eniId: kept.id, instanceId: instance.id, deviceIndex: 1 });
    const dropped = state.createNetworkInterface({ subnetId: subnet, secondaryCount: 2 });
    const a = state.attachNetworkInterface({ eniId: dropped.id, instanceId: instance.id, deviceIndex: 2 });
    state.modifyNetworkInterfaceAttribute({ eniId: dropped.id, attachment: { attachmentId: a.id, deleteOnTermination: true } });
    const free = state.subnetRecords()[0]!.allocator.freeCount;
    state.terminateInstance(instance.id);
    expect(state.networkInterfaces().map((e) => e.id)).toEqual([kept.id]);
    expect(kept.attachment).toBeUndefined();
    expect(state.subnetRecords()[0]!.allocator.freeCount).toBe(free + 4);
    expect(primaryEni.attachment?.instanceId).toBe(instance.id);
    expect(topology(state).instances).toEqual([]);
    expect(codeOf(() => state.attachNetworkInterface({ eniId: kept.id, instanceId: instance.id, deviceIndex: 1 }))).toBe('IncorrectInstanceState');
  });

  it('modify takes exactly one attribute and checks the attachment id', () => {
    const { state } = harness();
    const { primaryEni } = state.launchInstance({ instanceType: 'm5.large' });
    expect(codeOf(() => state.modifyNetworkInterfaceAttribute({ eniId: primaryEni.id }))).toBe('InvalidParameterCombination');
    expect(codeOf(() => state.modifyNetworkInterfaceAttribute({ eniId: primaryEni.id, description: 'x', securityGroupIds: ['sg-12345678'] }))).toBe(
      'InvalidParameterCombination',
    );
    expect(
      codeOf(() =>
        state.modifyNetworkInterfaceAttribute({ eniId: primaryEni.id, attachment: { attachmentId: 'eni-attach-0123456789abcdef0', deleteOnTermination: false } }),
      ),
    ).toBe('InvalidAttachmentID.NotFound');
    state.modifyNetworkInterfaceAttribute({ eniId: primaryEni.id, securityGroupIds: ['sg-12345678'] });
    expect(primaryEni.securityGroups).toEqual(['sg-12345678']);
  });

  it('rejects overlapping or out-of-VPC subnets', () => {
    expect(codeOf(() => harness({ subnets: [{ cidr: '10.0.0.0/24' }, { cidr: '10.0.0.128/25' }] }))).toBe('InvalidSubnet.Conflict');
    expect(codeOf(() => harness({ subnets: [{ cidr: '10.1.0.0/24' }] }))).toBe('InvalidSubnet.Range');
    expect(codeOf(() => harness({ subnets: [{ cidr: '10.0.0.0/29' }] }))).toBe('InvalidSubnet.Range');
  });
});

describe('Ec2State views', () => {
  it('describes by filters and pages', () => {
    const { state, subnet } = harness();
    const { instance } = state.launchInstance({ instanceType: 'm5.large' });
    for (let i = 0; i < 7; i++) {
      state.createNetworkInterface({ subnetId: subnet, tagSpecifications: [{ resourceType: 'network-interface', tags: [{ key: 'n', value: String(i) }] }] });
    }
    const req = { ids: [], filters: [{ name: 'tag:n', values: ['*'] }], maxResults: 5, nextToken: undefined };
    const first = describeNetworkInterfaces(state, req);
    expect(first.items).toHaveLength(5);
    const second = describeNetworkInterfaces(state, { ...req, nextToken: first.nextToken });
    expect(second.items).toHaveLength(2);
    expect(second.nextToken).toBeUndefined();
    const attached = describeNetworkInterfaces(state, {
      ids: [],
      filters: [{ name: 'attachment.instance-id', values: [instance.id] }],
      maxResults: undefined,
      nextToken: undefined,
    });
    expect(attached.items).toHaveLength(1);
    expect(codeOf(() => describeNetworkInterfaces(state, { ...req, nextToken: 'garbage' }))).toBe('InvalidParameterValue');
    expect(codeOf(() => describeNetworkInterfaces(state, { ...req, ids: [attached.items[0]!.id] }))).toBe('InvalidParameterCombination');
  });

  it('topology and IMDS view list primary first with the subnet gateway', () => {
    const { state, subnet } = harness();
    const { instance, primaryEni } = state.launchInstance({ instanceType: 'm5.large' });
    state.assignPrivateIpAddresses({ eniId: primaryEni.id, count: 2 });
    const eni = state.createNetworkInterface({ subnetId: subnet });
    state.attachNetworkInterface({ eniId: eni.id, instanceId: instance.id, deviceIndex: 1 });
    const view = topology(state);
    expect(view.instances[0]?.interfaces.map((i) => [i.deviceIndex, i.gateway, i.subnetCidr])).toEqual([
      [0, '10.0.0.1', '10.0.0.0/24'],
      [1, '10.0.0.1', '10.0.0.0/24'],
    ]);
    expect(imdsInterfaces(state, instance.id)[0]?.localIpv4s).toEqual([primaryEni.primaryIp, ...primaryEni.secondaryIps]);
  });
});
