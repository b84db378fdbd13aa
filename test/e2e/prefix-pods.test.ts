/**
 * Prefix delegation with real packets: emulated EC2 delegating /28 prefixes, nodes as network
 * namespaces behind a VPC router that routes each prefix to its ENI and checks sources against
 * them, a real nativeip-ipamd per node with ENABLE_PREFIX_DELEGATION=true, pods made by cnitool.
 * Then the fallback: a subnet with no free /28 still gives a pod a single secondary address.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cidrContains, intToIpv4, parseCidr } from '../../src/core/ipv4.js';
import type { ClusterNode } from '../../src/demo/emulated-cluster.js';
import type { EmulatorTopology as Topology } from '../../src/emulator/aws/index.js';
import { createPodNetns } from '../../src/demo/pods.js';
import { execInNetns, ping, tcpConnect, tcpEcho } from '../../src/emulator/fabric/index.js';
import { CniTool, DIST_BIN, e2eSkipReason, podAddress } from './support/cnitool.js';
import { podLeftovers, tearDownCluster } from './support/cluster.js';
import { startAwsCluster, type AwsCluster } from '../../src/emulator/aws/cluster.js';

const PREFIX = 'npfx-';
const FALLBACK_PREFIX = 'npfxf-';
const SUBNET = '10.0.0.0/20';
/**
 * t3.nano: 2 ENIs with 2 IPv4 slots each, so one /28 per ENI. The 17th pod of a node needs a
 * second prefix, which only a second ENI can hold.
 */
const INSTANCE_TYPE = 't3.nano';
const PODS_ON_NODE1 = 17;
const PREFIX_ENV = { ENABLE_PREFIX_DELEGATION: 'true', WARM_PREFIX_TARGET: '1' } as const;

const skip = e2eSkipReason();
if (skip !== undefined) console.warn(`skipping prefix-delegation e2e (test/e2e/prefix-pods.test.ts): ${skip}`);

interface Pod {
  readonly name: string;
  readonly netns: string;
  readonly netnsPath: string;
  readonly node: ClusterNode;
  address: string;
}

/** The ENI (and, when the address came from one, the prefix) holding `address`. */
function ownerOf(topology: Topology, address: string) {
  for (const instance of topology.instances) {
    for (const eni of instance.interfaces) {
      const prefix = eni.prefixes.find((p) => cidrContains(p, address));
      if (prefix !== undefined) return { instanceId: instance.instanceId, eni, prefix };
      if (eni.primaryIp === address || eni.secondaryIps.includes(address)) return { instanceId: instance.instanceId, eni, prefix: undefined };
    }
  }
  return undefined;
}

/** An address of the subnet that no ENI holds, neither alone nor inside a prefix. */
function unassignedAddress(topology: Topology): string {
  const { network, prefixLength } = parseCidr(SUBNET);
  for (let a = network + 2 ** (32 - prefixLength) - 16; a > network + 4; a -= 1) {
    if (ownerOf(topology, intToIpv4(a)) === undefined) return intToIpv4(a);
  }
  throw new Error(`no unassigned address left in ${SUBNET}`);
}

/** An address inside `prefix` that none of `taken` is. */
function freeAddressIn(prefix: string, taken: readonly string[]): string {
  const { network, prefixLength } = parseCidr(prefix);
  for (let a = network + 2 ** (32 - prefixLength) - 1; a >= network; a -= 1) {
    if (!taken.includes(intToIpv4(a))) return intToIpv4(a);
  }
  throw new Error(`every address of ${prefix} is taken`);
}

/**
 * Sends one ping from the node's namespace with `source` (on its loopback for the occasion) as
 * its source: it leaves through eth0, the device-0 ENI. Sent by the node itself because the node
 * would not forward it from a pod: its host veths have no address, so even loose reverse-path
 * filtering drops a source not routed to that veth.
 */
