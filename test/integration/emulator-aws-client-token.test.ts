/**
 * CreateNetworkInterface's ClientToken in the EC2 emulator, through the real @aws-sdk/client-ec2:
 * a reply lost on the way back and the SDK's retry (which resends the same token) make one ENI,
 * not two; the token reused with other parameters is refused as EC2 refuses it.
 */
import { CreateNetworkInterfaceCommand, EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AwsEmulator } from '../../src/emulator/aws/index.js';
import { startAwsEmulator } from '../../src/emulator/aws/index.js';

function client(emu: AwsEmulator, maxAttempts: number): EC2Client {
  return new EC2Client({ endpoint: emu.ec2Url, region: emu.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts });
}

async function failure(promise: Promise<unknown>): Promise<{ name: string; status: number | undefined; message: string }> {
  try {
    await promise;
  } catch (err) {
    const e = err as Error & { $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message };
  }
  throw new Error('expected the call to fail');
}

describe('EC2 emulator: CreateNetworkInterface ClientToken', () => {
  let emu: AwsEmulator;
  let subnetId: string;
  const enis = () => emu.topology().detachedInterfaces.map((e) => e.eniId);

  beforeAll(async () => {
    emu = await startAwsEmulator({ subnets: [{ cidr: '10.0.0.0/22' }], seed: 5 });
    subnetId = emu.subnets()[0]!.id;
  });

  afterEach(() => {
    emu.faults.clear();
    emu.faults.resetFired();
  });

  afterAll(async () => {
    await emu.close();
  });

  it('replyLost on the first attempt: the SDK retries with the same token and gets the one ENI the first attempt made', async () => {
    emu.faults.add({ kind: 'replyLost', actions: 'CreateNetworkInterface', count: 1 });
    const retrying = client(emu, 3);
    const before = enis();
    // No ClientToken given: the SDK fills one in (an idempotency token) and resends it on every attempt.
    const out = await retrying.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetId, Description: 'sdk-token' }));
    retrying.destroy();
    expect(emu.faults.fired().byAction).toEqual({ replyLost: { CreateNetworkInterface: 1 } });
    expect(emu.callCounts()['CreateNetworkInterface']).toBeGreaterThanOrEqual(2);
    const made = enis().filter((id) => !before.includes(id));
    expect(made).toEqual([out.NetworkInterface?.NetworkInterfaceId]);
    expect(out.ClientToken).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('the same token and parameters answer the same ENI; other parameters answer 400 IdempotentParameterMismatch', async () => {
    const ec2 = client(emu, 1);
    const request = { SubnetId: subnetId, Description: 'nativeip', SecondaryPrivateIpAddressCount: 2, ClientToken: 'token-1' };
    const first = await ec2.send(new CreateNetworkInterfaceCommand(request));
    const again = await ec2.send(new CreateNetworkInterfaceCommand(request));
    expect(again.NetworkInterface?.NetworkInterfaceId).toBe(first.NetworkInterface?.NetworkInterfaceId);
    expect(again.NetworkInterface?.PrivateIpAddresses?.map((a) => a.PrivateIpAddress)).toEqual(
      first.NetworkInterface?.PrivateIpAddresses?.map((a) => a.PrivateIpAddress),
    );
    expect(again.ClientToken).toBe('token-1');

    const mismatch = await failure(ec2.send(new CreateNetworkInterfaceCommand({ ...request, SecondaryPrivateIpAddressCount: 3 })));
    expect(mismatch).toMatchObject({ name: 'IdempotentParameterMismatch', status: 400 });
    expect(mismatch.message).toMatch(/same client token as a previous, but non-identical request/);
    expect(enis().filter((id) => id === first.NetworkInterface?.NetworkInterfaceId)).toHaveLength(1);

    // A new token makes a new ENI.
    const other = await ec2.send(new CreateNetworkInterfaceCommand({ ...request, ClientToken: 'token-2' }));
    expect(other.NetworkInterface?.NetworkInterfaceId).not.toBe(first.NetworkInterface?.NetworkInterfaceId);
    ec2.destroy();
  });

  it('a create EC2 refused leaves its token unused', async () => {
    const ec2 = client(emu, 1);
    const refused = await failure(ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetId, SecondaryPrivateIpAddressCount: 5000, ClientToken: 'token-3' })));
    expect(refused.name).toBe('PrivateIpAddressLimitExceeded');
    const made = await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetId, SecondaryPrivateIpAddressCount: 1, ClientToken: 'token-3' }));
    expect(made.NetworkInterface?.NetworkInterfaceId).toMatch(/^eni-/);
    ec2.destroy();
  });
});
