/**
 * PoolManager.maxPods under the cluster's pod capacity, and PoolManager.outlook(): whether a pod
 * can get an address now or soon and, if not, why (the Node condition's and taint's reason).
 */
import { describe, expect, it } from 'vitest';
import type { VirtualClock } from '../../src/sim/virtual-clock.js';
import { conditionOf, evaluateAvailability, INITIAL_AVAILABILITY } from '../../src/core/node-availability.js';
import { CloudError } from '../../src/core/types.js';
import type { WarmTargets } from '../../src/ipamd/pool/plan/warm-targets.js';
import type { PoolManager } from '../../src/ipamd/pool/pool-manager.js';
import { FakeCloud, type FakeCloudOptions } from '../support/fake-cloud.js';
import { fakePool } from '../support/fake-pool.js';

interface Node {
  readonly pool: PoolManager;
  readonly cloud: FakeCloud;
  readonly clock: VirtualClock;
  /** What the cluster allows; change it to move the cap. */
  capacity: { value: number | undefined };
}

async function startNode(options: { cloud?: FakeCloudOptions; targets?: WarmTargets; capacity?: number } = {}): Promise<Node> {
  const capacity = { value: options.capacity };
  const { pool, cloud, clock } = fakePool({
    cloud: new FakeCloud(options.cloud ?? { maxInterfaces: 3, ipv4PerInterface: 10 }),
    targets: options.targets ?? { warmEniTarget: 1 },
    clusterPodCapacity: () => capacity.value,
  });
  await clock.drive(pool.start());
  return { pool, cloud, clock, capacity };
}

/** Runs virtual time until `promise` settles; undefined when it rejected. */
const settle = async <T>(node: Node, promise: Promise<T>): Promise<T | undefined> => node.clock.drive(promise, { stepMs: 100 }).catch(() => undefined);

describe('PoolManager.maxPods', () => {
  it.each<[string, number | undefined, number]>([
    ['no cluster capacity known: the instance’s own (3 × 10 addresses → 29)', undefined, 29],
    ['a lower cluster capacity caps it', 20, 20],
    ['a higher cluster capacity does not raise it', 110, 29],
    ['the same', 29, 29],
    ['zero (only host-network pods fit)', 0, 0],
    ['never below zero', -3, 0],
  ])('%s', async (_name, capacity, maxPods) => {
    const node = await startNode(capacity === undefined ? {} : { capacity });
    expect(node.pool.maxPods).toBe(maxPods);
  });

  it('is read again each time: the cap follows the cluster', async () => {
    const node = await startNode();
    expect(node.pool.maxPods).toBe(29);
    node.capacity.value = 12;
    expect(node.pool.maxPods).toBe(12);
    node.capacity.value = undefined;
    expect(node.pool.maxPods).toBe(29);
  });

  it('the pool grows no further than the cluster allows', async () => {
    const node = await startNode({ capacity: 5 });
    await settle(node, node.pool.kickGrow());
    expect(node.pool.pool.stats(node.clock.now()).total).toBe(5);
    expect(node.cloud.allSecondaryIps()).toHaveLength(5);
  });
});

