/**
 * A node switched from the AWS VPC CNI (aws-node) to nativeip, as the README's migration guide
 * does it: aws-node is gone from the node but left what it made — a warm pool on the primary ENI,
 * a second ENI it created and attached (its tags, DeleteOnTermination), a detached ENI it leaked,
 * and two running pods set up its way (host veth `eni<hash>`, a `/32` route in the main table,
 * its `to` and `from` rules, the ENI's route table). nativeip then starts on the node.
 *
 * Shown with the real datapath and real packets through the emulated VPC's source-checking
 * router: the old pods keep their addresses and their traffic, no new pod gets either address,
 * the attached ENI is adopted (its free addresses serve new pods, it is never deleted), the leaked
 * one is deleted and another node's kept; a DEL of an old pod (kubelet sends it through
 * nativeip's conflist once nativeip's sorts first) removes aws-node's objects for it, and an old
 * pod that ended without a DEL lets its address go and its rules are swept.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateNetworkInterfaceCommand, DescribeNetworkInterfacesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterNode } from '../../src/demo/emulated-cluster.js';
import { createPodNetns, deletePodNetns } from '../../src/demo/pods.js';
import { startAwsCluster, type AwsCluster } from '../../src/emulator/aws/cluster.js';
import { callDaemon } from '../../src/rpc/client.js';
import type { StatusResult } from '../../src/rpc/protocol.js';
import { DIST_BIN, e2eSkipReason } from './support/cnitool.js';
import { tearDownCluster } from './support/cluster.js';
import { ENI1_TABLE, awsNodePod, enisOf, leaveAwsNodeFootprint, vpcCniTags, type AwsNodePod } from '../support/aws-node-footprint.js';

const execFileAsync = promisify(execFile);
const skip = e2eSkipReason();
const PREFIX = 'swn-';
const CLUSTER = 'nativeip-demo';

let cluster: AwsCluster | undefined;
let workDir: string | undefined;
let ec2: EC2Client | undefined;
let node: ClusterNode;
let other: ClusterNode;
const podNetns: string[] = [];
/** Whether STATUS went unanswered while aws-node's ipamd port answered. */
let waitedForAwsNode = false;
/** The node's ENIs meanwhile: nativeip created none. */
let enisWhileWaiting = 0;

/** What aws-node left on node 1. */
const legacy = {
  adoptedEni: '',
  leakedEni: '',
  otherNodesEni: '',
  /** Pod A: on a secondary address of the primary ENI. */
  a: undefined as unknown as AwsNodePod,
  /** Pod B: on a secondary address of the ENI aws-node attached. */
  b: undefined as unknown as AwsNodePod,
};

const ip = (...args: string[]) => execFileAsync('ip', args);
const nodeNs = (n: ClusterNode) => n.netnsPath.replace('/run/netns/', '');

async function ping(netns: string, address: string): Promise<void> {
  await execFileAsync('ip', ['netns', 'exec', netns, 'ping', '-c', '1', '-W', '2', address]);
}

/** A new pod through nativeip (the ADD kubelet's plugin call makes), in a namespace of its own. */
async function addPod(name: string): Promise<{ name: string; address: string }> {
  const netns = `${PREFIX}${name}`;
  podNetns.push(netns);
  const params = { networkName: 'nativeip', containerId: `c-${name}`, ifName: 'eth0', netns: await createPodNetns(netns), podNamespace: 'default', podName: name };
  const result = await callDaemon(node.socketPath, 'add', params, { timeoutMs: 60_000 });
  return { name, address: result.address.replace('/32', '') };
}

