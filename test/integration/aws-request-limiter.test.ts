/**
 * One node's burst of EC2 calls against the emulator with EC2's request buckets enforced: with
 * the client-side limiter nothing is throttled; without it the same burst is.
 * Calls made one after another share a clock with the emulator that moves only when the limiter
 * sleeps, so waiting for refills costs no real time; the concurrent burst runs on the real clock
 * (a fake clock would jump while requests are in flight).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startAwsEmulator, type AwsEmulator } from '../../src/emulator/aws/index.js';
import { Ec2Provider, Ec2RequestLimiter } from '../../src/providers/aws/index.js';

const CREDENTIALS = { accessKeyId: 'AKIDEMULATOR', secretAccessKey: 'emulator-secret' };

function steppedTime() {
  const start = Date.parse('2026-11-22T00:00:00Z');
  let now = start;
  return {
    clock: () => now,
    sleep: async (ms: number) => {
      now += ms;
    },
    elapsed: () => now - start,
  };
}

describe('client-side EC2 request limiter against the throttling emulator', () => {
  let emulator: AwsEmulator | undefined;
  const providers: Ec2Provider[] = [];

  afterEach(async () => {
    for (const provider of providers.splice(0)) provider.close();
    await emulator?.close();
    emulator = undefined;
  });

  async function nodeOn(options: { clock?: () => number; requestLimiter: Ec2RequestLimiter | false }) {
    emulator = await startAwsEmulator({ throttling: true, seed: 44, ...(options.clock === undefined ? {} : { clock: options.clock }) });
    const instance = await emulator.launchInstance({ instanceType: 'm5.large' });
    const provider = new Ec2Provider({
      ec2Endpoint: emulator.ec2Url,
      imdsEndpoint: instance.imdsUrl,
      credentials: CREDENTIALS,
      // One attempt per call: a throttled request shows as a failure instead of being retried.
      maxAttempts: 1,
      requestLimiter: options.requestLimiter,
    });
    providers.push(provider);
    return { emulator, instance, provider };
  }

  it('150 describes in a row: none throttled, the ones past the burst paced', async () => {
    const time = steppedTime();
    const { emulator, provider } = await nodeOn({ clock: time.clock, requestLimiter: new Ec2RequestLimiter({ clock: time.clock, sleep: time.sleep }) });
    for (let i = 0; i < 150; i++) await provider.describeNode();
    expect(emulator.throttledCounts()).toEqual({});
    expect(emulator.callCounts()).toEqual({ DescribeInstanceTypes: 1, DescribeNetworkInterfaces: 150 });
    // The node's share of the bucket is 90 (DescribeInstanceTypes took one); 61 more at 90% of 20/s.
    expect(time.elapsed()).toBeGreaterThanOrEqual(3_300);
  });

  it('130 assign and unassign calls in a row: none throttled', async () => {
    const time = steppedTime();
    const { emulator, instance, provider } = await nodeOn({ clock: time.clock, requestLimiter: new Ec2RequestLimiter({ clock: time.clock, sleep: time.sleep }) });
    for (let i = 0; i < 65; i++) {
      const added = await provider.assignAddresses(instance.primaryEni, 1);
      await provider.releaseAddresses(instance.primaryEni, added);
    }
    expect(emulator.throttledCounts()).toEqual({});
    expect(emulator.callCounts()).toMatchObject({ AssignPrivateIpAddresses: 65, UnassignPrivateIpAddresses: 65 });
    // 40 past the node's burst of 90, at 90% of 5/s.
    expect(time.elapsed()).toBeGreaterThanOrEqual(8_800);
  });

  it('when other nodes drained the account, the SDK retry waits for this node\'s refilled bucket and succeeds', async () => {
    const time = steppedTime();
    const limiter = new Ec2RequestLimiter({ clock: time.clock, sleep: time.sleep });
    const { emulator, instance } = await nodeOn({ clock: time.clock, requestLimiter: false });
    const node = new Ec2Provider({ ec2Endpoint: emulator.ec2Url, imdsEndpoint: instance.imdsUrl, credentials: CREDENTIALS, maxAttempts: 3, requestLimiter: limiter });
    providers.push(node);
    await node.describeNode();
    // Another node without a limiter empties the account's describe bucket.
    const other = providers[0]!;
    let othersThrottled = 0;
    while (othersThrottled === 0) {
      await other.describeNode().catch(() => {
        othersThrottled += 1;
      });
    }
    expect(limiter.tokens('describe')).toBeGreaterThan(80);
    const snapshot = await node.describeNode();
    expect(snapshot.instanceId).toBe(instance.instanceId);
    // One throttled attempt: it emptied this node's bucket, so the retry waited for a refill.
    expect(emulator.throttledCounts()['DescribeNetworkInterfaces']).toBe(othersThrottled + 1);
    expect(limiter.tokens('describe')).toBeLessThan(1);
  });

  it('a concurrent burst of 120 describes on the real clock: none throttled', async () => {
    const { emulator, provider } = await nodeOn({ requestLimiter: new Ec2RequestLimiter() });
    const outcomes = await Promise.allSettled(Array.from({ length: 120 }, () => provider.describeNode()));
    expect(outcomes.filter((o) => o.status === 'rejected').map((o) => String((o as PromiseRejectedResult).reason))).toEqual([]);
    expect(emulator.throttledCounts()).toEqual({});
    expect(emulator.callCounts()['DescribeNetworkInterfaces']).toBe(120);
  });

  it('without the limiter the same concurrent burst is throttled (so the checks above can fail)', async () => {
    const { emulator, provider } = await nodeOn({ requestLimiter: false });
    const outcomes = await Promise.allSettled(Array.from({ length: 120 }, () => provider.describeNode()));
    const throttled = outcomes.filter((o) => o.status === 'rejected' && /EC2 throttled DescribeNetworkInterfaces/.test(String(o.reason)));
    expect(throttled.length).toBeGreaterThan(0);
    expect(emulator.throttledCounts()['DescribeNetworkInterfaces']).toBe(throttled.length);
  });
});
