/**
 * Prefix delegation end to end through the real SDK: Ec2Provider against the project's EC2 +
 * IMDS emulator (which models /28 prefixes, their slot limits and fragmentation), and the pool
 * manager growing with prefixes and falling back to single addresses on a fragmented subnet.
 */
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CloudError } from '../../src/core/types.js';
import { prefixAddresses } from '../../src/ipamd/pool/plan/prefix-cidr.js';
import { startAwsEmulator } from '../../src/emulator/aws/index.js';
import { PoolManager } from '../../src/ipamd/pool/pool-manager.js';
import { Ec2Provider } from '../../src/providers/aws/index.js';
import { FakeDatapath } from '../support/fake-datapath.js';

type Emulator = Awaited<ReturnType<typeof startAwsEmulator>>;
type Instance = Awaited<ReturnType<Emulator['launchInstance']>>;

const CREDENTIALS = { accessKeyId: 'AKIDEMULATOR', secretAccessKey: 'emulator-secret' };
const logger = pino({ level: 'silent' });

function providerFor(emulator: Emulator, instance: Instance): Ec2Provider {
  return new Ec2Provider({
    ec2Endpoint: emulator.ec2Url,
    imdsEndpoint: instance.imdsUrl,
    credentials: CREDENTIALS,
    detachWait: { attempts: 40, initialDelayMs: 5, maxDelayMs: 50 },
  });
}

async function failure(promise: Promise<unknown>): Promise<CloudError> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(outcome instanceof CloudError)) throw new Error(`expected a CloudError, got ${String(outcome)}`);
  return outcome;
}

