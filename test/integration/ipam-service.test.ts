import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CloudError } from '../../src/core/types.js';
import { FileCheckpoint } from '../../src/ipamd/checkpoint/checkpoint.js';
import { IpamService } from '../../src/ipamd/service/ipam-service.js';
import { PoolManager } from '../../src/ipamd/pool/pool-manager.js';
import type { WarmTargets } from '../../src/ipamd/pool/plan/warm-targets.js';
import { FakeCloud } from '../support/fake-cloud.js';
import { FakeDatapath } from '../support/fake-datapath.js';

const logger = pino({ level: 'silent' });
let dir: string;
let now = 1_000_000;
const gone = new Set<string>();

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nativeip-ipam-'));
  now = 1_000_000;
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function startNode(cloud: FakeCloud, datapath: FakeDatapath, targets: WarmTargets = { warmEniTarget: 1 }) {
  const clock = () => now;
  const pool = new PoolManager({ provider: cloud, datapath, targets, mtu: 9001, attachTimeoutMs: 1000, acquireTimeoutMs: 2000, logger, clock });
  const checkpoint = new FileCheckpoint(join(dir, 'checkpoint.json'));
  const service = new IpamService({ pool, datapath, checkpoint, logger, mtu: 9001, vethPrefix: 'eni', ipCooldownMs: 30_000, clock, netnsExists: async (path) => !gone.has(path) });
  await pool.start();
  await service.restore();
  await pool.kickGrow();
  return { pool, service };
}

const pod = (n: number) => ({ networkName: 'nativeip', containerId: `c${n}`, ifName: 'eth0', netns: `/run/netns/p${n}`, podNamespace: 'default', podName: `pod-${n}` });