describe('PoolManager.outlook', () => {
  it('free addresses: not blocked', async () => {
    const node = await startNode();
    await settle(node, node.pool.kickGrow());
    expect(node.pool.outlook()).toEqual({ free: 9, coolingDown: 0 });
  });

  it('nothing free but the pool can grow, or is growing: not blocked', async () => {
    const node = await startNode({ targets: { warmEniTarget: 0, warmIpTarget: 0 } });
    expect(node.pool.outlook()).toEqual({ free: 0, coolingDown: 0 });
    const growing = settle(node, node.pool.acquire('pod-0'));
    expect(node.pool.outlook()).toEqual({ free: 0, coolingDown: 0 });
    expect(await growing).toBeDefined();
  });

  it('the cluster’s capacity reached: blocked with reason MaxPods', async () => {
    const node = await startNode({ capacity: 3 });
    await settle(node, node.pool.kickGrow());
    for (let i = 0; i < 3; i += 1) expect(await settle(node, node.pool.acquire(`pod-${i}`))).toBeDefined();
    const outlook = node.pool.outlook();
    expect(outlook).toMatchObject({ free: 0, coolingDown: 0, blocked: { reason: 'MaxPods' } });
    expect(outlook.blocked?.message).toMatch(/max pods \(3\)/);
    // After the grow loop's own block has lapsed, the planner gives the same answer.
    await node.clock.runUntil(node.clock.now() + 5_000);
    expect(node.pool.outlook().blocked?.reason).toBe('MaxPods');
  });

  it('at the cluster’s capacity with an address cooling down: blocked, and the cooling address counted', async () => {
    const node = await startNode({ capacity: 3 });
    await settle(node, node.pool.kickGrow());
    for (let i = 0; i < 3; i += 1) await settle(node, node.pool.acquire(`pod-${i}`));
    node.pool.release('pod-0', { used: true, cooldownMs: 30_000 });
    await node.clock.runUntil(node.clock.now() + 5_000);
    const outlook = node.pool.outlook();
    expect(outlook).toMatchObject({ free: 0, coolingDown: 1, blocked: { reason: 'MaxPods' } });
    // The condition says so; the taint waits for the cooldown.
    expect(conditionOf(outlook).available).toBe(false);
    expect(evaluateAvailability(INITIAL_AVAILABILITY, outlook, 0).availability.taint).toBeUndefined();
  });

  it('raising the cluster’s capacity lifts the MaxPods block', async () => {
    const node = await startNode({ capacity: 3 });
    await settle(node, node.pool.kickGrow());
    for (let i = 0; i < 3; i += 1) await settle(node, node.pool.acquire(`pod-${i}`));
    await node.clock.runUntil(node.clock.now() + 5_000);
    expect(node.pool.outlook().blocked?.reason).toBe('MaxPods');
    node.capacity.value = 10;
    expect(node.pool.outlook().blocked).toBeUndefined();
  });

  it('the instance full (every interface and address slot taken): blocked with reason InterfaceLimit', async () => {
    const node = await startNode({ cloud: { maxInterfaces: 2, ipv4PerInterface: 3 } }); // 4 addresses, max pods 6
    expect(node.pool.maxPods).toBe(6);
    for (let i = 0; i < 4; i += 1) expect(await settle(node, node.pool.acquire(`pod-${i}`))).toBeDefined();
    const outlook = node.pool.outlook();
    expect(outlook).toMatchObject({ free: 0, coolingDown: 0, blocked: { reason: 'InterfaceLimit' } });
    expect(outlook.blocked?.message).toMatch(/2 of 2 network interfaces/);
    await node.clock.runUntil(node.clock.now() + 5_000);
    expect(node.pool.outlook().blocked?.reason).toBe('InterfaceLimit');
  });

  it.each<[CloudError, string]>([
    [new CloudError('Throttled', 'Request limit exceeded'), 'Throttled'],
    [new CloudError('SubnetExhausted', 'subnet subnet-fake has 0 free addresses'), 'SubnetFull'],
    [new CloudError('Unauthorized', 'not allowed to AssignPrivateIpAddresses'), 'CloudError'],
  ])('a grow backing off after %s: blocked with reason %s and the cloud’s message', async (error, reason) => {
    const node = await startNode();
    node.cloud.failNext = error;
    await settle(node, node.pool.kickGrow());
    expect(node.pool.outlook()).toEqual({ free: 0, coolingDown: 0, blocked: { reason, message: error.message } });
  });

  it('a backoff does not block while addresses are free', async () => {
    const node = await startNode({ targets: { warmEniTarget: 0, warmIpTarget: 2 } });
    await settle(node, node.pool.kickGrow());
    node.pool.pool.assign('pod-0', node.clock.now()); // one of the two taken, no grow check yet
    node.cloud.failNext = new CloudError('Throttled', 'slow down');
    await settle(node, node.pool.kickGrow());
    expect(node.pool.block?.cause).toBe('Throttled');
    expect(node.pool.outlook()).toEqual({ free: 1, coolingDown: 0 });
  });
});
