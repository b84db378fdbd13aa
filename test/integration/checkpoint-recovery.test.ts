/**
 * A lost or damaged checkpoint with live pods: the daemon holds the addresses the kernel shows
 * its pods using (our /32 routes over our veths), never hands one to another pod, lets kubelet's
 * DEL of such a pod release it (matched by the pod's host veth), and sets a damaged file aside.
 * Real checkpoint file in a temp dir; the kernel is the fake datapath, which outlives the daemon.
 */
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileCheckpoint } from '../../src/ipamd/checkpoint/checkpoint.js';
import { IpamService } from '../../src/ipamd/service/ipam-service.js';
import { PoolManager } from '../../src/ipamd/pool/pool-manager.js';
import { FakeCloud } from '../support/fake-cloud.js';
import { FakeDatapath } from '../support/fake-datapath.js';

const logger = pino({ level: 'silent' });
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nativeip-recovery-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function startDaemon(cloud: FakeCloud, datapath: FakeDatapath) {
  const pool = new PoolManager({ provider: cloud, datapath, targets: { warmEniTarget: 1, warmIpTarget: 1 }, mtu: 9001, attachTimeoutMs: 1000, acquireTimeoutMs: 500, logger });
  const service = new IpamService({ pool, datapath, checkpoint: new FileCheckpoint(join(dir, 'checkpoint.json')), logger, mtu: 9001, vethPrefix: 'eni', ipCooldownMs: 0, netnsExists: async () => true });
  await pool.start();
  await service.restore();
  await pool.kickGrow();
  return { pool, service };
}

const pod = (n: number) => ({ networkName: 'nativeip', containerId: `c${n}`, ifName: 'eth0', netns: `/run/netns/p${n}`, podNamespace: 'default', podName: `pod-${n}` });

describe.each([
  ['deleted', async () => rm(join(dir, 'checkpoint.json'))],
  ['truncated', async () => writeFile(join(dir, 'checkpoint.json'), '{"version":1,"instanceId":"i-fa')],
  ['garbage', async () => writeFile(join(dir, 'checkpoint.json'), '\u0000\u0001 not a checkpoint')],
])('a %s checkpoint with live pods', (_how, damage) => {
  it('rebuilds their allocations from the kernel (routes and veth aliases): whole again, and no new pod gets their addresses', async () => {
    const cloud = new FakeCloud({ maxInterfaces: 2, ipv4PerInterface: 4 });
    const datapath = new FakeDatapath();
    const first = await startDaemon(cloud, datapath);
    const live = new Map<number, string>();
    for (const n of [1, 2, 3, 4]) live.set(n, (await first.service.add(pod(n))).address.replace('/32', ''));
    const before = first.service.status().pods.map((p) => ({ containerId: p.containerId, address: p.address, interfaceId: p.interfaceId }));
    first.pool.close();
    await damage();

    const second = await startDaemon(cloud, datapath);
    expect(second.service.status().pods.map((p) => ({ containerId: p.containerId, address: p.address, interfaceId: p.interfaceId }))).toEqual(before);
    expect(second.service.heldAddresses()).toEqual([]);
    expect((await second.service.check(pod(2))).ok).toBe(true);
    // A repeated ADD finds its allocation; new pods get the node's other addresses, then none.
    expect((await second.service.add(pod(3))).address).toBe(`${live.get(3)}/32`);
    const fresh = [];
    for (const n of [5, 6]) fresh.push((await second.service.add(pod(n))).address.replace('/32', ''));
    for (const address of fresh) expect([...live.values()]).not.toContain(address);
    await expect(second.service.add(pod(7))).rejects.toThrow(/no free address/);
    await second.service.del(pod(1));
    expect([...datapath.pods.values()].map((p) => p.address)).not.toContain(live.get(1));
    second.pool.close();
  });

  it('with veths an older version made (no alias), holds their addresses from the kernel: none is handed to a new pod, and DEL by the pod releases it', async () => {
    const cloud = new FakeCloud({ maxInterfaces: 2, ipv4PerInterface: 4 });
    const datapath = new FakeDatapath();
    datapath.keepsAliases = false;
    const first = await startDaemon(cloud, datapath);
    const live = new Map<number, string>();
    for (const n of [1, 2, 3, 4]) live.set(n, (await first.service.add(pod(n))).address.replace('/32', ''));
    first.pool.close();
    await damage();

    const second = await startDaemon(cloud, datapath);
    expect(second.service.status().pods).toEqual([]);
    expect(new Set(second.service.heldAddresses().map((h) => h.address))).toEqual(new Set(live.values()));
    // Every new pod gets an address no live pod holds; the node's other two addresses, then none.
    const fresh = [];
    for (const n of [5, 6]) fresh.push((await second.service.add(pod(n))).address.replace('/32', ''));
    for (const address of fresh) expect([...live.values()]).not.toContain(address);
    await expect(second.service.add(pod(7))).rejects.toThrow(/no free address/);
    // The pool never gives the held addresses back to the cloud.
    await second.pool.reconcile();
    for (const address of live.values()) expect(cloud.allSecondaryIps()).toContain(address);
    // kubelet's DEL of pod 1 (its checkpoint entry lost) finds it by its host veth.
    await second.service.del({ ...pod(1) });
    expect(second.service.heldAddresses().map((h) => h.address)).not.toContain(live.get(1));
    expect([...datapath.pods.values()].map((p) => p.address)).not.toContain(live.get(1));
    expect((await second.service.add(pod(8))).address).toBe(`${live.get(1)}/32`);
    const files = await readdir(dir);
    if (_how === 'deleted') expect(files.filter((f) => f.includes('damaged'))).toEqual([]);
    else expect(files.filter((f) => f.startsWith('checkpoint.json.damaged-'))).toHaveLength(1);
    second.pool.close();
  });
});

