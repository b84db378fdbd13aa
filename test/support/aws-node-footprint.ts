/**
 * What the AWS VPC CNI (aws-node) leaves on a node once it is removed, made on the EC2 emulator and
 * in the node's network namespace as aws-node makes it: warm addresses on the primary ENI, an ENI
 * it created (its tags) and attached at device index 1 with DeleteOnTermination, its host side (up,
 * its primary address, route table 2), a detached ENI it leaked, and pods set up its way
 * (host veth `eni<hash>`, a `/32` route in the main table without a protocol, its to / from rules).
 * Shared by the e2e and kubelet tests of switching a node to nativeip.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  AssignPrivateIpAddressesCommand,
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  DescribeNetworkInterfacesCommand,
  EC2Client,
  ModifyNetworkInterfaceAttributeCommand,
  type NetworkInterface,
} from '@aws-sdk/client-ec2';
import type { AwsEmulator } from '../../src/emulator/aws/index.js';
import { instanceTypeTable } from '../../src/emulator/aws/instance-types.js';
import { createPodNetns } from '../../src/demo/pods.js';
import { hostVethName } from '../../src/ipamd/datapath/veth-name.js';
import { waitFor } from './wait-for.js';

const execFileAsync = promisify(execFile);
const ip = (...args: string[]) => execFileAsync('ip', args);

/** aws-node's route table for the ENI at device index 1 (device index + 1, as nativeip's). */
export const ENI1_TABLE = '2';

export interface AwsNodeFootprint {
  readonly ec2: EC2Client;
  /** The ENI aws-node attached at device index 1. */
  readonly attachedEni: string;
  /** A detached ENI it leaked on this node, an hour old. */
  readonly leakedEni: string;
  /** Secondary addresses of the primary ENI (aws-node's warm pool there). */
  readonly primarySecondaries: readonly string[];
  /** Secondary addresses of the attached ENI. */
  readonly attachedSecondaries: readonly string[];
}

/** The tags aws-node puts on an ENI it creates (not nativeip's). */
export function vpcCniTags(owner: string, createdAt: string, clusterName: string) {
  return [
    {
      ResourceType: 'network-interface' as const,
      Tags: [
        { Key: 'node.k8s.amazonaws.com/instance_id', Value: owner },
        { Key: 'node.k8s.amazonaws.com/createdAt', Value: createdAt },
        { Key: 'cluster.k8s.amazonaws.com/name', Value: clusterName },
      ],
    },
  ];
}

export async function enisOf(ec2: EC2Client, instanceId: string): Promise<NetworkInterface[]> {
  const out = await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [instanceId] }] }));
  return out.NetworkInterfaces ?? [];
}

const secondaries = (eni: NetworkInterface) => (eni.PrivateIpAddresses ?? []).filter((a) => a.Primary !== true).map((a) => a.PrivateIpAddress!);

/**
 * Leaves aws-node's EC2 objects and ENI host side for `instanceId`, whose network namespace is
 * `nodeNetns` (a name under /run/netns). The caller closes `ec2`.
 */
