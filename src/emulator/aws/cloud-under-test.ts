/**
 * The EC2 emulator as the crash campaign checks and fails it (src/demo/cloud-under-test.ts): a
 * node's ENIs and what each holds, the ENIs that would outlive it, read from the emulator's own
 * state; and which EC2 actions of the provider are writes.
 */
import type { CloudInterfaceView, CloudUnderTest, CloudView, FaultActions } from '../../demo/cloud-under-test.js';
import { intToIpv4, parseCidr } from '../../core/ipv4.js';
import type { AwsEmulator } from './index.js';

/** The tag nativeip (like the AWS VPC CNI) puts on each ENI it creates: the instance it is for. */
const INSTANCE_TAG = 'node.k8s.amazonaws.com/instance_id';

/** The calls of nativeip's EC2 provider that change something, and its reads. */
const EC2_FAULT_ACTIONS: FaultActions = {
  writes: ['CreateNetworkInterface', 'AttachNetworkInterface', 'ModifyNetworkInterfaceAttribute', 'AssignPrivateIpAddresses', 'UnassignPrivateIpAddresses', 'DetachNetworkInterface', 'DeleteNetworkInterface', 'CreateTags'],
  reads: ['Describe*'],
};

export function awsCloudUnderTest(emulator: AwsEmulator): CloudUnderTest {
  return { view: (instanceId) => instanceView(emulator, instanceId), faults: emulator.faults, faultActions: EC2_FAULT_ACTIONS };
}

function instanceView(emulator: AwsEmulator, instanceId: string): CloudView {
  return {
    async nodeInterfaces() {
      const instance = emulator.topology().instances.find((i) => i.instanceId === instanceId);
      return (instance?.interfaces ?? []).map(
        (eni): CloudInterfaceView => ({ id: eni.eniId, addresses: [...eni.secondaryIps, ...eni.prefixes.flatMap((p) => addressesOf(p))] }),
      );
    },
    async leakedInterfaces() {
      const topology = emulator.topology();
      const leaks: string[] = [];
      for (const eni of topology.detachedInterfaces) {
        if (eni.tags[INSTANCE_TAG] === instanceId) leaks.push(`${eni.eniId} of ${instanceId} is available (attached to nothing)`);
      }
      for (const instance of topology.instances) {
        for (const eni of instance.interfaces) {
          if (eni.tags[INSTANCE_TAG] !== instanceId) continue;
          if (instance.instanceId !== instanceId) leaks.push(`${eni.eniId} of ${instanceId} is attached to ${instance.instanceId}`);
          else if (!eni.deleteOnTermination) leaks.push(`${eni.eniId} is attached to ${instanceId} without DeleteOnTermination`);
        }
      }
      return leaks;
    },
  };
}

function addressesOf(cidr: string): string[] {
  const { network, size } = parseCidr(cidr);
  return Array.from({ length: size }, (_, i) => intToIpv4(network + i));
}
