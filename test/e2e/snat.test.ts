/**
 * Egress to the internet: with SNAT (the default) pods on the primary and on a secondary ENI reach
 * a host outside the VPC as the node's primary address; with AWS_VPC_K8S_CNI_EXTERNALSNAT=true
 * (a second daemon run on the same node) the emulated internet gateway drops their packets, while
 * traffic inside the VPC still flows. A pod on a secondary ENI added with SNAT and left running
 * gets its from rules rewritten by the second run and then egresses as that run's mode says.
 * DEL leaves no rule behind in either mode.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterNode } from '../../src/demo/emulated-cluster.js';
import { createPodNetns, deletePodNetns } from '../../src/demo/pods.js';
import { ping, tcpConnect, tcpEcho, type TcpEchoServer } from '../../src/emulator/fabric/index.js';
import { CniTool, DIST_BIN, e2eSkipReason, podAddress } from './support/cnitool.js';
import { startAwsCluster, type AwsCluster } from '../../src/emulator/aws/cluster.js';

const execFileAsync = promisify(execFile);
const PREFIX = 'snat-';
const skip = e2eSkipReason();
if (skip !== undefined) console.warn(`skipping SNAT e2e: ${skip}`);

interface Pod {
  readonly name: string;
  readonly netns: string;
  readonly netnsPath: string;
  address: string;
}

describe.skipIf(skip !== undefined)('egress SNAT (cnitool → nativeip-cni → nativeip-ipamd, emulated VPC with an internet gateway)', () => {
  let workDir: string;
  let cluster: AwsCluster;
  let node: ClusterNode;
  let cni: CniTool;
  let inetEcho: TcpEchoServer;
  let vpcEcho: TcpEchoServer;
  const created: string[] = [];
  /** The first test's pod on a secondary ENI, left running across the daemon restart. */
  let survivor: Pod | undefined;

  const ns = (): string => node.netnsPath.replace('/run/netns/', '');

  async function addPod(name: string): Promise<Pod> {
    const netns = `${PREFIX}${name}`;
    const netnsPath = await createPodNetns(netns);
    created.push(netns);
    const pod: Pod = { name, netns, netnsPath, address: '' };
    const outcome = await cni.run('add', 'nativeip', netnsPath, { CNI_ARGS: `K8S_POD_NAMESPACE=snat;K8S_POD_NAME=${name}` });
    expect(outcome.code, `ADD ${name}: ${outcome.stdout}${outcome.stderr}`).toBe(0);
    pod.address = podAddress(outcome);
    return pod;
  }

  async function delPod(pod: Pod): Promise<void> {
    const outcome = await cni.run('del', 'nativeip', pod.netnsPath, { CNI_ARGS: `K8S_POD_NAMESPACE=snat;K8S_POD_NAME=${pod.name}` });
    expect(outcome.code, outcome.stdout + outcome.stderr).toBe(0);
    await deletePodNetns(pod.netns);
  }

  function deviceOf(address: string): number | undefined {
    for (const instance of cluster.emulator.topology().instances) {
      for (const eni of instance.interfaces) if (eni.secondaryIps.includes(address)) return eni.deviceIndex;
    }
    return undefined;
  }

  /** Adds pods (`<round>-<n>`) until one is on the primary ENI and one on a secondary ENI. */
  async function podsOnBothEnis(round: string): Promise<{ all: Pod[]; primary: Pod; secondary: Pod }> {
    const all: Pod[] = [];
    for (let i = 1; i <= 14; i += 1) {
      all.push(await addPod(`${round}${i}`));
      const primary = all.find((p) => deviceOf(p.address) === 0);
      const secondary = all.find((p) => (deviceOf(p.address) ?? 0) > 0);
      if (primary !== undefined && secondary !== undefined) return { all, primary, secondary };
    }
    throw new Error(`no pod of ${all.map((p) => p.address).join(', ')} landed on a secondary ENI`);
  }

  async function rulesOf(address: string): Promise<string[]> {
    const { stdout } = await execFileAsync('ip', ['-n', ns(), '-4', 'rule', 'show']);
    return stdout.split('\n').filter((l) => new RegExp(`(from|to) ${address.replace(/\./g, '\\.')}(\\s|/32)`).test(l)).map((l) => l.trim());
  }

  async function natTables(): Promise<string> {
    return (await execFileAsync('ip', ['netns', 'exec', ns(), 'nft', 'list', 'tables'])).stdout;
  }

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'nativeip-snat-'));
    // No cooldown: the second daemon run hands out the first run's addresses again, primary ENI first.
    cluster = await startAwsCluster({
      prefix: PREFIX,
      nodes: 1,
      instanceType: 't3.medium',
      binDir: DIST_BIN,
      workDir,
      daemonEnv: { IP_COOLDOWN_PERIOD: '0' },
    });
    node = cluster.nodes[0]!;
    cni = await CniTool.withConflist(join(workDir, 'netconf'), {
      cniVersion: '1.0.0',
      name: 'nativeip',
      plugins: [{ type: 'nativeip-cni', socketPath: node.socketPath }],
    });
    inetEcho = await tcpEcho(cluster.fabric.internetHost.netnsPath, cluster.fabric.internetHost.ip, 7080);
    vpcEcho = await tcpEcho(cluster.fabric.vpcHost.netnsPath, cluster.fabric.vpcHost.ip, 7081);
  }, 180_000);

  afterAll(async () => {
    await inetEcho?.close();
    await vpcEcho?.close();
    for (const name of created) await deletePodNetns(name);
    if (cluster !== undefined) {
      console.log(`--- daemon log tail ---\n${await cluster.logTail(node, 15)}`);
      await cluster.close();
    }
    await rm(workDir, { recursive: true, force: true });
  }, 120_000);

  it('SNAT on: pods on both ENIs reach the internet as the node primary address; VPC traffic keeps the pod address', async () => {
    const { all, primary, secondary } = await podsOnBothEnis('s');
    const inet = cluster.fabric.internetHost;
    const nodeIp = cluster.emulator.topology().instances[0]!.interfaces.find((e) => e.deviceIndex === 0)!.primaryIp;

    expect(await natTables()).toContain('table ip nativeip');
    const secondaryRules = await rulesOf(secondary.address);
    const toVpc = `to ${cluster.emulator.topology().vpcCidr} lookup`;
    expect(secondaryRules.some((r) => r.startsWith('1536:') && r.includes(toVpc)), secondaryRules.join('\n')).toBe(true);
    expect(secondaryRules.some((r) => /^1536:\s+from \S+ lookup/.test(r)), 'no catch-all from-rule').toBe(false);

    for (const pod of [primary, secondary]) {
      expect((await ping(pod.netnsPath, inet.ip, { count: 2, timeoutSec: 5 })).ok, `ping ${pod.address} → internet`).toBe(true);
      expect((await tcpConnect(pod.netnsPath, inet.ip, 7080)).ok, `TCP ${pod.address} → internet`).toBe(true);
      expect((await tcpConnect(pod.netnsPath, cluster.fabric.vpcHost.ip, 7081)).ok, `TCP ${pod.address} → vpc-host`).toBe(true);
      expect((await ping(cluster.fabric.vpcHost.netnsPath, pod.address, { count: 1, timeoutSec: 5 })).ok, `vpc-host → ${pod.address}`).toBe(true);
    }
    expect(await cluster.fabric.internetSources()).toEqual([nodeIp]);
    expect(await cluster.fabric.internetDroppedPackets()).toBe(0);
    expect(await cluster.fabric.droppedPackets()).toBe(0);

    survivor = secondary;
    const deleted = all.filter((p) => p !== secondary);
    for (const pod of deleted) await delPod(pod);
    for (const pod of deleted) expect(await rulesOf(pod.address), `rules of ${pod.address} after DEL`).toEqual([]);
  }, 180_000);

  it('external SNAT on a second daemon run: the internet gateway drops pod traffic, the VPC still carries it, no NAT table', async () => {
    await cluster.stopDaemon(node);
    expect(await natTables(), 'a stopped daemon leaves the SNAT table for the pods still running').toContain('table ip nativeip');
    await cluster.startDaemon(node, { env: { AWS_VPC_K8S_CNI_EXTERNALSNAT: 'true', AWS_VPC_CNI_NODE_PORT_SUPPORT: 'false' } });
    expect(await natTables()).not.toContain('table ip nativeip');

    // The pod added under SNAT has had its from rules rewritten to the catch-all form at start-up.
    const kept = survivor!;
    const keptRules = await rulesOf(kept.address);
    expect(keptRules.some((r) => /^1536:\s+from \S+ lookup \d+/.test(r)), keptRules.join('\n')).toBe(true);
    expect(keptRules.some((r) => r.startsWith('1536:') && r.includes(' to ')), keptRules.join('\n')).toBe(false);
    expect(await cluster.logTail(node, 400)).toMatch(/rewrote the from rules of 1 existing pods/);

    const { all, primary, secondary } = await podsOnBothEnis('x');
    const secondaryRules = await rulesOf(secondary.address);
    expect(secondaryRules.some((r) => /^1536:\s+from \S+ lookup \d+/.test(r)), secondaryRules.join('\n')).toBe(true);
    expect(secondaryRules.some((r) => r.startsWith('1536:') && r.includes(' to ')), secondaryRules.join('\n')).toBe(false);

    const inet = cluster.fabric.internetHost;
    const seenBefore = await cluster.fabric.internetSources();
    const droppedBefore = await cluster.fabric.internetDroppedPackets();
    for (const pod of [primary, secondary, kept]) {
      expect((await ping(pod.netnsPath, inet.ip, { count: 1, timeoutSec: 2 })).ok, `ping ${pod.address} → internet`).toBe(false);
      expect((await tcpConnect(pod.netnsPath, inet.ip, 7080, { timeoutMs: 1500 })).ok, `TCP ${pod.address} → internet`).toBe(false);
      expect((await tcpConnect(pod.netnsPath, cluster.fabric.vpcHost.ip, 7081)).ok, `TCP ${pod.address} → vpc-host`).toBe(true);
      expect((await ping(pod.netnsPath, cluster.fabric.vpcHost.ip, { count: 1, timeoutSec: 5 })).ok, `ping ${pod.address} → vpc-host`).toBe(true);
    }
    expect(await cluster.fabric.internetDroppedPackets()).toBeGreaterThanOrEqual(droppedBefore + 6);
    expect(await cluster.fabric.internetSources()).toEqual(seenBefore);
    expect(await cluster.fabric.droppedPackets(), 'source check').toBe(0);

    survivor = secondary;
    const deleted = [...all.filter((p) => p !== secondary), kept];
    for (const pod of deleted) await delPod(pod);
    for (const pod of deleted) expect(await rulesOf(pod.address), `rules of ${pod.address} after DEL`).toEqual([]);
  }, 180_000);

  it('SNAT again on a third run: the pod added with external SNAT gets destination rules and reaches the internet as the node', async () => {
    const kept = survivor!;
    const nodeIp = cluster.emulator.topology().instances[0]!.interfaces.find((e) => e.deviceIndex === 0)!.primaryIp;
    await cluster.stopDaemon(node);
    await cluster.startDaemon(node);
    const keptRules = await rulesOf(kept.address);
    expect(keptRules.some((r) => r.startsWith('1536:') && r.includes(`to ${cluster.emulator.topology().vpcCidr} lookup`)), keptRules.join('\n')).toBe(true);
    expect(keptRules.some((r) => /^1536:\s+from \S+ lookup/.test(r)), 'no catch-all from-rule left').toBe(false);
    // With its old catch-all rule the pod's internet traffic would leave by its own ENI, SNATed to the
    // node's address, and the VPC's source check would drop it.
    const droppedBefore = await cluster.fabric.droppedPackets();
    expect((await tcpConnect(kept.netnsPath, cluster.fabric.internetHost.ip, 7080)).ok, `TCP ${kept.address} → internet`).toBe(true);
    expect((await tcpConnect(kept.netnsPath, cluster.fabric.vpcHost.ip, 7081)).ok, `TCP ${kept.address} → vpc-host`).toBe(true);
    expect(await cluster.fabric.internetSources()).toContain(nodeIp);
    expect(await cluster.fabric.droppedPackets(), 'source check').toBe(droppedBefore);
    await delPod(kept);
    expect(await rulesOf(kept.address)).toEqual([]);
  }, 180_000);
});
