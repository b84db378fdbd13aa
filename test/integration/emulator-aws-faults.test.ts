/**
 * The EC2 emulator's fault plan through the real @aws-sdk/client-ec2: what each kind does to the
 * SDK and to the emulator's state, selection by count and by seeded rate, and the HTTP control
 * endpoint.
 */
import {
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSubnetsCommand,
  EC2Client,
  EC2ServiceException,
} from '@aws-sdk/client-ec2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AwsEmulator, LaunchedInstance } from '../../src/emulator/aws/index.js';
import { startAwsEmulator } from '../../src/emulator/aws/index.js';
import { runAwsEmulatorCli } from '../../src/emulator/aws/cli.js';

function client(emu: AwsEmulator, options: { maxAttempts?: number; requestTimeoutMs?: number } = {}): EC2Client {
  return new EC2Client({
    endpoint: emu.ec2Url,
    region: emu.region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: options.maxAttempts ?? 1,
    ...(options.requestTimeoutMs === undefined ? {} : { requestHandler: { requestTimeout: options.requestTimeoutMs, throwOnRequestTimeout: true } }),
  });
}

async function failure(promise: Promise<unknown>): Promise<{ name: string; status: number | undefined; message: string; service: boolean }> {
  try {
    await promise;
  } catch (err) {
    const e = err as Error & { $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message, service: err instanceof EC2ServiceException };
  }
  throw new Error('expected the call to fail');
}

