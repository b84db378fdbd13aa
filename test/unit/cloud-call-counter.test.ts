/**
 * CloudCallCounter.wrap: counts each cloud call by action with its failures and throttles, on a
 * provider whose state lives in #private fields (as the real providers' does), and leaves the
 * members that are not cloud calls working and uncounted.
 */
import { describe, expect, it } from 'vitest';
import { CloudError, type CloudInterface, type CloudProvider, type CreateInterfaceOptions, type NodeSnapshot } from '../../src/core/types.js';
import { CloudCallCounter } from '../../src/ipamd/pool/cloud-call-counter.js';
import { FakeCloud } from '../support/fake-cloud.js';
import { fakePool } from '../support/fake-pool.js';

/** A provider that keeps everything private: a wrapper that loses `this` breaks every member. */
class PrivateCloud implements CloudProvider {
  readonly name = 'private';
  #addresses: string[] = [];
  #failures: Error[] = [];
  #journal: string[] = [];
  #save: (() => Promise<void>) | undefined;
  #throttledAtMs: number | undefined;

  /** Test control (synchronous, not a cloud call): the next calls fail with these, in order. */
  failWith(...errors: Error[]): void {
    this.#failures.push(...errors);
  }

  get addressCount(): number {
    return this.#addresses.length;
  }

  async describeNode(): Promise<NodeSnapshot> {
    this.#maybeFail();
    return {
      instanceId: 'i-private',
      instanceType: 'p.large',
      primaryIp: '10.0.0.10',
      vpcCidrs: ['10.0.0.0/16'],
      limits: { maxInterfaces: 2, ipv4PerInterface: 4 },
      interfaces: [],
    };
  }

  async assignAddresses(_interfaceId: string, count: number): Promise<string[]> {
    this.#maybeFail();
    const added = Array.from({ length: count }, (_, i) => `10.0.0.${20 + this.#addresses.length + i}`);
    this.#addresses.push(...added);
    this.#journal.push(`assign ${count}`);
    await this.#save?.();
    return added;
  }

  async createInterface(_options: CreateInterfaceOptions): Promise<CloudInterface> {
    this.#maybeFail();
    throw new CloudError('InterfaceLimit', 'no room');
  }

  async releaseAddresses(_interfaceId: string, addresses: readonly string[]): Promise<void> {
    this.#maybeFail();
    this.#addresses = this.#addresses.filter((a) => !addresses.includes(a));
  }

  async deleteInterface(_interfaceId: string): Promise<void> {
    this.#maybeFail();
  }

  resumeState(): unknown {
    return this.#journal.length === 0 ? undefined : [...this.#journal];
  }

  restoreState(state: unknown): void {
    this.#journal = [...(state as string[])];
  }

  onResumeStateChange(save: () => Promise<void>): void {
    this.#save = save;
  }

  throttledAtMs(): number | undefined {
    return this.#throttledAtMs;
  }

  #maybeFail(): void {
    const failure = this.#failures.shift();
    if (failure === undefined) return;
    if (failure instanceof CloudError && failure.code === 'Throttled') this.#throttledAtMs = 1234;
    throw failure;
  }
}

function wrapped(): { counter: CloudCallCounter; cloud: PrivateCloud; provider: PrivateCloud } {
  const counter = new CloudCallCounter();
  const cloud = new PrivateCloud();
  // The wrapper keeps the provider's type; the cast only reaches the test's extra members.
  const provider = counter.wrap(cloud) as PrivateCloud;
  return { counter, cloud, provider };
}

const throttled = () => new CloudError('Throttled', 'Request limit exceeded', { cloudCode: 'RequestLimitExceeded' });

