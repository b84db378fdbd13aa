/**
 * The cloud's side of a node for the crash campaign's checks, read from the emulators: what the
 * node's interfaces hold, and (AWS) ENIs that would outlive the node, read over the real EC2 API.
 */
import { DescribeNetworkInterfacesCommand, EC2Client } from '@aws-sdk/client-ec2';
import type { AwsEmulator } from '../../emulator/aws/index.js';
import type { AzureEmulator } from '../../emulator/azure/index.js';
import { intToIpv4, parseCidr } from '../../core/ipv4.js';
import type { CloudView } from './invariants.js';

const INSTANCE_TAG = 'node.k8s.amazonaws.com/instance_id';

export function awsCloudView(emulator: AwsEmulator, instanceId: string): CloudView {
  const ec2 = new EC2Client({ endpoint: emulator.ec2Url, region: emulator.region, credentials: { accessKeyId: 'emulated', secretAccessKey: 'emulated' }, maxAttempts: 5 });
  return {
    async nodeAddresses() {
      const instance = emulator.topology().instances.find((i) => i.instanceId === instanceId);
      return new Set((instance?.interfaces ?? []).flatMap((eni) => [...eni.secondaryIps, ...eni.prefixes.flatMap((p) => addressesOf(p))]));
    },
    async leakedInterfaces() {
      const out = await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: `tag:${INSTANCE_TAG}`, Values: [instanceId] }] }));
      const leaks: string[] = [];
      for (const eni of out.NetworkInterfaces ?? []) {
        const attachment = eni.Attachment;
        if (attachment?.InstanceId !== instanceId) leaks.push(`${eni.NetworkInterfaceId} of ${instanceId} is ${eni.Status} (attached to ${attachment?.InstanceId ?? 'nothing'})`);
        else if (attachment.DeleteOnTermination !== true) leaks.push(`${eni.NetworkInterfaceId} is attached to ${instanceId} without DeleteOnTermination`);
      }
      return leaks;
    },
  };
}

export function azureCloudView(emulator: AzureEmulator, vmId: string): CloudView {
  return {
    async nodeAddresses() {
      const vm = emulator.topology().instances.find((i) => i.instanceId === vmId);
      return new Set((vm?.interfaces ?? []).flatMap((nic) => nic.secondaryIps));
    },
    // nativeip creates no NICs on Azure: nothing can outlive the VM.
    leakedInterfaces: async () => [],
  };
}

function addressesOf(cidr: string): string[] {
  const { network, size } = parseCidr(cidr);
  return Array.from({ length: size }, (_, i) => intToIpv4(network + i));
}
