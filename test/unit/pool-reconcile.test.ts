/**
 * PoolManager.reconcile with a provider that can observe the node (as AWS does from IMDS): the
 * cloud's API is described only on a real mismatch, the observation's lag after our own grow
 * costs a recheck but no describe and no loop, and pods hear why growth is paused.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { CloudError, type NodeObservation, type ObservedInterface } from '../../src/core/types.js';
import { THROTTLED_NO_SHRINK_MS } from '../../src/ipamd/pool/grow-backoff.js';
import { RpcServiceError } from '../../src/rpc/errors.js';
import { FakeCloud } from '../support/fake-cloud.js';
import { fakePool } from '../support/fake-pool.js';

/** FakeCloud plus an instance view that shows each change `lagMs` after it happened. */
class ObservingCloud extends FakeCloud {
  lagMs = 1_500;
  observations = 0;
  failObserve: Error | undefined;
  readonly #clock: () => number;
  readonly #history: Array<{ at: number; view: ObservedInterface[] }> = [];

  constructor(clock: () => number) {
    super({ maxInterfaces: 3, ipv4PerInterface: 6 });
    this.#clock = clock;
    this.#history.push({ at: Number.NEGATIVE_INFINITY, view: this.#now() });
  }

  /** Records the cloud's current state as what the instance will see after the lag. */
  changed(): void {
    this.#history.push({ at: this.#clock(), view: this.#now() });
  }

  override async assignAddresses(interfaceId: string, count: number): Promise<string[]> {
    const added = await super.assignAddresses(interfaceId, count);
    this.changed();
    return added;
  }

  override async releaseAddresses(interfaceId: string, addresses: readonly string[]): Promise<void> {
    await super.releaseAddresses(interfaceId, addresses);
    this.changed();
  }

  async observeNode(): Promise<NodeObservation> {
    this.observations += 1;
    if (this.failObserve !== undefined) throw this.failObserve;
    const cutoff = this.#clock() - this.lagMs;
    const visible = this.#history.filter((entry) => entry.at <= cutoff).at(-1);
    return { interfaces: visible?.view ?? [], vpcCidrs: ['10.0.0.0/16'] };
  }

  #now(): ObservedInterface[] {
    return this.interfaces.map((i) => ({
      id: i.id,
      mac: `02:00:00:00:00:0${i.deviceIndex}`,
      deviceIndex: i.deviceIndex,
      addresses: [i.primaryIp, ...i.secondaryIps],
      prefixes: [],
    }));
  }
}

async function startNode(options: { observing?: boolean; random?: () => number } = {}) {
  const clock = new VirtualClock(1_000_000);
  const cloud = options.observing === false ? new FakeCloud({ maxInterfaces: 3, ipv4PerInterface: 6 }) : new ObservingCloud(clock.now);
  const { pool } = fakePool({
    cloud,
    clock,
    targets: { warmEniTarget: 0, warmIpTarget: 2 },
    acquireTimeoutMs: 20_000,
    ...(options.random === undefined ? {} : { random: options.random }),
  });
  await run(clock, pool.start());
  return { clock, cloud, pool };
}

/** Runs virtual time until `promise` settles (at most an hour). */
const run = <T>(clock: VirtualClock, promise: Promise<T>): Promise<T> => clock.drive(promise, { stepMs: 1_000 });

