/**
 * NodePort to a pod on a secondary ENI (AWS_VPC_CNI_NODE_PORT_SUPPORT): a DNAT rule on the node,
 * in a table this test owns, does what kube-proxy does for a NodePort (node primary address, port
 * 30080 → pod:8080). With the feature on (the default) the vpc-host's TCP connection to
 * node:30080 succeeds and the VPC's source check drops nothing; with it off (a second daemon run)
 * the pod's reply leaves by its own ENI with the node's address as source, the fabric drops it and
 * the connection fails: the feature is what makes it work.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterNode } from '../../src/demo/emulated-cluster.js';
import { createPodNetns, deletePodNetns } from '../../src/demo/pods.js';
import { execInNetns, tcpConnect, tcpEcho, type TcpEchoServer } from '../../src/emulator/fabric/index.js';
import { CniTool, DIST_BIN, e2eSkipReason, podAddress } from './support/cnitool.js';
import { startAwsCluster, type AwsCluster } from '../../src/emulator/aws/cluster.js';

const PREFIX = 'nnpt-';
const NODE_PORT = 30080;
const POD_PORT = 8080;
/** The test's stand-in for kube-proxy's table. */
const DNAT_TABLE = 'nnpt_kube_proxy';
const skip = e2eSkipReason();
if (skip !== undefined) console.warn(`skipping NodePort e2e: ${skip}`);

interface Pod {
  readonly name: string;
  readonly netns: string;
  readonly netnsPath: string;
  readonly address: string;
}

describe.skipIf(skip !== undefined)('NodePort to a pod on a secondary ENI (kube-proxy-like DNAT on the node, emulated VPC)', () => {
  let workDir: string;
  let cluster: AwsCluster;
  let node: ClusterNode;
  let cni: CniTool;
  let nodeIp: string;
  let target: Pod;
  let echo: TcpEchoServer | undefined;
  const pods: Pod[] = [];

  async function addPod(name: string): Promise<Pod> {
    const netns = `${PREFIX}${name}`;
    const netnsPath = await createPodNetns(netns);
    const outcome = await cni.run('add', 'nativeip', netnsPath, { CNI_ARGS: `K8S_POD_NAMESPACE=nodeport;K8S_POD_NAME=${name}` });
    const pod: Pod = { name, netns, netnsPath, address: outcome.code === 0 ? podAddress(outcome) : '' };
    pods.push(pod);
    expect(outcome.code, `ADD ${name}: ${outcome.stdout}${outcome.stderr}`).toBe(0);
    return pod;
  }

  function deviceOf(address: string): number | undefined {
    for (const instance of cluster.emulator.topology().instances) {
      for (const eni of instance.interfaces) if (eni.secondaryIps.includes(address)) return eni.deviceIndex;
    }
    return undefined;
  }

  async function nodeShell(argv: readonly string[], input?: string): Promise<string> {
    return (await execInNetns(node.netnsPath, argv, input === undefined ? {} : { input })).stdout;
  }

  async function connectThroughNodePort(timeoutMs: number): Promise<boolean> {
    return (await tcpConnect(cluster.fabric.vpcHost.netnsPath, nodeIp, NODE_PORT, { timeoutMs })).ok;
  }

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'nativeip-nodeport-'));
    cluster = await startAwsCluster({ prefix: PREFIX, nodes: 1, instanceType: 't3.medium', binDir: DIST_BIN, workDir });
    node = cluster.nodes[0]!;
    nodeIp = cluster.emulator.topology().instances[0]!.interfaces.find((e) => e.deviceIndex === 0)!.primaryIp;
    cni = await CniTool.withConflist(join(workDir, 'netconf'), {
      cniVersion: '1.0.0',
      name: 'nativeip',
      plugins: [{ type: 'nativeip-cni', socketPath: node.socketPath }],
    });
    for (let i = 1; i <= 14; i += 1) {
      const pod = await addPod(`p${i}`);
      if ((deviceOf(pod.address) ?? 0) > 0) {
        target = pod;
        break;
      }
    }
    if (target === undefined) throw new Error(`no pod of ${pods.map((p) => p.address).join(', ')} landed on a secondary ENI`);
    echo = await tcpEcho(target.netnsPath, target.address, POD_PORT);
    await nodeShell(
      ['nft', '-f', '-'],
      [
        `table ip ${DNAT_TABLE} {`,
        '  chain nodeports {',
        '    type nat hook prerouting priority dstnat; policy accept;',
        `    ip daddr ${nodeIp} tcp dport ${NODE_PORT} dnat to ${target.address}:${POD_PORT}`,
        '  }',
        '}',
        '',
      ].join('\n'),
    );
  }, 180_000);

  afterAll(async () => {
    await echo?.close();
    if (node !== undefined) await nodeShell(['nft', 'delete', 'table', 'ip', DNAT_TABLE]).catch(() => undefined);
    for (const pod of pods) {
      if (pod.address !== '') await cni.run('del', 'nativeip', pod.netnsPath, { CNI_ARGS: `K8S_POD_NAMESPACE=nodeport;K8S_POD_NAME=${pod.name}` }).catch(() => undefined);
      await deletePodNetns(pod.netns);
    }
    if (cluster !== undefined) {
      console.log(`--- daemon log tail ---\n${await cluster.logTail(node, 10)}`);
      await cluster.close();
    }
    if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
  }, 120_000);

  it('on (default): the vpc-host reaches the pod on a secondary ENI through node:30080, and the VPC drops nothing', async () => {
    expect(deviceOf(target.address)).toBeGreaterThan(0);
    const rules = await nodeShell(['ip', '-4', 'rule', 'show', 'priority', '1024']);
    expect(rules).toContain('fwmark 0x80/0x80 lookup main');
    expect(await nodeShell(['nft', 'list', 'table', 'ip', 'nativeip'])).toContain('chain nodeport_mark');
    const dropped = await cluster.fabric.droppedPackets();
    expect(await connectThroughNodePort(5000), `TCP vpc-host → ${nodeIp}:${NODE_PORT} → ${target.address}:${POD_PORT}`).toBe(true);
    expect(await cluster.fabric.droppedPackets(), 'source check').toBe(dropped);
  }, 60_000);

  it('off (a second daemon run): the reply leaves by the secondary ENI, the source check drops it, the connection fails', async () => {
    await cluster.stopDaemon(node);
    await cluster.startDaemon(node, { env: { AWS_VPC_CNI_NODE_PORT_SUPPORT: 'false' } });
    expect(await nodeShell(['ip', '-4', 'rule', 'show', 'priority', '1024'])).not.toContain('fwmark');
    expect(await nodeShell(['nft', 'list', 'table', 'ip', 'nativeip'])).not.toContain('nodeport_mark');
    const dropped = await cluster.fabric.droppedPackets();
    expect(await connectThroughNodePort(1500), 'TCP through the node port without the mark').toBe(false);
    expect(await cluster.fabric.droppedPackets(), 'source-check drops of the replies').toBeGreaterThan(dropped);
    // Direct traffic to the pod still works: only the DNATed path needs the mark.
    expect((await tcpConnect(cluster.fabric.vpcHost.netnsPath, target.address, POD_PORT)).ok).toBe(true);
  }, 60_000);
});
