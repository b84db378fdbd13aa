/**
 * The whole Azure path: emulated ARM (https) + Azure IMDS, VMs as network namespaces behind a
 * VNet router that drops packets whose source is not on the NIC they leave from, a real
 * nativeip-ipamd per VM (finding Azure on its own, NATIVEIP_CLOUD unset), and the built plugin
 * driven by cnitool.
 */
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterNode } from '../../src/demo/emulated-cluster.js';
import { createPodNetns } from '../../src/demo/pods.js';
import { ping, tcpConnect, tcpEcho } from '../../src/emulator/fabric/index.js';
import { CniTool, DIST_BIN, e2eSkipReason, podAddress } from './support/cnitool.js';
import { podLeftovers, tearDownCluster } from './support/cluster.js';
import { startAzureCluster, type AzureCluster } from '../../src/emulator/azure/cluster.js';

const execFileAsync = promisify(execFile);
const PREFIX = 'az-';
const skip = e2eSkipReason();
if (skip !== undefined) console.warn(`skipping Azure e2e: ${skip}`);

interface Pod {
  readonly name: string;
  readonly netns: string;
  readonly netnsPath: string;
  readonly node: ClusterNode;
  address: string;
}

describe.skipIf(skip !== undefined)('Azure end to end (cnitool → nativeip-cni → nativeip-ipamd → emulated ARM)', () => {
  let workDir: string;
  let cluster: AzureCluster;
  const cni = new Map<ClusterNode, CniTool>();
  const pods: Pod[] = [];

  const args = (pod: { name: string }) => ({ CNI_ARGS: `K8S_POD_NAMESPACE=e2e;K8S_POD_NAME=${pod.name}` });

  async function addPod(node: ClusterNode, name: string): Promise<Pod> {
    const netns = `${PREFIX}${name}`;
    const pod: Pod = { name, netns, netnsPath: await createPodNetns(netns), node, address: '' };
    pods.push(pod);
    const outcome = await cni.get(node)!.run('add', 'nativeip', pod.netnsPath, args(pod));
    expect(outcome.code, `ADD ${name}: ${outcome.stdout}${outcome.stderr}`).toBe(0);
    pod.address = podAddress(outcome);
    return pod;
  }

  /** The VM, NIC and IP configuration that hold an address in the emulated ARM. */
  function holderOf(address: string) {
    for (const instance of cluster.emulator.topology().instances) {
      for (const nic of instance.interfaces) {
        if (!nic.secondaryIps.includes(address)) continue;
        const config = cluster.emulator.nic(nic.interfaceId)?.configs.find((c) => c.address === address);
        return { vmId: instance.instanceId, nic, config };
      }
    }
    return undefined;
  }

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'nativeip-e2e-az-'));
    cluster = await startAzureCluster({
      prefix: PREFIX,
      nodes: 2,
      nicsPerVm: 2,
      binDir: DIST_BIN,
      workDir,
      daemonEnv: { WARM_IP_TARGET: '2' },
      emulator: { operationLatencyMs: 300, seed: 5 },
    });
    for (const node of cluster.nodes) {
      cni.set(node, await CniTool.withConflist(join(workDir, `netconf-${node.name}`), { cniVersion: '1.0.0', name: 'nativeip', plugins: [{ type: 'nativeip-cni', socketPath: node.socketPath }] }));
    }
  }, 180_000);

  afterAll(() => tearDownCluster(cluster, pods.map((p) => p.netns), workDir), 120_000);

  it('the daemons found Azure on their own and set up the secondary NIC with its own route table', async () => {
    for (const node of cluster.nodes) {
      const status = await cluster.status(node);
      expect(status.cloud).toBe('azure');
      expect(status.instanceId).toBe(node.instanceId);
      expect(status.interfaces.map((i) => i.deviceIndex)).toEqual([0, 1]);
    }
    const ns = cluster.nodes[0]!.netnsPath.replace('/run/netns/', '');
    const table = await execFileAsync('ip', ['-n', ns, '-4', 'route', 'show', 'table', '2']);
    expect(table.stdout).toMatch(/default via 10\.1\.0\.1 dev eth1/);
  });

  it('gives pods distinct VNet addresses from IP configurations named nativeip-<n> on their VM', async () => {
    const [node1, node2] = cluster.nodes as [ClusterNode, ClusterNode];
    for (let i = 1; i <= 4; i += 1) await addPod(node1, `a${i}`);
    await addPod(node2, 'b1');
    const addresses = pods.map((p) => p.address);
    expect(new Set(addresses).size).toBe(addresses.length);
    for (const pod of pods) {
      const holder = holderOf(pod.address);
      expect(holder?.vmId, `${pod.address} is on an IP configuration of ${pod.node.name}`).toBe(pod.node.instanceId);
      expect(holder?.config?.name).toMatch(/^nativeip-\d+$/);
      expect(holder?.nic.deviceIndex).toBe(0);
    }
    expect(cluster.emulator.callCounts()['PutNetworkInterface']).toBeGreaterThanOrEqual(2);
  }, 120_000);

  it('carries packets pod→pod across VMs and pod↔VNet host, with no source-check drops', async () => {
    const local = pods.find((p) => p.node === cluster.nodes[0])!;
    const remote = pods.find((p) => p.node === cluster.nodes[1])!;
    const host = cluster.fabric.vpcHost;
    const echoHost = await tcpEcho(host.netnsPath, host.ip, 7101);
    const echoRemote = await tcpEcho(remote.netnsPath, remote.address, 7102);
    try {
      expect((await ping(local.netnsPath, remote.address, { count: 2, timeoutSec: 5 })).ok, `${local.address} → ${remote.address}`).toBe(true);
      expect((await ping(local.netnsPath, host.ip, { count: 2, timeoutSec: 5 })).ok, `${local.address} → VNet host`).toBe(true);
      expect((await ping(host.netnsPath, local.address, { count: 1, timeoutSec: 5 })).ok, `VNet host → ${local.address}`).toBe(true);
      expect((await tcpConnect(local.netnsPath, host.ip, 7101)).ok).toBe(true);
      expect((await tcpConnect(local.netnsPath, remote.address, 7102)).ok).toBe(true);
    } finally {
      await echoHost.close();
      await echoRemote.close();
    }
    expect(await cluster.fabric.droppedPackets()).toBe(0);
  }, 120_000);

  it('DEL removes the pod’s veth, routes and rules and frees its allocation', async () => {
    const node1 = cluster.nodes[0]!;
    const victims = pods.filter((p) => p.node === node1).slice(-2);
    for (const pod of victims) {
      const outcome = await cni.get(node1)!.run('del', 'nativeip', pod.netnsPath, args(pod));
      expect(outcome.code, outcome.stdout + outcome.stderr).toBe(0);
      expect(await podLeftovers(node1, 'e2e', pod)).toEqual([]);
    }
    const status = await cluster.status(node1);
    for (const pod of victims) expect(status.pods.map((p) => p.address)).not.toContain(pod.address);
  }, 60_000);

  it('a daemon killed mid-write finishes the NIC operation on restart without a second PUT', async () => {
    const node2 = cluster.nodes[1]!;
    const nicId = cluster.emulator.topology().instances.find((i) => i.instanceId === node2.instanceId)!.interfaces[0]!.interfaceId;
    await cluster.stopDaemon(node2, 'SIGTERM');
    const before = cluster.emulator.nic(nicId)!.configs.filter((c) => c.name.startsWith('nativeip-')).length;
    const puts = () => cluster.emulator.callCounts()['PutNetworkInterface'] ?? 0;
    // A larger warm target makes the restarted daemon grow; kill it while that write runs.
    const grown = { ...node2, env: { ...node2.env, WARM_IP_TARGET: String(before + 3) } };
    const putsBefore = puts();
    await cluster.startDaemon(grown);
    const deadline = Date.now() + 20_000;
    while (!cluster.emulator.nic(nicId)!.updating && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(cluster.emulator.nic(nicId)!.updating).toBe(true);
    await cluster.stopDaemon(grown, 'SIGKILL');
    expect(puts()).toBe(putsBefore + 1);
    await cluster.startDaemon(grown);
    node2.process = grown.process;
    // Give a wrongly repeated write the time to show up before counting.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const ours = cluster.emulator.nic(nicId)!.configs.filter((c) => c.name.startsWith('nativeip-'));
    expect(ours.every((c) => c.provisioningState === 'Succeeded')).toBe(true);
    expect(puts()).toBe(putsBefore + 1);
    const status = await cluster.status(grown);
    expect(status.pool.total).toBe(ours.length);
    expect(status.pool.available).toBeGreaterThanOrEqual(before + 3);
  }, 120_000);
});