async function pingFromNode(node: ClusterNode, source: string, to: string): Promise<boolean> {
  await execInNetns(node.netnsPath, ['ip', 'addr', 'add', `${source}/32`, 'dev', 'lo']);
  try {
    return (await ping(node.netnsPath, to, { count: 1, timeoutSec: 1, sourceIp: source })).ok;
  } finally {
    await execInNetns(node.netnsPath, ['ip', 'addr', 'del', `${source}/32`, 'dev', 'lo']);
  }
}

class PodDriver {
  readonly pods: Pod[] = [];
  readonly #cni = new Map<ClusterNode, CniTool>();
  readonly #netnsPrefix: string;

  constructor(netnsPrefix: string) {
    this.#netnsPrefix = netnsPrefix;
  }

  async attach(cluster: AwsCluster, workDir: string): Promise<void> {
    for (const node of cluster.nodes) {
      const tool = await CniTool.withConflist(join(workDir, `netconf-${node.name}`), {
        cniVersion: '1.0.0',
        name: 'nativeip',
        plugins: [{ type: 'nativeip-cni', socketPath: node.socketPath }],
      });
      this.#cni.set(node, tool);
    }
  }

  async add(node: ClusterNode, name: string): Promise<Pod> {
    const netns = `${this.#netnsPrefix}${name}`;
    const netnsPath = await createPodNetns(netns);
    const pod: Pod = { name, netns, netnsPath, node, address: '' };
    this.pods.push(pod);
    const outcome = await this.#cni.get(node)!.run('add', 'nativeip', netnsPath, { CNI_ARGS: `K8S_POD_NAMESPACE=e2e;K8S_POD_NAME=${name}` });
    expect(outcome.code, `ADD ${name}: ${outcome.stdout}${outcome.stderr}`).toBe(0);
    pod.address = podAddress(outcome);
    return pod;
  }

  async del(pod: Pod): Promise<void> {
    const outcome = await this.#cni.get(pod.node)!.run('del', 'nativeip', pod.netnsPath, { CNI_ARGS: `K8S_POD_NAMESPACE=e2e;K8S_POD_NAME=${pod.name}` });
    expect(outcome.code, `DEL ${pod.name}: ${outcome.stdout}${outcome.stderr}`).toBe(0);
  }
}

/** DELs every pod, then checks that no veth, route or rule names it and the daemon freed it. */
async function deleteAllAndCheck(cluster: AwsCluster, driver: PodDriver): Promise<void> {
  for (const pod of driver.pods) {
    await driver.del(pod);
    expect(await podLeftovers(pod.node, 'e2e', pod), `leftovers of ${pod.name}`).toEqual([]);
  }
  for (const node of cluster.nodes) {
    const status = await cluster.status(node);
    expect(status.pods.map((p) => p.address)).toEqual([]);
  }
}

