/**
 * The whole AWS path: emulated EC2 + IMDS, nodes as network namespaces behind a VPC that checks
 * sources, a real nativeip-ipamd per node, and the built plugin driven by cnitool.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterNode } from '../../src/demo/emulated-cluster.js';
import { createPodNetns, deletePodNetns } from '../../src/demo/pods.js';
import { ping, tcpConnect, tcpEcho } from '../../src/emulator/fabric/index.js';
import { CniTool, DIST_BIN, e2eSkipReason, podAddress } from './support/cnitool.js';
import { podLeftovers, tearDownCluster } from './support/cluster.js';
import { startAwsCluster, type AwsCluster } from '../../src/emulator/aws/cluster.js';

const PREFIX = 'e2a-';
const skip = e2eSkipReason();
if (skip !== undefined) console.warn(`skipping AWS e2e: ${skip}`);

interface Pod {
  readonly name: string;
  readonly netns: string;
  readonly netnsPath: string;
  readonly node: ClusterNode;
  address: string;
}

describe.skipIf(skip !== undefined)('AWS end to end (cnitool → nativeip-cni → nativeip-ipamd → emulated EC2)', () => {
  let workDir: string;
  let cluster: AwsCluster;
  const cni = new Map<ClusterNode, CniTool>();
  const pods: Pod[] = [];

  async function addPod(node: ClusterNode, name: string): Promise<Pod> {
    const netns = `${PREFIX}${name}`;
    const netnsPath = await createPodNetns(netns);
    const pod: Pod = { name, netns, netnsPath, node, address: '' };
    pods.push(pod);
    const outcome = await cni.get(node)!.run('add', 'nativeip', netnsPath, { CNI_ARGS: `K8S_POD_NAMESPACE=e2e;K8S_POD_NAME=${name}` });
    expect(outcome.stderr + outcome.stdout, `ADD ${name}`).not.toMatch(/"code"/);
    expect(outcome.code).toBe(0);
    pod.address = podAddress(outcome);
    return pod;
  }

  async function delPod(pod: Pod): Promise<void> {
    const outcome = await cni.get(pod.node)!.run('del', 'nativeip', pod.netnsPath, { CNI_ARGS: `K8S_POD_NAMESPACE=e2e;K8S_POD_NAME=${pod.name}` });
    expect(outcome.code, outcome.stdout + outcome.stderr).toBe(0);
  }

  function eniOf(address: string) {
    for (const instance of cluster.emulator.topology().instances) {
      for (const eni of instance.interfaces) if (eni.secondaryIps.includes(address)) return { instance, eni };
    }
    return undefined;
  }

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'nativeip-e2e-'));
    cluster = await startAwsCluster({ prefix: PREFIX, nodes: 2, instanceType: 't3.medium', binDir: DIST_BIN, workDir });
    for (const node of cluster.nodes) {
      const tool = await CniTool.withConflist(join(workDir, `netconf-${node.name}`), {
        cniVersion: '1.0.0',
        name: 'nativeip',
        plugins: [{ type: 'nativeip-cni', socketPath: node.socketPath }],
      });
      cni.set(node, tool);
    }
  }, 180_000);

  afterAll(() => tearDownCluster(cluster, pods.map((p) => p.netns), workDir), 120_000);

  it('gives pods distinct VPC addresses, on the primary ENI and then on a secondary ENI', async () => {
    const [node1, node2] = cluster.nodes as [ClusterNode, ClusterNode];
    for (let i = 1; i <= 7; i += 1) await addPod(node1, `a${i}`);
    await addPod(node2, 'b1');
    const addresses = pods.map((p) => p.address);
    expect(new Set(addresses).size).toBe(addresses.length);
    for (const pod of pods) {
      const owner = eniOf(pod.address);
      expect(owner, `${pod.address} is assigned in EC2`).toBeDefined();
      expect(owner?.instance.instanceId).toBe(pod.node.instanceId);
    }
    const devices = pods.filter((p) => p.node === node1).map((p) => eniOf(p.address)?.eni.deviceIndex);
    expect(devices).toContain(0);
    expect(devices.some((d) => d !== undefined && d > 0)).toBe(true);
  }, 120_000);

  it('carries real packets pod→pod across nodes and pod→vpc-host, from both ENIs, with no source-check drops', async () => {
    const node1Pods = pods.filter((p) => p.node === cluster.nodes[0]);
    const onPrimary = node1Pods.find((p) => eniOf(p.address)?.eni.deviceIndex === 0)!;
    const onSecondary = node1Pods.find((p) => (eniOf(p.address)?.eni.deviceIndex ?? 0) > 0)!;
    const remote = pods.find((p) => p.node === cluster.nodes[1])!;
    const host = cluster.fabric.vpcHost;
    const echoHost = await tcpEcho(host.netnsPath, host.ip, 7001);
    const echoRemote = await tcpEcho(remote.netnsPath, remote.address, 7002);
    try {
      for (const pod of [onPrimary, onSecondary]) {
        expect((await ping(pod.netnsPath, remote.address, { count: 2, timeoutSec: 5 })).ok, `${pod.address} → ${remote.address}`).toBe(true);
        expect((await ping(pod.netnsPath, host.ip, { count: 2, timeoutSec: 5 })).ok, `${pod.address} → vpc-host`).toBe(true);
        expect((await ping(host.netnsPath, pod.address, { count: 1, timeoutSec: 5 })).ok, `vpc-host → ${pod.address}`).toBe(true);
        expect((await tcpConnect(pod.netnsPath, host.ip, 7001)).ok, `TCP ${pod.address} → vpc-host`).toBe(true);
        expect((await tcpConnect(pod.netnsPath, remote.address, 7002)).ok, `TCP ${pod.address} → ${remote.address}`).toBe(true);
      }
    } finally {
      await echoHost.close();
      await echoRemote.close();
    }
    expect(await cluster.fabric.droppedPackets()).toBe(0);
  }, 120_000);

  it('DEL leaves no veth, route or rule behind and frees the allocation', async () => {
    const node1 = cluster.nodes[0]!;
    const victims = pods.filter((p) => p.node === node1).slice(-2);
    for (const pod of victims) {
      await delPod(pod);
      expect(await podLeftovers(node1, 'e2e', pod)).toEqual([]);
    }
    const status = await cluster.status(node1);
    for (const pod of victims) expect(status.pods.map((p) => p.address)).not.toContain(pod.address);
    // DEL twice is fine.
    await delPod(victims[0]!);
  }, 60_000);

  it('a daemon restarted (killed) between ADD and DEL still cleans up', async () => {
    const node2 = cluster.nodes[1]!;
    const pod = await addPod(node2, 'restart');
    await cluster.stopDaemon(node2, 'SIGKILL');
    await cluster.startDaemon(node2);
    const restored = await cluster.status(node2);
    expect(restored.pods.map((p) => p.address)).toContain(pod.address);
    await delPod(pod);
    expect(await podLeftovers(node2, 'e2e', pod)).toEqual([]);
    const after = await cluster.status(node2);
    expect(after.pods.map((p) => p.address)).not.toContain(pod.address);
  }, 120_000);

  it('DEL succeeds while the daemon is down, and the daemon releases the address when it returns', async () => {
    const node2 = cluster.nodes[1]!;
    const pod = await addPod(node2, 'down');
    await cluster.stopDaemon(node2, 'SIGTERM');
    try {
      await delPod(pod);
      await deletePodNetns(pod.netns); // the runtime removes the sandbox
    } finally {
      await cluster.startDaemon(node2);
    }
    const after = await cluster.status(node2);
    expect(after.pods.map((p) => p.address)).not.toContain(pod.address);
    expect(await podLeftovers(node2, 'e2e', pod)).toEqual([]);
  }, 120_000);
});
