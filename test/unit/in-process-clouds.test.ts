/**
 * The providers' in-process seams (InProcessEc2, InProcessArm) are declared by the providers, which
 * never import an emulator; the emulators' backends fit them without naming them. These checks
 * tie the two: the assignments below are what the type checker (`npm test` runs it) verifies, and
 * the runtime checks show the adapters read the emulators' failures as the SDKs' would be read.
 *
 * The last block needs no case per cloud: for every cloud of the registries that can be simulated
 * (both halves registered), its real provider runs on a machine of its emulator's in-process
 * account, which reads the machine's opaque handle (src/core/simulation.ts) and so fails when the
 * emulator's backend does not fit the provider's seam.
 */
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/core/seeded-random.js';
import { loadDaemonConfig } from '../../src/ipamd/config/config.js';
import { cloudPlugin } from '../../src/ipamd/clouds.js';
import { emulatorSimulation, simulatedClouds } from '../../src/sim/sim-cloud.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
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

describe.each(simulatedClouds())('%s: the real provider on a machine of its emulator\'s in-process account', (cloud) => {
  it('describes the machine, assigns an address the account then shows, releases it, and refuses an interface that does not exist', async () => {
    const clock = new VirtualClock(0);
    const [emulator, providerOn] = await Promise.all([emulatorSimulation(cloud), cloudPlugin(cloud).simulation!()]);
    const account = emulator.start({ clock, throttling: false });
    const machine = account.launch(emulator.defaultMachineType);
    expect(machine.cloud).toBe(cloud);
    const provider = providerOn(machine, loadDaemonConfig({}).cloudSettings[cloud], { clock, random: seededRandom(1), maxInterfaces: undefined });
    expect(provider.name).toBe(cloud);

    const node = await clock.drive(provider.describeNode());
    expect(node.instanceType).toBe(emulator.defaultMachineType);
    const primary = node.interfaces[0]!;
    expect(primary.deviceIndex).toBe(0);
    const [address] = await clock.drive(provider.assignAddresses(primary.id, 1));
    const after = await clock.drive(provider.describeNode());
    expect(after.interfaces[0]!.secondaryIps).toContain(address);
    await clock.drive(provider.releaseAddresses(primary.id, [address!]));
    expect((await clock.drive(provider.describeNode())).interfaces[0]!.secondaryIps).not.toContain(address);
    await expect(clock.drive(provider.assignAddresses(`${primary.id}-no-such-interface`, 1))).rejects.toMatchObject({ name: 'CloudError' });
  });
});