describe('IpamService', () => {
  it('warms the pool to one full interface and assigns from it with one cloud call', async () => {
    const cloud = new FakeCloud();
    const { service } = await startNode(cloud, new FakeDatapath());
    expect(cloud.calls['assignAddresses']).toBe(1);
    const result = await service.add(pod(1));
    expect(result.address).toMatch(/^10\.0\.\d+\.\d+\/32$/);
    expect(result.gateway).toBe('169.254.1.1');
    expect(result.interfaceId).toBe('eni-0');
  });

  it('hands distinct addresses to concurrent ADDs and grows a second interface on demand', async () => {
    const cloud = new FakeCloud(); // 3 secondaries per interface
    const datapath = new FakeDatapath();
    const { service } = await startNode(cloud, datapath);
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => service.add(pod(n))));
    const addresses = results.map((r) => r.address);
    expect(new Set(addresses).size).toBe(5);
    expect(results.some((r) => r.interfaceId !== 'eni-0')).toBe(true);
    expect(datapath.interfaces.size).toBeGreaterThan(0);
    for (const a of addresses) expect(cloud.allSecondaryIps()).toContain(a.replace('/32', ''));
  });

  it('repeats an ADD for the same key with the same address', async () => {
    const { service } = await startNode(new FakeCloud(), new FakeDatapath());
    const first = await service.add(pod(1));
    const again = await service.add(pod(1));
    expect(again.address).toBe(first.address);
  });

  it('cools a released address down before handing it out again', async () => {
    const cloud = new FakeCloud({ ipv4PerInterface: 2, maxInterfaces: 1 });
    const { service } = await startNode(cloud, new FakeDatapath());
    const first = await service.add(pod(1));
    await service.del(pod(1));
    await expect(service.add(pod(2))).rejects.toMatchObject({ rpcCode: 'PoolExhausted' });
    now += 30_001;
    expect((await service.add(pod(3))).address).toBe(first.address);
  });

  it('says exactly why the pool cannot grow', async () => {
    const cloud = new FakeCloud({ ipv4PerInterface: 2, maxInterfaces: 1 });
    const { service } = await startNode(cloud, new FakeDatapath());
    await service.add(pod(1));
    await expect(service.add(pod(2))).rejects.toThrow(/1 of 1 network interfaces \(the instance type limit\)/);
  });

  it('passes a full subnet on to the pod, by name', async () => {
    const cloud = new FakeCloud({ subnetFree: 1 });
    const { service } = await startNode(cloud, new FakeDatapath());
    await expect(service.add(pod(1))).rejects.toThrow(/subnet subnet-fake has no free addresses/);
  });

  it('answers "try again later" while the cloud throttles', async () => {
    const cloud = new FakeCloud();
    cloud.failNext = new CloudError('Throttled', 'Request limit exceeded.', { cloudCode: 'RequestLimitExceeded' });
    const { service } = await startNode(cloud, new FakeDatapath());
    await expect(service.add(pod(1))).rejects.toMatchObject({ rpcCode: 'PoolEmptyGrowing', retryable: true });
  });

  it('cools the address of a failed ADD down, so the retry gets another one', async () => {
    const datapath = new FakeDatapath();
    const { service, pool } = await startNode(new FakeCloud(), datapath);
    datapath.failNextAdd = true;
    await expect(service.add(pod(1))).rejects.toMatchObject({ rpcCode: 'DatapathFailed' });
    expect(pool.pool.stats(now).assigned).toBe(0);
    expect(pool.pool.stats(now).coolingDown).toBe(1);
    const [cooling] = pool.pool.cooldowns(now);
    expect((await service.add(pod(1))).address).not.toBe(`${cooling!.address}/32`);
  });

  it('holds the address of a failed ADD that the kernel still routes to another pod, never handing it out again', async () => {
    const datapath = new FakeDatapath();
    const { service, pool } = await startNode(new FakeCloud(), datapath);
    // The address the pool picks next is still routed to a pod no record shows (EEXIST in the kernel).
    const next = pool.pool.assign('peek', now)!.address;
    pool.pool.release('peek', now, 0);
    datapath.pods.set('enistray0000000', { netnsPath: '/run/netns/stray', podIfName: 'eth0', hostVethName: 'enistray0000000', address: next, mtu: 9001 });
    await expect(service.add(pod(1))).rejects.toMatchObject({ rpcCode: 'DatapathFailed' });
    expect(service.heldAddresses()).toEqual([{ address: next, hostVeth: 'enistray0000000', source: 'kernel' }]);
    const given = [];
    for (let n = 2; n <= 6; n += 1) given.push((await service.add(pod(n))).address);
    expect(given).not.toContain(`${next}/32`);
  });

  it('DEL of an unknown container succeeds, and DEL twice succeeds', async () => {
    const { service } = await startNode(new FakeCloud(), new FakeDatapath());
    await expect(service.del(pod(9))).resolves.toEqual({});
    await service.add(pod(1));
    await service.del(pod(1));
    await expect(service.del(pod(1))).resolves.toEqual({});
  });

  it('restores allocations and cooldowns after a restart, so nothing doubles', async () => {
    const cloud = new FakeCloud();
    const datapath = new FakeDatapath();
    const first = await startNode(cloud, datapath);
    const a = await first.service.add(pod(1));
    const b = await first.service.add(pod(2));
    await first.service.del(pod(2));

    const saved = JSON.parse(await readFile(join(dir, 'checkpoint.json'), 'utf8'));
    expect(saved.version).toBe(1);
    expect(saved.allocations).toHaveLength(1);

    const second = await startNode(cloud, datapath);
    const c = await second.service.add(pod(3));
    expect(c.address).not.toBe(a.address);
    expect(c.address).not.toBe(b.address); // b is still cooling down
    await second.service.del(pod(1));
    expect(datapath.pods.size).toBe(1);
    expect(second.service.status().pods.map((p) => p.containerId)).toEqual(['c3']);
  });

  it('releases pods whose network namespace is gone (their DEL never arrived)', async () => {
    const datapath = new FakeDatapath();
    const { service } = await startNode(new FakeCloud(), datapath);
    await service.add(pod(1));
    await service.add(pod(2));
    await service.add(pod(3));
    // Pod 2's namespace is gone, and its veth (with its route) went with it, as in the kernel.
    gone.add(pod(2).netns);
    datapath.pods.delete([...datapath.pods.values()].find((p) => p.netnsPath === pod(2).netns)!.hostVethName);
    // Pod 3's namespace is not where its record says (a record gone wrong), but the kernel still
    // routes its address to its veth: it lives, and keeps its address.
    gone.add(pod(3).netns);
    expect(await service.releaseEndedPods()).toBe(1);
    expect(service.status().pods.map((p) => p.containerId)).toEqual(['c1', 'c3']);
    expect(datapath.pods.size).toBe(2);
    gone.clear();
  });

  it('CHECK reports drift', async () => {
    const datapath = new FakeDatapath();
    const { service } = await startNode(new FakeCloud(), datapath);
    const added = await service.add(pod(1));
    expect(await service.check(pod(1))).toEqual({ ok: true, problems: [] });
    datapath.pods.clear();
    const checked = await service.check(pod(1));
    expect(checked.ok).toBe(false);
    expect(checked.problems.join()).toMatch(/missing/);
    expect(added.address).toBeTruthy();
  });

  it('GC releases allocations that are not in the valid list', async () => {
    const { service } = await startNode(new FakeCloud(), new FakeDatapath());
    await service.add(pod(1));
    await service.add(pod(2));
    expect(await service.gc({ networkName: 'nativeip', validAttachments: [{ containerId: 'c1', ifName: 'eth0' }] })).toEqual({ released: 1 });
    expect(service.status().pods.map((p) => p.containerId)).toEqual(['c1']);
  });

  it('shrinks in IP mode: releases the excess after pods leave', async () => {
    const cloud = new FakeCloud({ ipv4PerInterface: 10 });
    const { service, pool } = await startNode(cloud, new FakeDatapath(), { warmEniTarget: 1, warmIpTarget: 2 });
    expect(pool.pool.stats(now).total).toBe(2);
    await Promise.all([1, 2, 3, 4].map((n) => service.add(pod(n))));
    await pool.kickGrow();
    for (const n of [1, 2, 3, 4]) await service.del(pod(n));
    now += 30_001;
    await pool.reconcile();
    expect(pool.pool.stats(now)).toMatchObject({ assigned: 0, available: 2 });
    expect(cloud.calls['releaseAddresses']).toBe(1);
  });
});