async function rules(): Promise<string> {
  return (await ip('-n', nodeNs(node), 'rule', 'show')).stdout;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s\n${await cluster!.logTail(node, 30)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

beforeAll(async () => {
  if (skip !== undefined) return;
  workDir = await mkdtemp(join(tmpdir(), 'nativeip-switch-'));
  cluster = await startAwsCluster({
    prefix: PREFIX,
    nodes: 2,
    instanceType: 't3.medium',
    binDir: DIST_BIN,
    workDir,
    startDaemons: false,
    daemonEnv: { NATIVEIP_RECONCILE_INTERVAL: '1', NATIVEIP_ENI_GC_INTERVAL: '2', IP_COOLDOWN_PERIOD: '2' },
  });
  [node, other] = [cluster.nodes[0]!, cluster.nodes[1]!];
  const emulator = cluster.emulator;
  const footprint = await leaveAwsNodeFootprint(emulator, node.instanceId, nodeNs(node), { clusterName: CLUSTER, whenSynced: () => cluster!.fabric.whenSynced() });
  ec2 = footprint.ec2;
  legacy.adoptedEni = footprint.attachedEni;
  legacy.leakedEni = footprint.leakedEni;
  // One aws-node leaked for the other node, which still runs it.
  const subnetId = (await enisOf(ec2, node.instanceId)).find((e) => e.Attachment?.DeviceIndex === 0)!.SubnetId!;
  const old = new Date(Date.now() - 3_600_000).toISOString();
  legacy.otherNodesEni = (await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetId, TagSpecifications: vpcCniTags(other.instanceId, old, CLUSTER) }))).NetworkInterface!.NetworkInterfaceId!;
  legacy.a = await awsNodePod(nodeNs(node), { name: 'legacy-a', netns: `${PREFIX}legacy-a`, address: footprint.primarySecondaries[2]! }, undefined);
  podNetns.push(legacy.a.netns);
  legacy.b = await awsNodePod(nodeNs(node), { name: 'legacy-b', netns: `${PREFIX}legacy-b`, address: footprint.attachedSecondaries[3]! }, ENI1_TABLE);
  podNetns.push(legacy.b.netns);
  // aws-node's pods worked before the switch: the VPC's router checks sources, so B's packets must leave by eth1.
  const otherIp = emulator.topology().instances.find((i) => i.instanceId === other.instanceId)!.interfaces[0]!.primaryIp;
  await ping(legacy.a.netns, otherIp);
  await ping(legacy.b.netns, otherIp);

  // aws-node's ipamd still answering (its plugin's gRPC port): nativeip waits, says why, serves nothing.
  const ipamd = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => ipamd.listen(50051, '127.0.0.1', resolve));
  const started = cluster.startDaemon(node);
  await until('the daemon saying it waits for aws-node', async () => (await readFile(node.logFile, 'utf8').catch(() => '')).includes('another IPAM agent runs on this node'));
  waitedForAwsNode = await callDaemon(node.socketPath, 'status', {}, { timeoutMs: 1_000 }).then(
    () => false,
    () => true,
  );
  enisWhileWaiting = (await enisOf(ec2, node.instanceId)).length;
  await new Promise<void>((resolve) => ipamd.close(() => resolve()));
  await started;
}, 180_000);

afterAll(async () => {
  ec2?.destroy();
  await tearDownCluster(cluster, podNetns, workDir);
}, 60_000);