describe.skipIf(skip !== undefined)('prefix delegation end to end (real packets from /28 prefix addresses)', () => {
  let workDir: string | undefined;
  let cluster: AwsCluster | undefined;
  const driver = new PodDriver(PREFIX);

  const c = (): AwsCluster => {
    if (cluster === undefined) throw new Error('cluster did not start');
    return cluster;
  };
  const podsOn = (index: number): Pod[] => driver.pods.filter((p) => p.node === c().nodes[index]);

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'nativeip-e2e-prefix-'));
    cluster = await startAwsCluster({
      prefix: PREFIX,
      nodes: 2,
      instanceType: INSTANCE_TYPE,
      binDir: DIST_BIN,
      workDir,
      daemonEnv: PREFIX_ENV,
      emulator: { subnets: [{ cidr: SUBNET }] },
    });
    await driver.attach(cluster, workDir);
  }, 180_000);

  afterAll(() => tearDownCluster(cluster, driver.pods.map((p) => p.netns), workDir), 120_000);

  it(`gives ${PODS_ON_NODE1} pods addresses from two /28 prefixes on two ENIs of their node`, async () => {
    const [node1, node2] = c().nodes as [ClusterNode, ClusterNode];
    for (let i = 1; i <= PODS_ON_NODE1; i += 1) await driver.add(node1, `a${i}`);
    await driver.add(node2, 'b1');
    await c().fabric.whenSynced();

    const addresses = driver.pods.map((p) => p.address);
    expect(new Set(addresses).size).toBe(addresses.length);
    const topology = c().emulator.topology();
    for (const pod of driver.pods) {
      const owner = ownerOf(topology, pod.address);
      expect(owner?.instanceId, `${pod.address} is delegated to ${pod.node.name}`).toBe(pod.node.instanceId);
      expect(owner?.prefix, `${pod.address} comes from a prefix`).toBeDefined();
    }
    const owners = podsOn(0).map((p) => ownerOf(topology, p.address)!);
    expect(new Set(owners.map((o) => o.prefix)).size).toBeGreaterThanOrEqual(2);
    expect(new Set(owners.map((o) => o.eni.deviceIndex))).toEqual(new Set([0, 1]));
  }, 180_000);

  it('routes each prefix as a whole /28 to its ENI link, with no per-address routes', async () => {
    const topology = c().emulator.topology();
    const onSecondary = podsOn(0).find((p) => ownerOf(topology, p.address)?.eni.deviceIndex === 1)!;
    const prefix = ownerOf(topology, onSecondary.address)!.prefix!;
    const vpc = c().fabric.vpcNetns;
    const routes = (await execInNetns(vpc, ['ip', '-4', 'route', 'show', 'match', onSecondary.address])).stdout;
    expect(routes).toContain(`${prefix} via`);
    expect(routes).toMatch(/dev n\de1 /);
    expect(routes).not.toContain(`${onSecondary.address} dev`);
  });

  it('carries ping and TCP across nodes and to the vpc-host from prefix addresses on both ENIs, with no source-check drops', async () => {
    const topology = c().emulator.topology();
    const onPrimary = podsOn(0).find((p) => ownerOf(topology, p.address)?.eni.deviceIndex === 0)!;
    const onSecondary = podsOn(0).find((p) => ownerOf(topology, p.address)?.eni.deviceIndex === 1)!;
    const remote = podsOn(1)[0]!;
    const host = c().fabric.vpcHost;
    const echoHost = await tcpEcho(host.netnsPath, host.ip, 7101);
    const echoRemote = await tcpEcho(remote.netnsPath, remote.address, 7102);
    const echoSecondary = await tcpEcho(onSecondary.netnsPath, onSecondary.address, 7103);
    try {
      for (const pod of [onPrimary, onSecondary]) {
        expect((await ping(pod.netnsPath, remote.address, { count: 2, timeoutSec: 5 })).ok, `${pod.address} → ${remote.address}`).toBe(true);
        expect((await ping(pod.netnsPath, host.ip, { count: 2, timeoutSec: 5 })).ok, `${pod.address} → vpc-host`).toBe(true);
        expect((await ping(host.netnsPath, pod.address, { count: 1, timeoutSec: 5 })).ok, `vpc-host → ${pod.address}`).toBe(true);
        expect((await tcpConnect(pod.netnsPath, host.ip, 7101)).output, `TCP ${pod.address} → vpc-host`).toContain(`from ${pod.address}`);
        expect((await tcpConnect(pod.netnsPath, remote.address, 7102)).ok, `TCP ${pod.address} → ${remote.address}`).toBe(true);
      }
      expect((await tcpConnect(remote.netnsPath, onSecondary.address, 7103)).ok, `TCP ${remote.address} → ${onSecondary.address}`).toBe(true);
    } finally {
      await Promise.all([echoHost.close(), echoRemote.close(), echoSecondary.close()]);
    }
    expect(await c().fabric.droppedPackets()).toBe(0);
  }, 120_000);

  it('still drops and counts a source that is unassigned, or inside a prefix of another ENI', async () => {
    const topology = c().emulator.topology();
    const [node1, node2] = c().nodes as [ClusterNode, ClusterNode];
    const taken = driver.pods.map((p) => p.address);
    const prefixOf = (pod: Pod): string => ownerOf(topology, pod.address)!.prefix!;
    const ownPrefixOnEth1 = prefixOf(podsOn(0).find((p) => ownerOf(topology, p.address)?.eni.deviceIndex === 1)!);
    const node2Prefix = prefixOf(podsOn(1)[0]!);
    const sources = {
      'an unassigned address of the subnet': unassignedAddress(topology),
      [`a free address of ${ownPrefixOnEth1}, delegated to the node's own eth1`]: freeAddressIn(ownPrefixOnEth1, taken),
      [`a free address of ${node2Prefix}, delegated to ${node2.name}`]: freeAddressIn(node2Prefix, taken),
    };
    const host = c().fabric.vpcHost;
    for (const [what, source] of Object.entries(sources)) {
      const before = await c().fabric.droppedPackets();
      expect(await pingFromNode(node1, source, host.ip), `${node1.name} eth0 → vpc-host from ${what} (${source})`).toBe(false);
      expect(await c().fabric.droppedPackets(), `drops after a ping from ${what} (${source})`).toBeGreaterThan(before);
    }
    const before = await c().fabric.droppedPackets();
    expect((await ping(podsOn(0)[0]!.netnsPath, host.ip)).ok, 'a pod with its own address still passes').toBe(true);
    expect(await c().fabric.droppedPackets()).toBe(before);
  }, 60_000);

  it('DEL leaves no veth, route or rule behind and frees every address', async () => {
    await deleteAllAndCheck(c(), driver);
  }, 120_000);
});

