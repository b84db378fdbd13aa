/**
 * Ec2Provider's request timeout against the EC2 emulator's `timeout` fault (the request is taken
 * and never answered): the call fails as a retryable CloudError once the timeout passes instead of
 * hanging, and the next call succeeds. The timeout is injected short so the test runs fast.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CloudError } from '../../src/core/types.js';
import { startAwsEmulator, type AwsEmulator, type LaunchedInstance } from '../../src/emulator/aws/index.js';
import { Ec2Provider } from '../../src/providers/aws/index.js';
import { DEFAULT_EC2_REQUEST_TIMEOUT_MS } from '../../src/providers/aws/ec2-provider-options.js';

const TIMEOUT_MS = 300;

async function timed<T>(promise: Promise<T>): Promise<{ outcome: T | unknown; ms: number }> {
  const started = Date.now();
  const outcome = await promise.then(
    (value) => value,
    (error: unknown) => error,
  );
  return { outcome, ms: Date.now() - started };
}

describe('Ec2Provider request timeout', () => {
  let emulator: AwsEmulator;
  let node: LaunchedInstance;
  let provider: Ec2Provider;

  beforeAll(async () => {
    emulator = await startAwsEmulator({ seed: 3 });
    node = await emulator.launchInstance({ instanceType: 'm5.large' });
    provider = new Ec2Provider({
      ec2Endpoint: emulator.ec2Url,
      imdsEndpoint: node.imdsUrl,
      credentials: { accessKeyId: 'AKIDEMULATOR', secretAccessKey: 'emulator-secret' },
      maxAttempts: 1,
      requestLimiter: false,
      ec2RequestTimeoutMs: TIMEOUT_MS,
    });
    await provider.describeNode();
  });

  afterEach(() => {
    emulator.faults.clear();
    emulator.faults.resetFired();
  });

  afterAll(async () => {
    provider.close();
    await emulator.close();
  });

  it('defaults to 10 s', () => {
    expect(DEFAULT_EC2_REQUEST_TIMEOUT_MS).toBe(10_000);
  });

  const cases: { action: string; call: (p: Ec2Provider) => Promise<unknown> }[] = [
    { action: 'DescribeNetworkInterfaces', call: (p) => p.describeNode() },
    { action: 'AssignPrivateIpAddresses', call: (p) => p.assignAddresses(node.primaryEni, 1) },
  ];

  it.each(cases)('$action never answered: a retryable Transient error after the timeout, then the next call succeeds', async ({ action, call }) => {
    emulator.faults.add({ kind: 'timeout', actions: action, count: 1 });
    const { outcome, ms } = await timed(call(provider));
    expect(outcome).toBeInstanceOf(CloudError);
    const error = outcome as CloudError;
    expect(error).toMatchObject({ code: 'Transient', retryable: true, cloudCode: 'TimeoutError' });
    expect(error.message).toMatch(new RegExp(`^${action} failed \\(TimeoutError: .*${TIMEOUT_MS} ms requestTimeout`));
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
    expect(ms).toBeLessThan(TIMEOUT_MS + 1_500);
    expect(emulator.faults.fired().byAction).toEqual({ timeout: { [action]: 1 } });
    await expect(call(provider)).resolves.toBeDefined();
  });

  it('with SDK retries on, the retry after the timeout gets through and the call succeeds', async () => {
    const retrying = new Ec2Provider({
      ec2Endpoint: emulator.ec2Url,
      imdsEndpoint: node.imdsUrl,
      credentials: { accessKeyId: 'AKIDEMULATOR', secretAccessKey: 'emulator-secret' },
      maxAttempts: 3,
      requestLimiter: false,
      ec2RequestTimeoutMs: TIMEOUT_MS,
    });
    emulator.faults.add({ kind: 'timeout', actions: 'DescribeNetworkInterfaces', count: 1 });
    const { outcome, ms } = await timed(retrying.describeNode());
    retrying.close();
    expect(outcome).toMatchObject({ instanceId: node.instanceId });
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
  });
});