describe.skipIf(skip !== undefined)('a node switched from aws-node', () => {
  let otherIp: string;
  const added: { name: string; address: string }[] = [];

  it('waits before serving while aws-node’s ipamd answers on its port, and starts once it is gone', async () => {
    expect(waitedForAwsNode).toBe(true);
    expect(enisWhileWaiting).toBe(2);
    const log = await readFile(node.logFile, 'utf8');
    expect(log).toContain('127.0.0.1:50051, where aws-node');
    expect(log).toContain('the other IPAM agent is gone: starting');
  });

  it('adopts the ENI aws-node attached and holds both old pods’ addresses from the kernel', async () => {
    otherIp = cluster!.emulator.topology().instances.find((i) => i.instanceId === other.instanceId)!.interfaces[0]!.primaryIp;
    await until('the adopted ENI in STATUS', async () => (await cluster!.status(node)).interfaces.some((i) => i.id === legacy.adoptedEni));
    const status: StatusResult = await cluster!.status(node);
    expect(status.unsettled).toBeUndefined();
    expect((status.held ?? []).map((h) => [h.address, h.hostVeth, h.source]).sort()).toEqual(
      [
        [legacy.a.address, legacy.a.veth, 'kernel'],
        [legacy.b.address, legacy.b.veth, 'kernel'],
      ].sort(),
    );
    const log = await cluster!.logTail(node, 200);
    expect(log).toContain('adopting an ENI the AWS VPC CNI made for this instance');
  });

  it('gives new pods other addresses, on the adopted ENI too; old and new pods reach the VPC and each other with real packets', async () => {
    for (let i = 0; i < 12; i += 1) added.push(await addPod(`new-${i}`));
    const addresses = added.map((p) => p.address);
    expect(new Set(addresses).size).toBe(addresses.length);
    expect(addresses).not.toContain(legacy.a.address);
    expect(addresses).not.toContain(legacy.b.address);
    const status = await cluster!.status(node);
    const onAdopted = status.pods.filter((p) => p.interfaceId === legacy.adoptedEni);
    expect(onAdopted.length, 'new pods on the adopted ENI').toBeGreaterThan(0);
    const adoptedPod = added.find((p) => p.address === onAdopted[0]!.address.replace('/32', ''))!;
    await ping(legacy.a.netns, otherIp);
    await ping(legacy.b.netns, otherIp);
    await ping(`${PREFIX}${adoptedPod.name}`, otherIp);
    await ping(`${PREFIX}${adoptedPod.name}`, legacy.b.address);
    await ping(`${PREFIX}${added[0]!.name}`, legacy.a.address);
  }, 180_000);

  it('deletes the ENI aws-node leaked on this node, keeps the other node’s, never touches the adopted one', async () => {
    const exists = async (id: string) => {
      const out = await ec2!.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'network-interface-id', Values: [id] }] }));
      return (out.NetworkInterfaces ?? []).length > 0;
    };
    await until('the leaked ENI deleted', async () => !(await exists(legacy.leakedEni)));
    expect(await exists(legacy.otherNodesEni)).toBe(true);
    expect((await enisOf(ec2!, node.instanceId)).map((e) => e.NetworkInterfaceId)).toContain(legacy.adoptedEni);
  });

  it('a DEL of an old pod (through nativeip, as kubelet sends it after the switch) removes aws-node’s objects; its address cools down, then serves again', async () => {
    await callDaemon(
      node.socketPath,
      'del',
      { networkName: 'nativeip', containerId: 'aws-node-sandbox-b', ifName: 'eth0', netns: `/run/netns/${legacy.b.netns}`, podNamespace: 'default', podName: legacy.b.name },
      { timeoutMs: 30_000 },
    );
    const { stdout: links } = await ip('-n', nodeNs(node), 'link', 'show');
    expect(links).not.toContain(legacy.b.veth);
    expect(await rules()).not.toContain(`from ${legacy.b.address} lookup`);
    expect(await rules()).not.toContain(`to ${legacy.b.address} lookup`);
    const status = await cluster!.status(node);
    expect((status.held ?? []).map((h) => h.address)).toEqual([legacy.a.address]);
    expect(status.pods.map((p) => p.address.replace('/32', ''))).not.toContain(legacy.b.address);
  });

  it('an old pod that ended without a DEL lets its address go; aws-node’s rules for it are swept', async () => {
    await deletePodNetns(legacy.a.netns);
    await until('pod A’s hold let go', async () => !((await cluster!.status(node)).held ?? []).some((h) => h.address === legacy.a.address));
    await until('pod A’s to-rule swept', async () => !(await rules()).includes(`to ${legacy.a.address} lookup`));
  }, 60_000);

  it('both old addresses serve new pods once cooled down: the node is full (3 of 3 ENIs) and nothing was lost', async () => {
    const status = await cluster!.status(node);
    expect(status.interfaces.map((i) => i.addresses)).toEqual([5, 5, 5]);
    const more: string[] = [];
    for (let i = 0; i < 3; i += 1) more.push((await addPod(`later-${i}`)).address);
    expect(more).toEqual(expect.arrayContaining([legacy.a.address, legacy.b.address]));
    expect(new Set([...added.map((p) => p.address), ...more]).size).toBe(15);
  }, 60_000);
});
