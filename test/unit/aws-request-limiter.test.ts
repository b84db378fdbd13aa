import { describe, expect, it } from 'vitest';
import { THROTTLE_BUCKETS } from '../../src/emulator/aws/ec2-throttling.js';
import { EC2_REQUEST_BUCKETS, Ec2RequestLimiter, requestClassOf, type Ec2RequestClass } from '../../src/providers/aws/ec2-request-limiter.js';

/** A clock that only moves when someone sleeps on it: the limiter's waits cost no real time. */
function fakeTime() {
  let now = 0;
  const sleeps: number[] = [];
  return {
    clock: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
    sleeps,
    now: () => now,
  };
}

describe('requestClassOf', () => {
  it.each([
    ['DescribeNetworkInterfaces', {}, 'unfilteredDescribe'],
    ['DescribeNetworkInterfaces', { Filters: [] }, 'unfilteredDescribe'],
    ['DescribeNetworkInterfaces', { Filters: [{ Name: 'attachment.instance-id', Values: ['i-1'] }] }, 'describe'],
    ['DescribeNetworkInterfaces', { NetworkInterfaceIds: ['eni-1'] }, 'describe'],
    ['DescribeInstances', { InstanceIds: ['i-1'] }, 'describe'],
    ['DescribeInstances', { MaxResults: 5 }, 'describe'],
    ['DescribeInstanceTypes', { InstanceTypes: ['m5.large'] }, 'describe'],
    ['DescribeSubnets', { SubnetIds: ['subnet-1'] }, 'describe'],
    ['DescribeSubnets', undefined, 'unfilteredDescribe'],
    ['GetConsoleOutput', {}, 'describe'],
    ['AttachNetworkInterface', {}, 'attachDetach'],
    ['DetachNetworkInterface', {}, 'attachDetach'],
    ['AssignPrivateIpAddresses', {}, 'eniMutation'],
    ['UnassignPrivateIpAddresses', {}, 'eniMutation'],
    ['CreateNetworkInterface', {}, 'eniMutation'],
    ['DeleteNetworkInterface', {}, 'eniMutation'],
    ['ModifyNetworkInterfaceAttribute', {}, 'eniMutation'],
    ['CreateTags', {}, 'tags'],
    ['DeleteTags', {}, 'tags'],
  ])('%s %j draws from %s', (action, input, expected) => {
    expect(requestClassOf(action, input)).toBe(expected);
  });

  it("mirrors exactly the emulator's (EC2's) published buckets", () => {
    expect(EC2_REQUEST_BUCKETS).toEqual(THROTTLE_BUCKETS);
  });
});