export async function leaveAwsNodeFootprint(
  emulator: AwsEmulator,
  instanceId: string,
  nodeNetns: string,
  options: { readonly clusterName: string; readonly whenSynced: () => Promise<void> },
): Promise<AwsNodeFootprint> {
  const ec2 = new EC2Client({ region: emulator.region, endpoint: emulator.ec2Url, credentials: { accessKeyId: 'emulated', secretAccessKey: 'emulated' } });
  const primary = (await enisOf(ec2, instanceId)).find((e) => e.Attachment?.DeviceIndex === 0)!;
  const subnetId = primary.SubnetId!;
  await ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: primary.NetworkInterfaceId!, SecondaryPrivateIpAddressCount: secondariesPerEni(emulator, instanceId) }));
  const old = new Date(Date.now() - 3_600_000).toISOString();
  const tags = vpcCniTags(instanceId, old, options.clusterName);
  const created = await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetId, SecondaryPrivateIpAddressCount: secondariesPerEni(emulator, instanceId), TagSpecifications: tags }));
  const attachedEni = created.NetworkInterface!.NetworkInterfaceId!;
  const attached = await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: attachedEni, InstanceId: instanceId, DeviceIndex: 1 }));
  await ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: attachedEni, Attachment: { AttachmentId: attached.AttachmentId!, DeleteOnTermination: true } }));
  const leakedEni = (await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetId, TagSpecifications: tags }))).NetworkInterface!.NetworkInterfaceId!;

  const wiredEni = () => emulator.topology().instances.find((i) => i.instanceId === instanceId)?.interfaces.find((i) => i.eniId === attachedEni);
  await waitFor('the attach seen by the VPC', async () => wiredEni(), { timeoutMs: 30_000, intervalMs: 100 });
  await options.whenSynced();
  await waitFor('eth1 on the node', async () => ((await ip('-n', nodeNetns, 'link', 'show')).stdout.includes(' eth1') ? true : undefined), { timeoutMs: 30_000, intervalMs: 100 });

  // aws-node's host side of the ENI: up, its primary address, no main-table subnet route, its table.
  const wired = wiredEni()!;
  const prefixLength = wired.subnetCidr.split('/')[1]!;
  await ip('-n', nodeNetns, 'link', 'set', 'eth1', 'up');
  await ip('-n', nodeNetns, 'addr', 'add', `${wired.primaryIp}/${prefixLength}`, 'dev', 'eth1');
  await ip('-n', nodeNetns, 'route', 'del', wired.subnetCidr, 'dev', 'eth1').catch(() => undefined);
  await ip('-n', nodeNetns, 'route', 'add', `${wired.gateway}/32`, 'dev', 'eth1', 'scope', 'link', 'table', ENI1_TABLE);
  await ip('-n', nodeNetns, 'route', 'add', 'default', 'via', wired.gateway, 'dev', 'eth1', 'table', ENI1_TABLE);

  const enis = await enisOf(ec2, instanceId);
  return {
    ec2,
    attachedEni,
    leakedEni,
    primarySecondaries: secondaries(enis.find((e) => e.Attachment?.DeviceIndex === 0)!),
    attachedSecondaries: secondaries(enis.find((e) => e.NetworkInterfaceId === attachedEni)!),
  };
}

/** Secondary addresses one ENI of the instance's type holds (aws-node fills each ENI it warms). */
function secondariesPerEni(emulator: AwsEmulator, instanceId: string): number {
  const type = emulator.topology().instances.find((i) => i.instanceId === instanceId)!.instanceType;
  return instanceTypeTable().get(type)!.ipv4PerInterface - 1;
}

export interface AwsNodePod {
  readonly name: string;
  /** Network namespace name (under /run/netns). */
  readonly netns: string;
  readonly address: string;
  readonly veth: string;
}

/**
 * A pod in namespace `default` set up aws-node's way on the node: veth eni<hash>, the pod's side
 * (its /32, the 169.254.1.1 gateway with a permanent neighbour), the host's /32 route with no
 * protocol given (the kernel's default, as aws-node's netlink calls leave it), the to-rule, and for
 * a secondary ENI the from-rule to its table.
 */
export async function awsNodePod(nodeNetns: string, pod: { name: string; netns: string; address: string }, table: string | undefined): Promise<AwsNodePod> {
  const veth = hostVethName('eni', { namespace: 'default', name: pod.name });
  await createPodNetns(pod.netns);
  await ip('-n', nodeNetns, 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod.netns);
  await ip('-n', nodeNetns, 'link', 'set', veth, 'up');
  const { stdout } = await ip('-n', nodeNetns, '-j', 'link', 'show', veth);
  const hostMac = (JSON.parse(stdout) as Array<{ address: string }>)[0]!.address;
  await ip('-n', pod.netns, 'addr', 'add', `${pod.address}/32`, 'dev', 'eth0');
  await ip('-n', pod.netns, 'link', 'set', 'eth0', 'up');
  await ip('-n', pod.netns, 'route', 'add', '169.254.1.1', 'dev', 'eth0', 'scope', 'link');
  await ip('-n', pod.netns, 'route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0');
  await ip('-n', pod.netns, 'neigh', 'add', '169.254.1.1', 'lladdr', hostMac, 'dev', 'eth0', 'nud', 'permanent');
  await ip('-n', nodeNetns, 'route', 'add', `${pod.address}/32`, 'dev', veth, 'scope', 'link');
  await ip('-n', nodeNetns, 'rule', 'add', 'to', `${pod.address}/32`, 'lookup', 'main', 'pref', '512');
  if (table !== undefined) await ip('-n', nodeNetns, 'rule', 'add', 'from', `${pod.address}/32`, 'lookup', table, 'pref', '1536');
  return { ...pod, veth };
}