it('a checkpoint of a version this daemon does not read is refused, not overwritten', async () => {
  await writeFile(join(dir, 'checkpoint.json'), JSON.stringify({ version: 99, instanceId: 'i-x', allocations: [], cooldowns: [] }));
  const cloud = new FakeCloud();
  await expect(startDaemon(cloud, new FakeDatapath())).rejects.toThrow(/version 99 is not supported/);
  expect(await readdir(dir)).toEqual(['checkpoint.json']);
});

/**
 * Pod 1 added, then its address taken off the node in the cloud while the daemon is down (someone
 * unassigned it, or a lagging read): the restarted daemon finds its allocation stranded.
 */
async function strandPodOne(cloud: FakeCloud) {
  const datapath = new FakeDatapath();
  const first = await startDaemon(cloud, datapath);
  const address = (await first.service.add(pod(1))).address.replace('/32', '');
  first.pool.close();
  const eni = cloud.interfaces.find((i) => i.secondaryIps.includes(address))!;
  eni.secondaryIps = eni.secondaryIps.filter((ip) => ip !== address);
  return { address, eni, second: await startDaemon(cloud, datapath) };
}

describe('a checkpoint that disagrees with the other records', () => {
  it('the same address twice: the pod the kernel routes it to keeps it, the other is dropped, and no new pod gets it', async () => {
    const cloud = new FakeCloud({ maxInterfaces: 2, ipv4PerInterface: 4 });
    const datapath = new FakeDatapath();
    const first = await startDaemon(cloud, datapath);
    const a = (await first.service.add(pod(1))).address.replace('/32', '');
    const b = (await first.service.add(pod(2))).address.replace('/32', '');
    first.pool.close();
    // Pod 2's entry is edited to pod 1's address (a hand-edited file, a bug).
    const path = join(dir, 'checkpoint.json');
    const saved = JSON.parse(await readFile(path, 'utf8')) as { allocations: { containerId: string; address: string }[] };
    saved.allocations.find((x) => x.containerId === 'c2')!.address = a;
    await writeFile(path, JSON.stringify(saved));

    const second = await startDaemon(cloud, datapath);
    const pods = second.service.status().pods;
    expect(pods.filter((p) => p.address === a).map((p) => p.containerId)).toEqual(['c1']);
    // Pod 2's record is dropped (the kernel routes another address over its veth), and pod 2 is
    // rebuilt from the kernel with the address it really has.
    expect(pods.find((p) => p.containerId === 'c2')?.address).toBe(b);
    for (const n of [3, 4, 5]) expect((await second.service.add(pod(n))).address).not.toBe(`${a}/32`);
    second.pool.close();
  });

  it('an address the node no longer has: kept for its DEL, reported by CHECK, never handed to a new pod', async () => {
    const { address, second } = await strandPodOne(new FakeCloud({ maxInterfaces: 2, ipv4PerInterface: 4 }));
    expect(second.service.isStranded(pod(1))).toBe(true);
    const check = await second.service.check(pod(1));
    expect(check.problems).toContain(`address ${address} is no longer on any of the node's interfaces in the cloud`);
    await second.service.del(pod(1));
    expect(second.service.status().pods).toEqual([]);
    expect(second.service.isStranded(pod(1))).toBe(false);
    second.pool.close();
  });

  it('a stranded address the cloud shows again goes back to its pod, never to a new one', async () => {
    const { address, eni, second } = await strandPodOne(new FakeCloud({ maxInterfaces: 1, ipv4PerInterface: 4 }));
    expect(second.service.isStranded(pod(1))).toBe(true);
    eni.secondaryIps = [...eni.secondaryIps, address];
    await second.pool.reconcile();
    expect(second.pool.pool.ownerOf(address)).toBe('nativeip/c1/eth0');
    expect(second.service.settleStranded()).toBe(1);
    expect(second.service.isStranded(pod(1))).toBe(false);
    expect((await second.service.check(pod(1))).ok).toBe(true);
    for (const n of [2, 3]) expect((await second.service.add(pod(n))).address).not.toBe(`${address}/32`);
    second.pool.close();
  });
});