async function imdsGet(instance: Instance, path: string): Promise<{ status: number; body: string }> {
  const token = await (await fetch(`${instance.imdsUrl}/latest/api/token`, { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' } })).text();
  const response = await fetch(`${instance.imdsUrl}${path}`, { headers: { 'x-aws-ec2-metadata-token': token } });
  return { status: response.status, body: await response.text() };
}

describe('Ec2Provider prefixes against the AWS emulator', () => {
  let emulator: Emulator;
  let instance: Instance;
  let provider: Ec2Provider;

  beforeAll(async () => {
    emulator = await startAwsEmulator({ subnets: [{ cidr: '10.0.0.0/22' }, { cidr: '10.0.8.0/24', az: 'us-east-1a' }] });
    instance = await emulator.launchInstance({ instanceType: 'm5.large' });
    provider = providerFor(emulator, instance);
  });

  afterAll(async () => {
    provider?.close();
    await emulator?.close();
  });

  it('delegates aligned /28s, shows them in DescribeNetworkInterfaces and IMDS, and releases them', async () => {
    const prefixes = await provider.assignPrefixes(instance.primaryEni, 2);
    expect(prefixes).toHaveLength(2);
    for (const prefix of prefixes) expect(prefixAddresses(prefix)).toHaveLength(16);
    const node = await provider.describeNode();
    expect(node.limits.vcpus).toBe(2);
    expect([...(node.interfaces[0]?.prefixes ?? [])].sort()).toEqual([...prefixes].sort());
    expect(emulator.topology().instances[0]?.interfaces[0]?.prefixes).toEqual(prefixes);
    const imds = await imdsGet(instance, `/latest/meta-data/network/interfaces/macs/${instance.mac}/ipv4-prefix`);
    expect(imds.body.split('\n').sort()).toEqual([...prefixes].sort());

    await provider.releasePrefixes(instance.primaryEni, [prefixes[0]!]);
    await provider.releasePrefixes(instance.primaryEni, prefixes); // the first is gone already: not an error
    expect((await provider.describeNode()).interfaces[0]?.prefixes ?? []).toEqual([]);
  });

  it('counts each prefix as one address slot of the interface', async () => {
    // m5.large: 10 IPv4 slots per ENI, one is the primary address.
    const addresses = await provider.assignAddresses(instance.primaryEni, 3);
    const prefixes = await provider.assignPrefixes(instance.primaryEni, 6);
    const error = await failure(provider.assignPrefixes(instance.primaryEni, 1));
    expect(error.code).toBe('AddressLimit');
    await provider.releasePrefixes(instance.primaryEni, prefixes);
    await provider.releaseAddresses(instance.primaryEni, addresses);
  });

  it('creates an interface with prefixes', async () => {
    const created = await provider.createInterface({ deviceIndex: 1, secondaryCount: 0, prefixCount: 2 });
    expect(created.prefixes).toHaveLength(2);
    expect(created.secondaryIps).toEqual([]);
    await provider.deleteInterface(created.id);
  });

  describe('on a fragmented subnet', () => {
    afterEach(() => emulator.unfragmentSubnet());

    it('refuses prefixes with SubnetExhausted, fragmented, while single addresses still work', async () => {
      const held = emulator.fragmentSubnet();
      expect(held.length).toBeGreaterThan(0);
      const error = await failure(provider.assignPrefixes(instance.primaryEni, 1));
      expect(error).toMatchObject({ code: 'SubnetExhausted', cloudCode: 'InsufficientCidrBlocks', fragmented: true });
      expect(error.message).toMatch(/no free aligned \/28 block/);
      const singles = await provider.assignAddresses(instance.primaryEni, 2);
      expect(singles).toHaveLength(2);
      await provider.releaseAddresses(instance.primaryEni, singles);
    });

    it('a full subnet is not reported as fragmented', async () => {
      const error = await failure(provider.assignAddresses(instance.primaryEni, 9_000));
      expect(error.code).not.toBe('InvalidRequest');
      expect(error.fragmented).toBe(false);
    });
  });
});

describe('PoolManager in prefix mode against the AWS emulator', () => {
  let emulator: Emulator;

  beforeAll(async () => {
    emulator = await startAwsEmulator({});
  });

  afterAll(async () => {
    await emulator?.close();
  });

  async function poolOn(instanceType: string, targets: ConstructorParameters<typeof PoolManager>[0]['targets']) {
    const instance = await emulator.launchInstance({ instanceType });
    const provider = providerFor(emulator, instance);
    const pool = new PoolManager({ provider, datapath: new FakeDatapath(), targets, mtu: 9001, attachTimeoutMs: 1000, acquireTimeoutMs: 5000, logger });
    await pool.start();
    return { instance, provider, pool };
  }

  it('keeps WARM_PREFIX_TARGET free prefixes and hands out prefix addresses', async () => {
    const { instance, provider, pool } = await poolOn('m5.large', { warmEniTarget: 1, prefixDelegation: true, warmPrefixTarget: 1 });
    try {
      await pool.kickGrow();
      expect(pool.pool.prefixesOf(instance.primaryEni)).toHaveLength(1);
      expect(pool.pool.stats(Date.now()).available).toBe(16);
      expect(pool.maxPods).toBe(110);
      const held = [];
      for (let i = 0; i < 17; i++) held.push(await pool.acquire(`pod-${i}`));
      await pool.kickGrow();
      // 17 pods: 16 + 1 in use, so a third prefix keeps a whole free one.
      expect(pool.pool.prefixesOf(instance.primaryEni)).toHaveLength(3);
      const inCloud = emulator.topology().instances.find((i) => i.instanceId === instance.instanceId)?.interfaces[0]?.prefixes ?? [];
      for (const { address } of held) expect(inCloud.some((p) => prefixAddresses(p).includes(address))).toBe(true);
      for (let i = 0; i < 17; i++) pool.release(`pod-${i}`, { used: false, cooldownMs: 0 });
      await pool.reconcile();
      await pool.reconcile();
      expect(pool.pool.prefixesOf(instance.primaryEni)).toHaveLength(1);
    } finally {
      pool.close();
      provider.close();
      await emulator.terminateInstance(instance.instanceId);
    }
  });

  it('falls back to single addresses when the subnet has no free /28, and serves pods', async () => {
    const { instance, provider, pool } = await poolOn('m5.large', { warmEniTarget: 1, prefixDelegation: true, warmPrefixTarget: 1 });
    try {
      emulator.fragmentSubnet();
      const held = [];
      for (let i = 0; i < 10; i++) held.push(await pool.acquire(`pod-${i}`));
      await pool.kickGrow();
      expect(pool.prefixFallback).toBe(true);
      const enis = emulator.topology().instances.find((i) => i.instanceId === instance.instanceId)?.interfaces ?? [];
      expect(enis.length).toBeGreaterThan(1);
      for (const { address, interfaceId } of held) {
        const eni = enis.find((e) => e.eniId === interfaceId);
        expect([...(eni?.secondaryIps ?? []), ...(eni?.prefixes ?? []).flatMap(prefixAddresses)]).toContain(address);
      }
      expect(pool.block).toBeUndefined();
      expect(pool.pool.stats(Date.now()).available).toBeGreaterThanOrEqual(16);
    } finally {
      emulator.unfragmentSubnet();
      pool.close();
      provider.close();
      await emulator.terminateInstance(instance.instanceId);
    }
  });
});