describe('Ec2RequestLimiter', () => {
  it.each<[Ec2RequestClass, number, number, number]>([
    // class, requests at once, sent without waiting, ms until the last is sent
    ['unfilteredDescribe', 50, 50, 0],
    ['unfilteredDescribe', 60, 50, 1_000],
    ['describe', 140, 100, 2_000],
    ['attachDetach', 55, 50, 1_000],
    ['eniMutation', 100, 100, 0],
    ['eniMutation', 110, 100, 2_000],
    ['tags', 120, 100, 2_000],
  ])('%s: %i requests at once, %i go at once, the last after %i ms', async (requestClass, requests, immediate, lastAtMs) => {
    const time = fakeTime();
    const limiter = new Ec2RequestLimiter({ clock: time.clock, sleep: time.sleep, budgetShare: 1 });
    const sentAt: number[] = [];
    await Promise.all(Array.from({ length: requests }, () => limiter.acquire(requestClass).then(() => sentAt.push(time.now()))));
    expect(sentAt).toHaveLength(requests);
    expect(sentAt.filter((t) => t === 0)).toHaveLength(immediate);
    expect(Math.max(...sentAt)).toBe(lastAtMs);
    expect(limiter.waiting(requestClass)).toBe(0);
  });

  it('never admits more than the bucket allows in any window (same model as the server)', async () => {
    const time = fakeTime();
    const limiter = new Ec2RequestLimiter({ clock: time.clock, sleep: time.sleep });
    const server = new Ec2RequestLimiter({ clock: time.clock, sleep: async () => undefined, budgetShare: 1 });
    let refused = 0;
    await Promise.all(
      Array.from({ length: 400 }, () =>
        limiter.acquire('eniMutation').then(() => {
          // What EC2 would do with the request when it arrives: a token, or RequestLimitExceeded.
          if (server.tokens('eniMutation') < 1) refused += 1;
          else void server.acquire('eniMutation');
        }),
      ),
    );
    expect(refused).toBe(0);
    // A burst of 90, then 310 at 90% of 5/s.
    expect(time.now()).toBeGreaterThanOrEqual(68_888);
    expect(time.now()).toBeLessThan(69_000);
  });

  it('classes do not wait for one another', async () => {
    const time = fakeTime();
    const limiter = new Ec2RequestLimiter({ clock: time.clock, sleep: time.sleep, budgetShare: 1 });
    for (let i = 0; i < 100; i++) await limiter.acquire('eniMutation');
    const mutation = limiter.acquire('eniMutation');
    expect(limiter.waiting('eniMutation')).toBe(1);
    // A describe takes its own class's token at once, ahead of the waiting mutation.
    const describe = limiter.acquire('describe');
    expect(limiter.waiting('describe')).toBe(0);
    expect(limiter.tokens('describe')).toBe(99);
    await describe;
    await mutation;
    expect(time.now()).toBe(200);
  });

  it('serves waiters in arrival order', async () => {
    const time = fakeTime();
    const limiter = new Ec2RequestLimiter({ clock: time.clock, sleep: time.sleep, budgetShare: 1, buckets: { ...EC2_REQUEST_BUCKETS, attachDetach: { capacity: 1, refillPerSecond: 1 } } });
    const order: number[] = [];
    await Promise.all([0, 1, 2, 3].map((i) => limiter.acquire('attachDetach').then(() => order.push(i))));
    expect(order).toEqual([0, 1, 2, 3]);
    expect(time.sleeps).toEqual([1000, 1000, 1000]);
  });

  it('after a RequestLimitExceeded the class waits for the refill', async () => {
    const time = fakeTime();
    const limiter = new Ec2RequestLimiter({ clock: time.clock, sleep: time.sleep, budgetShare: 1 });
    await limiter.acquire('eniMutation');
    expect(limiter.lastThrottledAtMs).toBeUndefined();
    limiter.throttled('eniMutation');
    expect(limiter.lastThrottledAtMs).toBe(time.now()); // the pool defers releases for a while after it
    expect(limiter.tokens('eniMutation')).toBe(0);
    await limiter.acquire('eniMutation');
    expect(time.now()).toBe(200);
    expect(limiter.tokens('describe')).toBe(100);
  });

  it('remembers when a class a release draws from was throttled, not a describe', () => {
    const time = fakeTime();
    const limiter = new Ec2RequestLimiter({ clock: time.clock, sleep: time.sleep });
    // Describe pressure (other tools polling DescribeNetworkInterfaces) says nothing about the
    // mutation buckets; counting it would hold a node's excess for as long as it lasts.
    limiter.throttled('describe');
    limiter.throttled('unfilteredDescribe');
    limiter.throttled('tags');
    expect(limiter.lastThrottledAtMs).toBeUndefined();
    limiter.throttled('attachDetach');
    expect(limiter.lastThrottledAtMs).toBe(time.now());
  });

  it('keeps 10% of every bucket in reserve by default', async () => {
    const time = fakeTime();
    const limiter = new Ec2RequestLimiter({ clock: time.clock, sleep: time.sleep });
    expect(limiter.tokens('eniMutation')).toBe(90);
    expect(limiter.tokens('unfilteredDescribe')).toBe(45);
    for (let i = 0; i < 91; i++) await limiter.acquire('eniMutation');
    expect(time.now()).toBe(Math.ceil(1000 / 4.5));
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses a budget share of %d', (budgetShare) => {
    expect(() => new Ec2RequestLimiter({ budgetShare })).toThrow(/budgetShare must be in \(0, 1\]/);
  });
});