it('after a lost checkpoint with the Kubernetes API connected, nothing is released until the API\'s pods are held', async () => {
  const cloud = new FakeCloud({ maxInterfaces: 2, ipv4PerInterface: 6 });
  const datapath = new FakeDatapath();
  // warm 1 address: the fresh pool's extra addresses are excess, released by a settled node.
  const targets = { warmEniTarget: 0, warmIpTarget: 1 };
  const build = () => {
    const pool: PoolManager = new PoolManager({ provider: cloud, datapath, targets, mtu: 9001, attachTimeoutMs: 1000, acquireTimeoutMs: 500, logger, unsettledReason: () => service.unsettledReason() });
    const service: IpamService = new IpamService({ pool, datapath, checkpoint: new FileCheckpoint(join(dir, 'checkpoint.json')), logger, mtu: 9001, vethPrefix: 'eni', ipCooldownMs: 0, netnsExists: async () => true, clusterConnected: true });
    return { pool, service };
  };
  cloud.interfaces[0]!.secondaryIps.push('10.0.0.200', '10.0.0.201', '10.0.0.202', '10.0.0.203');
  const { pool, service } = build();
  await pool.start();
  await service.restore();
  expect(service.unsettledReason()).toMatch(/Kubernetes API's pods have not been read yet/);
  await pool.reconcile();
  expect(cloud.allSecondaryIps()).toEqual(expect.arrayContaining(['10.0.0.200', '10.0.0.201', '10.0.0.202', '10.0.0.203']));
  service.holdLivePodAddresses([{ namespace: 'default', name: 'web', podIps: ['10.0.0.201'] }]);
  expect(service.unsettledReason()).toBeUndefined();
  expect(service.heldAddresses().map((h) => h.address)).toEqual(['10.0.0.201']);
  await pool.reconcile();
  expect(cloud.allSecondaryIps()).toContain('10.0.0.201');
  expect(cloud.allSecondaryIps().length).toBeLessThan(4);
  pool.close();
});