describe('PoolManager.reconcile with an observing provider', () => {
  it('describes nothing while the observation matches the pool', async () => {
    const { clock, cloud, pool } = await startNode();
    await run(clock, pool.kickGrow());
    await clock.runUntil(clock.now() + 60_000);
    for (let i = 0; i < 5; i++) {
      await run(clock, pool.reconcile());
      await clock.runUntil(clock.now() + 60_000);
    }
    expect(cloud.calls['describeNode']).toBe(1); // start-up only
    expect((cloud as ObservingCloud).observations).toBe(5);
    expect(pool.reconcileCounts).toEqual({ observedMatch: 5, rechecked: 0, described: 0 });
  });

  it('right after our own grow, a lagging view is checked again, not described, and the reconcile ends', async () => {
    const { clock, cloud, pool } = await startNode();
    await run(clock, pool.kickGrow());
    expect(pool.pool.stats(clock.now()).available).toBe(2);
    // The view still lacks the two new addresses (1.5 s lag).
    await run(clock, pool.reconcile());
    expect(pool.reconcileCounts).toEqual({ observedMatch: 1, rechecked: 1, described: 0 });
    expect(cloud.calls['describeNode']).toBe(1);
    expect(pool.pool.stats(clock.now()).available).toBe(2);
  });

  it('a view that stays stale costs one describe per reconcile, never a loop', async () => {
    const { clock, cloud, pool } = await startNode();
    (cloud as ObservingCloud).lagMs = Number.POSITIVE_INFINITY;
    await run(clock, pool.kickGrow());
    await run(clock, pool.reconcile());
    expect(pool.reconcileCounts).toEqual({ observedMatch: 0, rechecked: 1, described: 1 });
    await clock.runUntil(clock.now() + 60_000);
    await run(clock, pool.reconcile());
    expect(pool.reconcileCounts).toEqual({ observedMatch: 0, rechecked: 1, described: 2 });
    expect(cloud.calls['describeNode']).toBe(3);
    // The describes found nothing to change.
    expect(pool.pool.stats(clock.now()).available).toBe(2);
  });

  it('a change behind our back is described at once and the pool follows it', async () => {
    const { clock, cloud, pool } = await startNode();
    await run(clock, pool.kickGrow());
    await clock.runUntil(clock.now() + 60_000);
    const primary = (cloud as ObservingCloud).interfaces[0]!;
    const gone = primary.secondaryIps.shift()!;
    (cloud as ObservingCloud).changed();
    await clock.runUntil(clock.now() + 60_000);
    await run(clock, pool.reconcile());
    expect(pool.reconcileCounts).toEqual({ observedMatch: 0, rechecked: 0, described: 1 });
    expect(pool.pool.addressesOf(primary.id).map((a) => a.address)).not.toContain(gone);
  });

  it('describes when the instance metadata cannot be read', async () => {
    const { clock, cloud, pool } = await startNode();
    (cloud as ObservingCloud).failObserve = new CloudError('Transient', 'IMDS /latest/meta-data/network/interfaces/macs/ failed: HTTP 500');
    await run(clock, pool.reconcile());
    expect(pool.reconcileCounts.described).toBe(1);
    expect(cloud.calls['describeNode']).toBe(2);
  });

  it('describes every 15 minutes even when the observation keeps matching', async () => {
    const { clock, cloud, pool } = await startNode();
    for (let minute = 1; minute <= 30; minute++) {
      await clock.runUntil(clock.now() + 60_000);
      await run(clock, pool.reconcile());
    }
    expect(pool.reconcileCounts).toEqual({ observedMatch: 28, rechecked: 0, described: 2 });
    expect(cloud.calls['describeNode']).toBe(3);
  });

  it('without an observation every reconcile describes, as before', async () => {
    const { clock, cloud, pool } = await startNode({ observing: false });
    for (let i = 0; i < 3; i++) await run(clock, pool.reconcile());
    expect(cloud.calls['describeNode']).toBe(4);
    expect(pool.reconcileCounts).toEqual({ observedMatch: 0, rechecked: 0, described: 3 });
  });
});