describe('CloudCallCounter', () => {
  it('counts calls, errors and throttled errors per method, sorted by action', async () => {
    const { counter, provider } = wrapped();
    await provider.describeNode();
    await provider.assignAddresses('eni-0', 2);
    await provider.assignAddresses('eni-0', 1);
    provider.failWith(throttled(), new CloudError('AddressLimit', 'full'), throttled());
    await expect(provider.assignAddresses('eni-0', 1)).rejects.toThrow('Request limit exceeded');
    await expect(provider.assignAddresses('eni-0', 1)).rejects.toThrow('full');
    await expect(provider.releaseAddresses('eni-0', ['10.0.0.20'])).rejects.toThrow('Request limit exceeded');
    provider.failWith(new Error('socket hang up'));
    await expect(provider.deleteInterface('eni-1')).rejects.toThrow('socket hang up');
    await expect(provider.createInterface({ deviceIndex: 1, secondaryCount: 1 } as CreateInterfaceOptions)).rejects.toThrow('no room');
    expect(counter.counts()).toEqual([
      { action: 'assignAddresses', calls: 4, errors: 2, throttled: 1 },
      { action: 'createInterface', calls: 1, errors: 1, throttled: 0 },
      { action: 'deleteInterface', calls: 1, errors: 1, throttled: 0 },
      { action: 'describeNode', calls: 1, errors: 0, throttled: 0 },
      { action: 'releaseAddresses', calls: 1, errors: 1, throttled: 1 },
    ]);
  });

  it('passes results and the very error object through', async () => {
    const { provider } = wrapped();
    expect(await provider.assignAddresses('eni-0', 2)).toEqual(['10.0.0.20', '10.0.0.21']);
    const error = throttled();
    provider.failWith(error);
    await expect(provider.describeNode()).rejects.toBe(error);
  });

  it('methods reach the provider’s #private fields, and changes show on the provider itself', async () => {
    const { cloud, provider } = wrapped();
    await provider.assignAddresses('eni-0', 3);
    await provider.releaseAddresses('eni-0', ['10.0.0.20']);
    expect(provider.addressCount).toBe(2); // a getter over a private field, through the wrapper
    expect(cloud.addressCount).toBe(2);
  });

  it('leaves the members that are not cloud calls working and uncounted', async () => {
    const { counter, provider } = wrapped();
    expect(provider.name).toBe('private');
    expect(provider.resumeState()).toBeUndefined();
    provider.restoreState(['create nic-1']);
    expect(provider.resumeState()).toEqual(['create nic-1']);
    let saves = 0;
    provider.onResumeStateChange(async () => {
      saves += 1;
    });
    await provider.assignAddresses('eni-0', 1);
    expect(saves).toBe(1);
    expect(provider.resumeState()).toEqual(['create nic-1', 'assign 1']);
    expect(provider.throttledAtMs()).toBeUndefined();
    provider.failWith(throttled());
    await expect(provider.describeNode()).rejects.toThrow();
    expect(provider.throttledAtMs()).toBe(1234);
    provider.failWith(); // a synchronous method that is no cloud call
    expect(counter.counts().map((c) => c.action)).toEqual(['assignAddresses', 'describeNode']);
  });

  it('an optional call the provider lacks stays absent', () => {
    const provider = new CloudCallCounter().wrap(new PrivateCloud());
    expect(provider.assignPrefixes).toBeUndefined();
    expect(provider.observeNode).toBeUndefined();
  });

  it('nothing is counted before a call, and each counter counts its own wraps', async () => {
    const first = new CloudCallCounter();
    const second = new CloudCallCounter();
    const cloud = new PrivateCloud();
    const a = first.wrap(cloud);
    second.wrap(cloud);
    expect(first.counts()).toEqual([]);
    await a.describeNode();
    expect(first.counts()).toEqual([{ action: 'describeNode', calls: 1, errors: 0, throttled: 0 }]);
    expect(second.counts()).toEqual([]);
  });

  it('counts what a PoolManager asks of a FakeCloud, as the FakeCloud itself counts it', async () => {
    const counter = new CloudCallCounter();
    const { pool, cloud, clock } = fakePool({
      cloud: new FakeCloud({ maxInterfaces: 3, ipv4PerInterface: 5 }),
      provider: (fake) => counter.wrap(fake),
      targets: { warmEniTarget: 1 },
    });
    await clock.drive(pool.start());
    await clock.drive(pool.kickGrow());
    for (let i = 0; i < 6; i += 1) await clock.drive(pool.acquire(`pod-${i}`));
    await clock.drive(pool.kickGrow());
    expect(cloud.interfaces.length).toBeGreaterThan(1);
    expect(Object.fromEntries(counter.counts().map((c) => [c.action, c.calls]))).toEqual(cloud.calls);
  });
});