describe('EC2 emulator faults through @aws-sdk/client-ec2', () => {
  let emu: AwsEmulator;
  let ec2: EC2Client;
  let node: LaunchedInstance;
  let subnetId: string;
  /** Added to the emulator's clock: moves NotFound windows along without waiting. */
  let clockOffsetMs = 0;
  const enisInSubnet = () => emu.topology().detachedInterfaces.length;

  beforeAll(async () => {
    emu = await startAwsEmulator({ subnets: [{ cidr: '10.0.0.0/22' }], seed: 11, clock: () => Date.now() + clockOffsetMs });
    ec2 = client(emu);
    node = await emu.launchInstance({ instanceType: 'm5.large' });
    subnetId = emu.subnets()[0]!.id;
  });

  afterEach(() => {
    emu.faults.clear();
    emu.faults.resetFired();
  });

  afterAll(async () => {
    ec2.destroy();
    await emu.close();
  });

  const create = (c = ec2) => c.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetId }));
  const subnets = (c = ec2) => c.send(new DescribeSubnetsCommand({}));

  it('replyLost: the ENI is created, the SDK sees the connection drop; with retries (the same ClientToken) it gets the same ENI back', async () => {
    emu.faults.add({ kind: 'replyLost', actions: 'CreateNetworkInterface', count: 1 });
    const before = enisInSubnet();
    const error = await failure(create());
    expect(error.service).toBe(false);
    expect(error.message).toMatch(/socket hang up|ECONNRESET/);
    expect(enisInSubnet()).toBe(before + 1);
    expect(emu.faults.fired()).toEqual({ total: 1, byKind: { replyLost: 1 }, byAction: { replyLost: { CreateNetworkInterface: 1 } } });

    emu.faults.add({ kind: 'replyLost', actions: ['CreateNetworkInterface'], count: 1 });
    const retrying = client(emu, { maxAttempts: 3 });
    const created = await create(retrying);
    retrying.destroy();
    expect(created.NetworkInterface?.NetworkInterfaceId).toMatch(/^eni-/);
    // The SDK's retry carries the same ClientToken: EC2 (and the emulator) answers with the ENI
    // the lost reply was about, not a second one.
    expect(enisInSubnet()).toBe(before + 2);
  });

  it('serverError: 500 InternalError and 503 Unavailable in EC2 XML, nothing applied; the SDK retries them', async () => {
    const eni = (await create()).NetworkInterface!.NetworkInterfaceId!;
    emu.faults.add({ kind: 'serverError', actions: 'AttachNetworkInterface', count: 1 }, { kind: 'serverError', status: 503, actions: 'Attach*', count: 1 });
    const attach = (c = ec2) => c.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: eni, InstanceId: node.instanceId, DeviceIndex: 1 }));
    expect(await failure(attach())).toMatchObject({ name: 'InternalError', status: 500, service: true });
    expect(await failure(attach())).toMatchObject({ name: 'Unavailable', status: 503, service: true });
    expect(emu.topology().instances[0]!.interfaces).toHaveLength(1);

    emu.faults.add({ kind: 'serverError', actions: 'AttachNetworkInterface', count: 1 });
    const retrying = client(emu, { maxAttempts: 2 });
    expect((await attach(retrying)).AttachmentId).toMatch(/^eni-attach-/);
    retrying.destroy();
    expect(emu.faults.fired().byKind).toEqual({ serverError: 3 });
  });

  it('throttle: 503 RequestLimitExceeded', async () => {
    emu.faults.add({ kind: 'throttle', actions: 'DescribeSubnets', count: 1 });
    expect(await failure(subnets())).toMatchObject({ name: 'RequestLimitExceeded', status: 503 });
  });

  it('timeout: the SDK times out; not applied unless asked; applied=true creates the ENI', async () => {
    const impatient = client(emu, { requestTimeoutMs: 200 });
    const before = enisInSubnet();
    emu.faults.add({ kind: 'timeout', actions: 'CreateNetworkInterface', count: 1 });
    expect((await failure(create(impatient))).name).toBe('TimeoutError');
    expect(enisInSubnet()).toBe(before);

    emu.faults.add({ kind: 'timeout', actions: 'CreateNetworkInterface', count: 1, applied: true });
    expect((await failure(create(impatient))).name).toBe('TimeoutError');
    expect(enisInSubnet()).toBe(before + 1);

    emu.faults.add({ kind: 'timeout', actions: 'DescribeSubnets', count: 1, delayMs: 150 });
    const started = Date.now();
    expect((await subnets(impatient)).Subnets).toHaveLength(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    impatient.destroy();
  });

  it('latency: the action is applied at once, the reply comes delayMs later', async () => {
    emu.faults.add({ kind: 'latency', actions: 'CreateNetworkInterface', delayMs: 300 });
    const before = enisInSubnet();
    const started = Date.now();
    const pending = create();
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(enisInSubnet()).toBe(before + 1);
    await pending;
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('notFoundAfterCreate: attach and describe-by-id answer NotFound, filtered describes leave the ENI out, until the window passes', async () => {
    emu.faults.add({ kind: 'notFoundAfterCreate', windowMs: 60_000 });
    const eni = (await create()).NetworkInterface!.NetworkInterfaceId!;
    const attach = () => ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: eni, InstanceId: node.instanceId, DeviceIndex: 2 }));
    expect(await failure(attach())).toMatchObject({ name: 'InvalidNetworkInterfaceID.NotFound', status: 400 });
    expect(await failure(ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eni] })))).toMatchObject({
      name: 'InvalidNetworkInterfaceID.NotFound',
    });
    const filtered = await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'subnet-id', Values: [subnetId] }] }));
    expect(filtered.NetworkInterfaces?.map((n) => n.NetworkInterfaceId)).not.toContain(eni);
    expect(emu.faults.fired().byAction).toEqual({
      notFoundAfterCreate: { AttachNetworkInterface: 1, DescribeNetworkInterfaces: 2 },
    });
    clockOffsetMs += 60_000;
    expect((await attach()).AttachmentId).toMatch(/^eni-attach-/);
    expect(emu.faults.fired().total).toBe(3);
  });

  it('count with skip: lets K through, fires exactly N times, then stops', async () => {
    emu.faults.add({ kind: 'serverError', actions: 'DescribeSubnets', skip: 2, count: 3 });
    const outcomes: string[] = [];
    for (let i = 0; i < 8; i++) outcomes.push(await subnets().then(() => 'ok', (e: Error) => e.name));
    expect(outcomes).toEqual(['ok', 'ok', 'InternalError', 'InternalError', 'InternalError', 'ok', 'ok', 'ok']);
    expect(emu.faults.status().rules[0]).toMatchObject({ seen: 5, fired: 3 });
  });

  it('rate: the same seed gives the same faults on the same requests', async () => {
    const run = async (seed: number) => {
      emu.faults.set({ seed, rules: [{ kind: 'serverError', actions: 'DescribeSubnets', rate: 0.4 }] });
      const outcomes: boolean[] = [];
      for (let i = 0; i < 24; i++) outcomes.push(await subnets().then(() => true, () => false));
      return outcomes;
    };
    const first = await run(42);
    expect(await run(42)).toEqual(first);
    expect(first.filter((ok) => !ok).length).toBeGreaterThan(3);
    expect(first.filter((ok) => ok).length).toBeGreaterThan(3);
    expect(await run(43)).not.toEqual(first);
  });

  it('the HTTP control endpoint sets the plan of a running emulator and reports what fired', async () => {
    const url = emu.faults.controlUrl;
    expect(url).toBe(`${emu.ec2Url}/_emulator/faults`);
    const bad = await fetch(url, { method: 'PUT', body: JSON.stringify({ rules: [{ kind: 'latency', actions: 'DescribeSubnets' }] }) });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: "rules[0].delayMs: required for kind 'latency'", field: 'rules[0].delayMs' });
    const armOnly = await fetch(url, { method: 'POST', body: JSON.stringify([{ kind: 'concurrentWrite', name: 'x' }]) });
    expect(((await armOnly.json()) as { error: string }).error).toMatch(/^rules\[0\]\.kind: "concurrentWrite" is not one of replyLost, /);

    const put = await fetch(url, { method: 'PUT', body: JSON.stringify({ seed: 5, rules: [{ kind: 'serverError', status: 503, actions: ['Describe*'], count: 2 }] }) });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({ seed: 5, rules: [{ kind: 'serverError', status: 503, count: 2, seen: 0, fired: 0 }] });
    await failure(subnets());
    await failure(ec2.send(new DescribeNetworkInterfacesCommand({})));
    await subnets();
    const fired = await (await fetch(`${url}/fired`)).json();
    expect(fired).toEqual({ total: 2, byKind: { serverError: 2 }, byAction: { serverError: { DescribeSubnets: 1, DescribeNetworkInterfaces: 1 } } });
    expect((await fetch(`${url}/fired`, { method: 'DELETE' })).status).toBe(200);
    expect(emu.faults.fired().total).toBe(0);
    expect(((await (await fetch(url, { method: 'DELETE' })).json()) as { rules: unknown[] }).rules).toEqual([]);
  });

  it('closes promptly while a request is held forever', async () => {
    const other = await startAwsEmulator({ faults: { seed: 1, rules: [{ kind: 'timeout', actions: ['*'], rate: undefined, count: undefined, skip: 0, delayMs: undefined, applied: false }] } });
    const patient = client(other, { requestTimeoutMs: 60_000 });
    const held = patient.send(new DescribeSubnetsCommand({})).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    await other.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await held).toBeInstanceOf(Error);
    patient.destroy();
  });

  it('`nativeip emulator aws --faults` starts with the plan and prints the control URL a test then drives', async () => {
    let announced: (line: string) => void = () => undefined;
    const line = new Promise<string>((resolve) => {
      announced = resolve;
    });
    let stop: () => void = () => undefined;
    const until = new Promise<void>((resolve) => {
      stop = resolve;
    });
    const running = runAwsEmulatorCli(['--instances', '0', '--faults', 'serverError@DescribeSubnets,count=1;seed=3'], { write: announced, until });
    const out = JSON.parse(await line) as { ec2Url: string; faultControlUrl: string };
    expect(out.faultControlUrl).toBe(`${out.ec2Url}/_emulator/faults`);
    const remote = new EC2Client({ endpoint: out.ec2Url, region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 });
    expect(await failure(remote.send(new DescribeSubnetsCommand({})))).toMatchObject({ name: 'InternalError' });
    await fetch(out.faultControlUrl, { method: 'POST', body: JSON.stringify({ rules: [{ kind: 'throttle', actions: 'DescribeSubnets', count: 1 }] }) });
    expect(await failure(remote.send(new DescribeSubnetsCommand({})))).toMatchObject({ name: 'RequestLimitExceeded' });
    expect(await (await fetch(`${out.faultControlUrl}/fired`)).json()).toEqual({
      total: 2,
      byKind: { serverError: 1, throttle: 1 },
      byAction: { serverError: { DescribeSubnets: 1 }, throttle: { DescribeSubnets: 1 } },
    });
    remote.destroy();
    stop();
    await running;
  });
});
