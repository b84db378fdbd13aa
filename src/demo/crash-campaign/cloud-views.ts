/**
 * The cloud's side of a node for the crash campaign's checks, read from the in-process emulators'
 * own state (their topology): the node's interfaces and what each holds, and (AWS) ENIs that
 * would outlive the node. No cloud SDK: those stay behind src/providers.
 */
import type { AwsEmulator } from '../../emulator/aws/index.js';
import type { AzureEmulator } from '../../emulator/azure/index.js';
import { intToIpv4, parseCidr } from '../../core/ipv4.js';
import type { CloudInterfaceView, CloudView } from './invariants.js';

/** The tag nativeip (like the AWS VPC CNI) puts on each ENI it creates: the instance it is for. */
const INSTANCE_TAG = 'node.k8s.amazonaws.com/instance_id';

export function awsCloudView(emulator: AwsEmulator, instanceId: string): CloudView {
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

export function azureCloudView(emulator: AzureEmulator, vmId: string): CloudView {
  return {
    async nodeInterfaces() {
      const vm = emulator.topology().instances.find((i) => i.instanceId === vmId);
      return (vm?.interfaces ?? []).map((nic): CloudInterfaceView => ({ id: nic.eniId, addresses: [...nic.secondaryIps] }));
    },
    // nativeip creates no NICs on Azure: nothing can outlive the VM.
    leakedInterfaces: async () => [],
  };
}

function addressesOf(cidr: string): string[] {
  const { network, size } = parseCidr(cidr);
  return Array.from({ length: size }, (_, i) => intToIpv4(network + i));
}