/** A datapath whose leftover sweep always finds one object, and records whether an ADD was in flight when it removed it. */
class SweepingDatapath extends FakeDatapath {
  addsInFlight = 0;
  removedDuringAdd = 0;
  removals = 0;
  release: (() => void) | undefined;
  override async addPod(spec: Parameters<FakeDatapath['addPod']>[0]) {
    this.addsInFlight += 1;
    try {
      await new Promise<void>((resolve) => (this.release = resolve));
      return await super.addPod(spec);
    } finally {
      this.addsInFlight -= 1;
    }
  }
  async removePodLeftovers(query: { dryRun?: boolean }): Promise<string[]> {
    if (query.dryRun === true) return ['host veth eniold'];
    this.removals += 1;
    if (this.addsInFlight > 0) this.removedDuringAdd += 1;
    return ['host veth eniold'];
  }
}

describe('IpamService leftover sweep', () => {
  it('looks while ADDs run, but removes only with none in flight (a pod set up meanwhile could reuse a name or an address)', async () => {
    const datapath = new SweepingDatapath();
    const { service } = await startNode(new FakeCloud(), datapath);
    const adding = service.add(pod(1));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(datapath.addsInFlight).toBe(1);
    const sweeping = service.removeLeftovers();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(datapath.removals).toBe(0);
    datapath.release?.();
    await adding;
    expect(await sweeping).toEqual(['host veth eniold']);
    expect(datapath.removals).toBe(1);
    expect(datapath.removedDuringAdd).toBe(0);
  });
});
