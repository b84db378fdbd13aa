/**
 * Ec2Provider against the project's own EC2 + IMDSv2 emulator, which enforces instance-type
 * limits, subnet exhaustion and EC2's error codes, and serves the `macs/` tree per instance.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CloudError, type NodeSnapshot } from '../../src/core/types.js';
import { startAwsEmulator } from '../../src/emulator/aws/index.js';
import { Ec2Provider, nextFreeDeviceIndex, type Ec2ProviderOptions } from '../../src/providers/aws/index.js';

type Emulator = Awaited<ReturnType<typeof startAwsEmulator>>;
type Instance = Awaited<ReturnType<Emulator['launchInstance']>>;

const CREDENTIALS = { accessKeyId: 'AKIDEMULATOR', secretAccessKey: 'emulator-secret' };

function providerFor(emulator: Emulator, instance: Instance, extra: Partial<Ec2ProviderOptions> = {}): Ec2Provider {
  return new Ec2Provider({
    ec2Endpoint: emulator.ec2Url,
    imdsEndpoint: instance.imdsUrl,
    clusterName: 'awsp-emulated',
    credentials: CREDENTIALS,
    detachWait: { attempts: 40, initialDelayMs: 5, maxDelayMs: 50 },
    ...extra,
  });
}

async function cloudErrorOf(promise: Promise<unknown>): Promise<CloudError> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(outcome instanceof CloudError)) throw new Error(`expected a CloudError, got ${String(outcome)}`);
  return outcome;
}

function instanceView(emulator: Emulator, instanceId: string) {
  const view = emulator.topology().instances.find((entry) => entry.instanceId === instanceId);
  if (view === undefined) throw new Error(`emulator has no instance ${instanceId}`);
  return view;
}

function expectMatchesTopology(snapshot: NodeSnapshot, emulator: Emulator): void {
  const view = instanceView(emulator, snapshot.instanceId);
  expect(snapshot.instanceType).toBe(view.instanceType);
  expect(snapshot.vpcCidrs).toContain(emulator.topology().vpcCidr);
  expect(
    snapshot.interfaces.map((eni) => ({
      id: eni.id,
      mac: eni.mac,
      deviceIndex: eni.deviceIndex,
      subnetId: eni.subnetId,
      subnetCidr: eni.subnetCidr,
      primaryIp: eni.primaryIp,
      secondaryIps: [...eni.secondaryIps].sort(),
    })),
  ).toEqual(
    view.interfaces.map((eni) => ({
      id: eni.eniId,
      mac: eni.mac,
      deviceIndex: eni.deviceIndex,
      subnetId: eni.subnetId,
      subnetCidr: eni.subnetCidr,
      primaryIp: eni.primaryIp,
      secondaryIps: [...eni.secondaryIps].sort(),
    })),
  );
}

describe('Ec2Provider against the AWS emulator', () => {
  let emulator: Emulator;
  let instance: Instance;
  let provider: Ec2Provider;

  beforeAll(async () => {
    emulator = await startAwsEmulator({});
    instance = await emulator.launchInstance({ instanceType: 'm5.large' });
    provider = providerFor(emulator, instance);
  });

  afterAll(async () => {
    provider?.close();
    await emulator?.close();
  });

  it('describes the node as the emulator sees it', async () => {
    const snapshot = await provider.describeNode();
    expect(snapshot.instanceId).toBe(instance.instanceId);
    expect(snapshot.instanceType).toBe('m5.large');
    expect(snapshot.primaryIp).toBe(instance.primaryIp);
    expect(snapshot.limits).toEqual({ maxInterfaces: 3, ipv4PerInterface: 10, vcpus: 2 });
    expect(snapshot.interfaces).toHaveLength(1);
    expect(snapshot.interfaces[0]).toMatchObject({
      id: instance.primaryEni,
      mac: instance.mac,
      deviceIndex: 0,
      managed: false,
      secondaryIps: [],
    });
    expectMatchesTopology(snapshot, emulator);
  });

  it('grows on the primary ENI and returns exactly the new addresses', async () => {
    const added = await provider.assignAddresses(instance.primaryEni, 4);
    expect(added).toHaveLength(4);
    expect(added).not.toContain(instance.primaryIp);
    const primary = instanceView(emulator, instance.instanceId).interfaces[0];
    expect([...(primary?.secondaryIps ?? [])].sort()).toEqual([...added].sort());
    expectMatchesTopology(await provider.describeNode(), emulator);
  });

  it('says AddressLimit when the ENI is full, naming the interface', async () => {
    const before = await provider.describeNode();
    const primary = before.interfaces[0];
    if (primary === undefined) throw new Error('no primary interface');
    const room = before.limits.ipv4PerInterface - 1 - primary.secondaryIps.length;
    expect(await provider.assignAddresses(primary.id, room)).toHaveLength(room);
    const error = await cloudErrorOf(provider.assignAddresses(primary.id, 1));
    expect(error.code).toBe('AddressLimit');
    expect(error.cloudCode).toBe('PrivateIpAddressLimitExceeded');
    expect(error.message).toContain(primary.id);
    expect(error.retryable).toBe(false);
  });

  it('grows by creating and attaching an ENI at the next free device index', async () => {
    const before = await provider.describeNode();
    const deviceIndex = nextFreeDeviceIndex(before.interfaces, before.limits.maxInterfaces);
    expect(deviceIndex).toBe(1);
    const created = await provider.createInterface({ deviceIndex: deviceIndex ?? 1, secondaryCount: 3 });
    expect(created).toMatchObject({ deviceIndex: 1, managed: true, subnetId: before.interfaces[0]?.subnetId });
    expect(created.secondaryIps).toHaveLength(3);
    expect(created.subnetCidr).toBe(before.interfaces[0]?.subnetCidr);

    const after = await provider.describeNode();
    expect(after.interfaces.map((eni) => eni.deviceIndex)).toEqual([0, 1]);
    expect(after.interfaces[1]).toMatchObject({ id: created.id, mac: created.mac, managed: true });
    expectMatchesTopology(after, emulator);
  });

  it('says InterfaceLimit at the instance type’s maximum, and leaves no ENI behind', async () => {
    const second = await provider.createInterface({ deviceIndex: 2, secondaryCount: 1 });
    expect(second.deviceIndex).toBe(2);
    const loose = emulator.topology().detachedInterfaces.length;
    const error = await cloudErrorOf(provider.createInterface({ deviceIndex: 3, secondaryCount: 1 }));
    expect(error.code).toBe('InterfaceLimit');
    expect(error.cloudCode).toBe('AttachmentLimitExceeded');
    expect(error.message).toContain(instance.instanceId);
    expect(emulator.topology().detachedInterfaces).toHaveLength(loose);
  });

  it('shrinks: releases addresses, tolerates releasing them twice, deletes the ENIs it made', async () => {
    const snapshot = await provider.describeNode();
    const eni = snapshot.interfaces[1];
    if (eni === undefined) throw new Error('expected a secondary ENI');
    const release = eni.secondaryIps.slice(0, 2);
    const keep = eni.secondaryIps.slice(2);
    await provider.releaseAddresses(eni.id, release);
    const view = instanceView(emulator, instance.instanceId).interfaces.find((entry) => entry.eniId === eni.id);
    expect(view?.secondaryIps).toEqual(keep);
    await provider.releaseAddresses(eni.id, release);
    await provider.releaseAddresses(eni.id, [...release, ...keep]);
    expect(instanceView(emulator, instance.instanceId).interfaces.find((entry) => entry.eniId === eni.id)?.secondaryIps).toEqual([]);

    for (const managed of snapshot.interfaces.filter((entry) => entry.managed)) await provider.deleteInterface(managed.id);
    const topology = emulator.topology();
    expect(instanceView(emulator, instance.instanceId).interfaces.map((entry) => entry.deviceIndex)).toEqual([0]);
    expect(topology.detachedInterfaces.map((entry) => entry.eniId)).not.toContain(eni.id);
    await expect(provider.deleteInterface(eni.id)).resolves.toBeUndefined();
    expectMatchesTopology(await provider.describeNode(), emulator);
  });

  it('refuses to delete the primary ENI', async () => {
    const error = await cloudErrorOf(provider.deleteInterface(instance.primaryEni));
    expect(error.code).toBe('InvalidRequest');
    expect(instanceView(emulator, instance.instanceId).interfaces).toHaveLength(1);
  });
});

describe('Ec2Provider cloud errors and call counts on the emulator', () => {
  let emulator: Emulator | undefined;
  let provider: Ec2Provider | undefined;

  afterEach(async () => {
    provider?.close();
    provider = undefined;
    await emulator?.close();
    emulator = undefined;
  });

  it('says SubnetExhausted on a tiny subnet, naming the subnet', async () => {
    emulator = await startAwsEmulator({ vpcCidr: '10.9.0.0/16', subnets: [{ cidr: '10.9.0.0/28' }] });
    const node = await emulator.launchInstance({ instanceType: 'm5.4xlarge' });
    provider = providerFor(emulator, node);
    const snapshot = await provider.describeNode();
    const primary = snapshot.interfaces[0];
    if (primary === undefined) throw new Error('no primary interface');
    // A /28 has 16 addresses; AWS reserves 5 and the primary ENI holds one.
    const error = await cloudErrorOf(provider.assignAddresses(primary.id, 11));
    expect(error.code).toBe('SubnetExhausted');
    expect(error.cloudCode).toBe('InsufficientFreeAddressesInSubnet');
    expect(error.message).toContain(`subnet ${primary.subnetId} has no free addresses`);
    expect(await provider.assignAddresses(primary.id, 10)).toHaveLength(10);
    const createError = await cloudErrorOf(provider.createInterface({ deviceIndex: 1, secondaryCount: 0 }));
    expect(createError.code).toBe('SubnetExhausted');
    expect(createError.message).toContain(primary.subnetId);
  });

  it('deletes a created ENI when attaching it fails, and rethrows the attach error', async () => {
    emulator = await startAwsEmulator({});
    const node = await emulator.launchInstance({ instanceType: 'm5.large' });
    provider = providerFor(emulator, node);
    await provider.describeNode();
    const error = await cloudErrorOf(provider.createInterface({ deviceIndex: 1, secondaryCount: 20 }));
    expect(error.code).toBe('AddressLimit');
    expect(error.cloudCode).toBe('PrivateIpAddressLimitExceeded');
    expect(emulator.callCounts()).toMatchObject({ CreateNetworkInterface: 1, AttachNetworkInterface: 1, DeleteNetworkInterface: 1 });
    expect(emulator.topology().detachedInterfaces).toEqual([]);
    expect(instanceView(emulator, node.instanceId).interfaces).toHaveLength(1);
  });

  it('keeps a created ENI whose attach EC2 throttled, and attaches that one on the next grow', async () => {
    let now = Date.parse('2026-11-22T08:00:00Z');
    emulator = await startAwsEmulator({ throttling: true, clock: () => now });
    const node = await emulator.launchInstance({ instanceType: 'm5.large' });
    provider = providerFor(emulator, node, { maxAttempts: 1, requestLimiter: false });
    await provider.describeNode();
    // Other nodes drained the account's attach bucket (50 requests, frozen clock: no refill).
    for (let i = 0; i < 50; i += 1) {
      await fetch(emulator.ec2Url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'Action=AttachNetworkInterface&Version=2016-11-15' });
    }
    emulator.resetCounts();
    const error = await cloudErrorOf(provider.createInterface({ deviceIndex: 1, secondaryCount: 2 }));
    expect(error.code).toBe('Throttled');
    expect(emulator.callCounts()).toMatchObject({ CreateNetworkInterface: 1, AttachNetworkInterface: 1 });
    expect(emulator.callCounts().DeleteNetworkInterface).toBeUndefined();
    expect(emulator.topology().detachedInterfaces).toHaveLength(1);
    now += 1_000; // the bucket refills 5 per second
    const created = await provider.createInterface({ deviceIndex: 1, secondaryCount: 2 });
    expect(emulator.callCounts()).toMatchObject({ CreateNetworkInterface: 1, AttachNetworkInterface: 2, ModifyNetworkInterfaceAttribute: 1 });
    expect(emulator.topology().detachedInterfaces).toEqual([]);
    expect(created).toMatchObject({ deviceIndex: 1, managed: true });
    expect(created.secondaryIps).toHaveLength(2);
    expectMatchesTopology(await provider.describeNode(), emulator);
  });

  it('sets a DeleteOnTermination EC2 throttled at the next leaked-ENI sweep, when no ENI is created again', async () => {
    let now = Date.parse('2026-11-22T08:00:00Z');
    emulator = await startAwsEmulator({ throttling: true, clock: () => now });
    const node = await emulator.launchInstance({ instanceType: 'm5.large' });
    provider = providerFor(emulator, node, { maxAttempts: 1, requestLimiter: false });
    await provider.describeNode();
    const post = (body: string) => fetch(emulator!.ec2Url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `${body}&Version=2016-11-15` });
    // Other nodes left one token in the account's ENI-mutation bucket (100, frozen clock): the create takes it.
    for (let i = 0; i < 99; i += 1) await post('Action=ModifyNetworkInterfaceAttribute');
    emulator.resetCounts();
    const created = await provider.createInterface({ deviceIndex: 1, secondaryCount: 1 });
    expect(emulator.throttledCounts()).toEqual({ ModifyNetworkInterfaceAttribute: 1 });
    const deleteOnTermination = async () => {
      const xml = await (await post('Action=DescribeNetworkInterfaces&Filter.1.Name=attachment.delete-on-termination&Filter.1.Value.1=true')).text();
      return xml.includes(created.id);
    };
    expect(await deleteOnTermination()).toBe(false);
    now += 1_000;
    await provider.collectLeakedInterfaces();
    expect(emulator.callCounts()['ModifyNetworkInterfaceAttribute']).toBe(2);
    expect(await deleteOnTermination()).toBe(true);
  });

  it('waits for a slow detach before deleting', async () => {
    emulator = await startAwsEmulator({ detachDelayMs: 150 });
    const node = await emulator.launchInstance({ instanceType: 'm5.large' });
    provider = providerFor(emulator, node);
    await provider.describeNode();
    const created = await provider.createInterface({ deviceIndex: 1, secondaryCount: 1 });
    emulator.resetCounts();
    await provider.deleteInterface(created.id);
    expect(emulator.callCounts()).toMatchObject({ DetachNetworkInterface: 1, DeleteNetworkInterface: 1 });
    expect(emulator.callCounts().DescribeNetworkInterfaces).toBeGreaterThanOrEqual(2);
    expect(emulator.topology().detachedInterfaces).toEqual([]);
    expect(instanceView(emulator, node.instanceId).interfaces).toHaveLength(1);
  });

  it('takes addresses and interfaces from EC2 while IMDS still lags', async () => {
    emulator = await startAwsEmulator({ imdsPropagationMs: 3_600_000 });
    const node = await emulator.launchInstance({ instanceType: 'm5.large' });
    provider = providerFor(emulator, node);
    await provider.describeNode();
    const added = await provider.assignAddresses(node.primaryEni, 2);
    const created = await provider.createInterface({ deviceIndex: 1, secondaryCount: 2 });
    const snapshot = await provider.describeNode();
    expect([...(snapshot.interfaces[0]?.secondaryIps ?? [])].sort()).toEqual([...added].sort());
    expect(snapshot.interfaces[1]).toMatchObject({ id: created.id, deviceIndex: 1, managed: true });
    expectMatchesTopology(snapshot, emulator);
  });

  it('surfaces EC2 throttling as a retryable Throttled error', async () => {
    const frozen = Date.parse('2026-11-22T08:00:00Z');
    emulator = await startAwsEmulator({ throttling: true, clock: () => frozen });
    const node = await emulator.launchInstance({ instanceType: 'm5.large' });
    provider = providerFor(emulator, node, { maxAttempts: 1 });
    let error: CloudError | undefined;
    for (let call = 0; call < 300 && error === undefined; call += 1) {
      error = await provider.describeNode().then(
        () => undefined,
        (caught: unknown) => (caught instanceof CloudError ? caught : Promise.reject(caught)),
      );
    }
    expect(error?.code).toBe('Throttled');
    expect(error?.cloudCode).toBe('RequestLimitExceeded');
    expect(error?.retryable).toBe(true);
    expect(emulator.throttledCounts().DescribeNetworkInterfaces).toBe(1);
  });

  it('makes one EC2 call per grow and the expected sequence for an ENI lifecycle', async () => {
    emulator = await startAwsEmulator({});
    const node = await emulator.launchInstance({ instanceType: 'm5.large' });
    provider = providerFor(emulator, node);
    const snapshot = await provider.describeNode();
    const baseline = { ...emulator.callCounts() };
    const delta = (): Record<string, number> => {
      const now = emulator?.callCounts() ?? {};
      const out: Record<string, number> = {};
      for (const [action, count] of Object.entries(now)) {
        const diff = count - (baseline[action] ?? 0);
        if (diff > 0) out[action] = diff;
      }
      return out;
    };

    await provider.assignAddresses(snapshot.interfaces[0]?.id ?? '', 2);
    expect(delta()).toEqual({ AssignPrivateIpAddresses: 1 });

    const created = await provider.createInterface({ deviceIndex: 1, secondaryCount: 2 });
    expect(delta()).toEqual({
      AssignPrivateIpAddresses: 1,
      CreateNetworkInterface: 1,
      AttachNetworkInterface: 1,
      ModifyNetworkInterfaceAttribute: 1,
    });

    await provider.releaseAddresses(created.id, created.secondaryIps);
    expect(delta().UnassignPrivateIpAddresses).toBe(1);

    Object.assign(baseline, emulator.callCounts());
    await provider.deleteInterface(created.id);
    const deletion = delta();
    expect(deletion.DetachNetworkInterface).toBe(1);
    expect(deletion.DeleteNetworkInterface).toBe(1);
    expect(deletion.DescribeNetworkInterfaces).toBeGreaterThanOrEqual(2);

    Object.assign(baseline, emulator.callCounts());
    await provider.describeNode();
    expect(delta()).toEqual({ DescribeNetworkInterfaces: 1 });
  });
});