describe('pods hear why growth is paused', () => {
  it.each([
    [
      new CloudError('Throttled', 'EC2 throttled AssignPrivateIpAddresses (RequestLimitExceeded: Request limit exceeded.)', { cloudCode: 'RequestLimitExceeded' }),
      'PoolEmptyGrowing',
      /^no free address: EC2 throttled AssignPrivateIpAddresses \(RequestLimitExceeded: Request limit exceeded\.\); retrying in 0\.\d s$/,
    ],
    [
      new CloudError('SubnetExhausted', 'subnet subnet-fake has no free addresses (InsufficientFreeAddressesInSubnet: …)', { cloudCode: 'InsufficientFreeAddressesInSubnet' }),
      'PoolExhausted',
      /^no free address: subnet subnet-fake has no free addresses \(InsufficientFreeAddressesInSubnet: …\); retrying in 120 s$/,
    ],
    [
      new CloudError('Unauthorized', 'EC2 refused AssignPrivateIpAddresses: the node role lacks ec2:AssignPrivateIpAddresses (UnauthorizedOperation)', { cloudCode: 'UnauthorizedOperation' }),
      'CloudFailed', // CNI 102: the cloud call failed, not a limit
      /^no free address: EC2 refused AssignPrivateIpAddresses: the node role lacks ec2:AssignPrivateIpAddresses \(UnauthorizedOperation\); retrying in 0\.\d s$/,
    ],
  ])('%s', async (failure, rpcCode, message) => {
    const { clock, cloud, pool } = await startNode({ random: () => 0 });
    cloud.failNext = failure;
    const outcome = await run(clock, pool.acquire('default/pod-1').then(() => undefined, (error: unknown) => error));
    expect(outcome).toBeInstanceOf(RpcServiceError);
    expect(outcome).toMatchObject({ rpcCode });
    expect((outcome as Error).message).toMatch(message);
  });
});

describe('PoolManager releases after throttling', () => {
  it('gives nothing back for a while after the cloud throttled a grow, then releases the excess', async () => {
    const { clock, cloud, pool } = await startNode({ random: () => 0 });
    await run(clock, pool.kickGrow());
    // Three pods arrive; the grow behind them is throttled once, then succeeds.
    cloud.failNext = new CloudError('Throttled', 'Request limit exceeded.', { cloudCode: 'RequestLimitExceeded' });
    const pods = ['default/a', 'default/b', 'default/c'];
    // Like kubelet, a pod told "try again later" comes back 2 s later.
    const acquire = async (pod: string): Promise<void> => {
      for (;;) {
        try {
          await pool.acquire(pod);
          return;
        } catch {
          await clock.sleep(2_000);
        }
      }
    };
    await run(clock, Promise.all(pods.map(acquire)));
    for (const pod of pods) pool.release(pod, { used: true, cooldownMs: 0 });
    const excess = pool.pool.stats(clock.now()).available;
    expect(excess).toBeGreaterThan(2); // WARM_IP_TARGET=2: something to release
    const releasesBefore = cloud.calls['releaseAddresses'] ?? 0;
    await run(clock, pool.reconcile());
    expect(cloud.calls['releaseAddresses'] ?? 0).toBe(releasesBefore);
    await clock.runUntil(clock.now() + THROTTLED_NO_SHRINK_MS);
    await run(clock, pool.reconcile());
    expect(cloud.calls['releaseAddresses']).toBe(releasesBefore + 1);
    expect(pool.pool.stats(clock.now()).available).toBeLessThan(excess);
  });

  it('also when only the provider saw throttling (a request a retry then got through)', async () => {
    const { clock, cloud, pool } = await startNode();
    await run(clock, pool.kickGrow());
    await run(clock, pool.acquire('default/a'));
    const throttledAt = clock.now();
    Object.assign(cloud, { throttledAtMs: () => throttledAt });
    await run(clock, pool.acquire('default/b'));
    await run(clock, pool.acquire('default/c'));
    for (const pod of ['default/a', 'default/b', 'default/c']) pool.release(pod, { used: true, cooldownMs: 0 });
    const releasesBefore = cloud.calls['releaseAddresses'] ?? 0;
    await run(clock, pool.reconcile());
    expect(cloud.calls['releaseAddresses'] ?? 0).toBe(releasesBefore);
    await clock.runUntil(throttledAt + THROTTLED_NO_SHRINK_MS);
    await run(clock, pool.reconcile());
    expect(cloud.calls['releaseAddresses']).toBe(releasesBefore + 1);
  });
});