describe.skipIf(skip !== undefined)('prefix delegation fallback on a subnet with no free /28', () => {
  let workDir: string | undefined;
  let cluster: AwsCluster | undefined;
  const driver = new PodDriver(FALLBACK_PREFIX);

  const c = (): AwsCluster => {
    if (cluster === undefined) throw new Error('cluster did not start');
    return cluster;
  };

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'nativeip-e2e-prefix-fallback-'));
    cluster = await startAwsCluster({
      prefix: FALLBACK_PREFIX,
      nodes: 1,
      instanceType: INSTANCE_TYPE,
      binDir: DIST_BIN,
      workDir,
      daemonEnv: PREFIX_ENV,
      emulator: { subnets: [{ cidr: SUBNET, fragmented: true }] },
    });
    await driver.attach(cluster, workDir);
  }, 180_000);

  afterAll(() => tearDownCluster(cluster, driver.pods.map((p) => p.netns), workDir), 120_000);

  it('gives a pod a single secondary address that reaches the vpc-host, with no source-check drops', async () => {
    const node = c().nodes[0]!;
    const pod = await driver.add(node, 'f1');
    await c().fabric.whenSynced();
    const topology = c().emulator.topology();
    const owner = ownerOf(topology, pod.address);
    expect(owner?.instanceId).toBe(node.instanceId);
    expect(owner?.prefix, `${pod.address} is a single address, not from a prefix`).toBeUndefined();
    expect(owner?.eni.secondaryIps).toContain(pod.address);
    expect(topology.instances.flatMap((i) => i.interfaces.flatMap((e) => e.prefixes))).toEqual([]);

    const host = c().fabric.vpcHost;
    const echo = await tcpEcho(host.netnsPath, host.ip, 7104);
    try {
      expect((await ping(pod.netnsPath, host.ip, { count: 2, timeoutSec: 5 })).ok, `${pod.address} → vpc-host`).toBe(true);
      expect((await ping(host.netnsPath, pod.address, { count: 1, timeoutSec: 5 })).ok, `vpc-host → ${pod.address}`).toBe(true);
      expect((await tcpConnect(pod.netnsPath, host.ip, 7104)).output).toContain(`from ${pod.address}`);
    } finally {
      await echo.close();
    }
    expect(await c().fabric.droppedPackets()).toBe(0);
  }, 120_000);

  it('DEL leaves no veth, route or rule behind and frees the address', async () => {
    await deleteAllAndCheck(c(), driver);
  }, 60_000);
});
