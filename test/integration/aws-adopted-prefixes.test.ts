/**
 * A node aws-node ran in prefix mode (ENABLE_PREFIX_DELEGATION=true): the ENI it attached holds /28
 * prefixes. nativeip adopts it (README, "Switching from aws-node") and its prefixes' addresses join
 * the pool like any; in secondary-address mode the pool never tries to give back single addresses
 * out of a prefix (EC2 would refuse), and never detaches or deletes the ENI. The real Ec2Provider and
 * PoolManager over the EC2 + IMDS emulator.
 */
import { AssignPrivateIpAddressesCommand, AttachNetworkInterfaceCommand, CreateNetworkInterfaceCommand, EC2Client } from '@aws-sdk/client-ec2';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startAwsEmulator } from '../../src/emulator/aws/index.js';
import { prefixAddresses } from '../../src/ipamd/pool/plan/prefix-cidr.js';
import { PoolManager } from '../../src/ipamd/pool/pool-manager.js';
import { Ec2Provider } from '../../src/providers/aws/index.js';
import { vpcCniTags } from '../support/aws-node-footprint.js';
import { FakeDatapath } from '../support/fake-datapath.js';
import { waitFor } from '../support/wait-for.js';

const CREDENTIALS = { accessKeyId: 'AKIDEMULATOR', secretAccessKey: 'emulator-secret' };

let emulator: Awaited<ReturnType<typeof startAwsEmulator>>;
let ec2: EC2Client;
let provider: Ec2Provider;
let pool: PoolManager;
let adopted = '';
let prefixes: string[] = [];

beforeAll(async () => {
  emulator = await startAwsEmulator({});
  const instance = await emulator.launchInstance({ instanceType: 'm5.large' });
  ec2 = new EC2Client({ region: emulator.region, endpoint: emulator.ec2Url, credentials: CREDENTIALS });
  const subnetId = emulator.subnets()[0]!.id;
  const old = new Date(Date.now() - 3_600_000).toISOString();
  adopted = (await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetId, TagSpecifications: vpcCniTags(instance.instanceId, old, 'prod') }))).NetworkInterface!.NetworkInterfaceId!;
  const assigned = await ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: adopted, Ipv4PrefixCount: 2 }));
  prefixes = (assigned.AssignedIpv4Prefixes ?? []).map((p) => p.Ipv4Prefix!);
  await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: adopted, InstanceId: instance.instanceId, DeviceIndex: 1 }));
  await waitFor('the attach', () => emulator.topology().instances[0]?.interfaces.some((i) => i.eniId === adopted) || undefined, { timeoutMs: 10_000, intervalMs: 20 });
  provider = new Ec2Provider({ ec2Endpoint: emulator.ec2Url, imdsEndpoint: instance.imdsUrl, credentials: CREDENTIALS, clusterName: 'prod' });
  // Secondary-address mode with a small target: the adopted prefixes alone are more than it wants.
  pool = new PoolManager({ provider, datapath: new FakeDatapath(), targets: { warmEniTarget: 1, warmIpTarget: 2 }, mtu: 9001, attachTimeoutMs: 1000, acquireTimeoutMs: 5000, logger: pino({ level: 'silent' }) });
  await pool.start();
});

afterAll(async () => {
  provider?.close();
  ec2?.destroy();
  await emulator?.close();
});

it('adopts the ENI with its prefixes: their 32 addresses serve pods', async () => {
  expect(prefixes).toHaveLength(2);
  expect([...pool.pool.prefixesOf(adopted)].sort()).toEqual([...prefixes].sort());
  const inPrefixes = new Set(prefixes.flatMap(prefixAddresses));
  expect(pool.pool.addressesOf(adopted).filter((a) => inPrefixes.has(a.address))).toHaveLength(32);
  const node = await provider.describeNode();
  expect(node.interfaces.find((i) => i.id === adopted)).toMatchObject({ managed: false, pooled: true });
  // Enough pods that some must take prefix addresses (the primary ENI holds at most 9).
  const taken: string[] = [];
  for (let i = 0; i < 20; i += 1) taken.push((await pool.acquire(`pod-${i}`)).address);
  expect(new Set(taken).size).toBe(20);
  expect(taken.filter((a) => inPrefixes.has(a)).length).toBeGreaterThan(0);
});

it('shrinking in secondary-address mode gives back no single prefix address, and keeps the ENI and its prefixes', async () => {
  for (let i = 0; i < 20; i += 1) pool.release(`pod-${i}`, { used: false, cooldownMs: 0 });
  await pool.reconcile();
  await pool.kickGrow();
  const eni = emulator.topology().instances[0]?.interfaces.find((i) => i.eniId === adopted);
  expect(eni, 'the adopted ENI is still attached').toBeDefined();
  expect([...(eni?.prefixes ?? [])].sort()).toEqual([...prefixes].sort());
  expect(emulator.callCounts()['DeleteNetworkInterface'] ?? 0).toBe(0);
  expect(emulator.callCounts()['DetachNetworkInterface'] ?? 0).toBe(0);
  expect(emulator.callCounts()['UnassignIpv4Prefixes'] ?? 0).toBe(0);
});
