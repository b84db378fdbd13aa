/**
 * The providers' in-process seams (InProcessEc2, InProcessArm) are declared by the providers, which
 * never import an emulator; the emulators' backends fit them without naming them. These checks
 * tie the two: the assignments below are what the type checker (`npm test` runs it) verifies, and
 * the runtime checks show the adapters read the emulators' failures as the SDKs' would be read.
 */
import { describe, expect, it } from 'vitest';
import { Ec2Backend } from '../../src/emulator/aws/ec2-backend.js';
import { ArmBackend } from '../../src/emulator/azure/arm-backend.js';
import { InProcessEc2Api, type InProcessEc2 } from '../../src/providers/aws/in-process-ec2.js';
import type { InProcessArm } from '../../src/providers/azure/in-process-arm.js';

const noWait = async (): Promise<void> => undefined;

describe('the emulators\' in-process backends fit the providers\' seams', () => {
  it('the EC2 backend is an InProcessEc2, and its error answers and silences reach the provider as CloudErrors', async () => {
    const backend = new Ec2Backend({ clock: () => 0, sleep: noWait });
    const ec2: InProcessEc2 = backend;
    const api = new InProcessEc2Api({ backend: ec2, sleep: noWait, random: () => 0 });
    await expect(api.describeEni('eni-00000000000000000')).resolves.toBeUndefined();
    await expect(api.assignAddresses('eni-00000000000000000', 1, undefined)).rejects.toMatchObject({ name: 'CloudError', code: 'NotFound' });
    backend.faults.add({ kind: 'replyLost', actions: 'AssignPrivateIpAddresses', count: 3 });
    const { primaryEni } = backend.launchInstance('m5.large');
    await expect(api.assignAddresses(primaryEni, 1, undefined)).rejects.toMatchObject({ name: 'CloudError', retryable: true });
  });

  it('the ARM backend is an InProcessArm', () => {
    const arm: InProcessArm = new ArmBackend({ clock: () => 0, sleep: noWait, operationLatencyMs: 0 });
    expect(arm.state.subscriptionId).toMatch(/^[0-9a-f-]{36}$/);
  });
});
