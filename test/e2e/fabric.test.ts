/**
 * The e2e fabric against the emulated EC2: real namespaces, real veths, the VPC source check.
 * Needs root (network namespaces, nftables).
 */
import { readdir } from 'node:fs/promises';
import {
  AssignPrivateIpAddressesCommand,
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  DescribeNetworkInterfacesCommand,
  DetachNetworkInterfaceCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAwsEmulator, type AwsEmulator } from '../../src/emulator/aws/index.js';
import { NetworkFabric, execInNetns, ping, tcpConnect, tcpEcho } from '../../src/emulator/fabric/index.js';
import { startEc2Fabric } from '../../src/emulator/aws/fabric.js';

const PREFIX = 'fab-';
const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('test/e2e/fabric.test.ts skipped: creating network namespaces needs root');

interface Launched {
  readonly instanceId: string;
  readonly primaryEni: string;
  readonly primaryIp: string;
  readonly mac: string;
}

async function ipIn(netns: string, lines: readonly string[]): Promise<void> {
  await execInNetns(netns, ['ip', '-batch', '-'], { input: `${lines.join('\n')}\n` });
}

async function linkInfo(netns: string, link: string): Promise<{ mac: string; up: boolean } | undefined> {
  const out = await execInNetns(netns, ['ip', '-j', 'link', 'show']);
  const links: unknown = JSON.parse(out.stdout);
  if (!Array.isArray(links)) throw new Error(`ip -j link printed ${out.stdout}`);
  for (const entry of links as unknown[]) {
    const l = entry as { ifname?: unknown; address?: unknown; flags?: unknown };
    if (l.ifname !== link) continue;
    return { mac: String(l.address), up: Array.isArray(l.flags) && l.flags.includes('UP') };
  }
  return undefined;
}

/**
 * A hand-made pod as the daemon will make it (DESIGN.md "Datapath"): veth, the address as /32,
 * 169.254.1.1 as the next hop with a permanent neighbour entry, a /32 route on the node.
 */
async function makePod(nodeNs: string, pod: { netns: string; hostVeth: string; hostMac: string; ip: string }): Promise<void> {
  await execInNetns('/proc/self/ns/net', ['ip', 'netns', 'add', pod.netns]);
  await ipIn(nodeNs, [
    `link add ${pod.hostVeth} address ${pod.hostMac} type veth peer name eth0 netns ${pod.netns}`,
    `link set ${pod.hostVeth} up`,
    `route add ${pod.ip}/32 dev ${pod.hostVeth}`,
  ]);
  await ipIn(pod.netns, [
    'link set lo up',
    `addr add ${pod.ip}/32 dev eth0`,
    'link set eth0 up',
    'route add 169.254.1.1 dev eth0 scope link',
    'route add default via 169.254.1.1 dev eth0',
    `neigh add 169.254.1.1 lladdr ${pod.hostMac} dev eth0 nud permanent`,
  ]);
}

async function eventually(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting until ${what}`);
}

async function fabricNamespaces(): Promise<string[]> {
  return (await readdir('/run/netns').catch(() => [] as string[])).filter((n) => n.startsWith(PREFIX));
}

describe.skipIf(!isRoot)('AWS e2e fabric (root: real network namespaces)', () => {
  let emulator: AwsEmulator | undefined;
  let fabric: NetworkFabric | undefined;
  let ec2: EC2Client;
  let node1: Launched;
  let node2: Launched;
  let node1Ns: string;
  const pods: string[] = [];

  const fab = (): NetworkFabric => {
    if (fabric === undefined) throw new Error('fabric did not start');
    return fabric;
  };

  async function assignOne(eniId: string): Promise<string> {
    const out = await ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: eniId, SecondaryPrivateIpAddressCount: 1 }));
    const ip = out.AssignedPrivateIpAddresses?.[0]?.PrivateIpAddress;
    if (ip === undefined) throw new Error(`AssignPrivateIpAddresses on ${eniId} returned no address`);
    await fab().whenSynced();
    return ip;
  }

  beforeAll(async () => {
    await NetworkFabric.cleanupStale(PREFIX);
    emulator = await startAwsEmulator();
    node1 = await emulator.launchInstance({ instanceType: 'm5.large' });
    node2 = await emulator.launchInstance({ instanceType: 'm5.large' });
    ec2 = new EC2Client({
      endpoint: emulator.ec2Url,
      region: emulator.region,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    fabric = await startEc2Fabric(emulator, { prefix: PREFIX });
    node1Ns = fabric.nodeNetnsPath(node1.instanceId);
  });

  afterAll(async () => {
    await fabric?.close();
    for (const pod of pods) await execInNetns('/proc/self/ns/net', ['ip', 'netns', 'del', pod]).catch(() => undefined);
    ec2?.destroy();
    await emulator?.close();
  });

  it('wires each instance as a node whose eth0 reaches the vpc-host and back', async () => {
    const f = fab();
    expect(f.nodes().map((n) => n.instanceId)).toEqual([node1.instanceId, node2.instanceId]);
    expect(await linkInfo(node1Ns, 'eth0')).toEqual({ mac: node1.mac, up: true });
    for (const node of [node1, node2]) {
      const ns = f.nodeNetnsPath(node.instanceId);
      expect((await ping(ns, f.vpcHost.ip)).output).toContain('1 received');
      expect((await ping(f.vpcHost.netnsPath, node.primaryIp)).output).toContain('1 received');
    }
    expect((await ping(node1Ns, node2.primaryIp)).ok).toBe(true);
  });

  it('refuses a second fabric with the same prefix', async () => {
    if (emulator === undefined) throw new Error('emulator did not start');
    await expect(startEc2Fabric(emulator, { prefix: PREFIX })).rejects.toThrow(/fab-vpc.*already exist/);
  });

  it('routes a secondary address of the primary ENI to a pod (ping and TCP both ways)', async () => {
    const f = fab();
    const podIp = await assignOne(node1.primaryEni);
    pods.push(`${PREFIX}p1`);
    await makePod(node1Ns, { netns: `${PREFIX}p1`, hostVeth: 'vp1', hostMac: '02:fe:00:00:00:01', ip: podIp });

    expect((await ping(f.vpcHost.netnsPath, podIp)).ok).toBe(true);
    expect((await ping(`${PREFIX}p1`, f.vpcHost.ip)).ok).toBe(true);
    const inPod = await tcpEcho(`${PREFIX}p1`, podIp, 8080);
    const onHost = await tcpEcho(f.vpcHost.netnsPath, f.vpcHost.ip, 8081);
    try {
      expect((await tcpConnect(f.vpcHost.netnsPath, podIp, 8080)).ok).toBe(true);
      expect((await tcpConnect(`${PREFIX}p1`, f.vpcHost.ip, 8081)).output).toContain(`from ${podIp}`);
    } finally {
      await inPod.close();
      await onHost.close();
    }
  });

  let secondEni = '';
  let secondAttachment = '';

  it('shows an attached secondary ENI as eth<N> with its MAC, left down for the daemon', async () => {
    const primary = await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [node1.primaryEni] }));
    const subnetId = primary.NetworkInterfaces?.[0]?.SubnetId;
    const created = await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetId }));
    secondEni = created.NetworkInterface?.NetworkInterfaceId ?? '';
    const mac = created.NetworkInterface?.MacAddress ?? '';
    expect(secondEni).toMatch(/^eni-/);
    expect(await linkInfo(node1Ns, 'eth1')).toBeUndefined();

    const attached = await ec2.send(
      new AttachNetworkInterfaceCommand({ NetworkInterfaceId: secondEni, InstanceId: node1.instanceId, DeviceIndex: 1 }),
    );
    secondAttachment = attached.AttachmentId ?? '';
    await fab().whenSynced();
    expect(await linkInfo(node1Ns, 'eth1')).toEqual({ mac, up: false });
  });

  it('drops a secondary-ENI pod that leaves via eth0, and delivers it with a policy rule', async () => {
    const f = fab();
    const gateway = emulator?.topology().instances.flatMap((i) => i.interfaces).find((e) => e.eniId === secondEni)?.gateway;
    expect(gateway).toBeDefined();
    const podIp = await assignOne(secondEni);
    pods.push(`${PREFIX}p2`);
    await makePod(node1Ns, { netns: `${PREFIX}p2`, hostVeth: 'vp2', hostMac: '02:fe:00:00:00:02', ip: podIp });
    await ipIn(node1Ns, [
      'link set eth1 up',
      `route add ${gateway} dev eth1 scope link table 101`,
      `route add default via ${gateway} dev eth1 table 101`,
    ]);

    await execInNetns(f.vpcHost.netnsPath, ['nft', '-f', '-'], {
      input: `table ip seen {\n chain input {\n  type filter hook input priority 0;\n  ip saddr ${podIp} counter\n }\n}\n`,
    });
    const seenByHost = async (): Promise<string> => (await execInNetns(f.vpcHost.netnsPath, ['nft', 'list', 'chain', 'ip', 'seen', 'input'])).stdout;

    const droppedBefore = await f.droppedPackets();
    const withoutRule = await ping(`${PREFIX}p2`, f.vpcHost.ip, { count: 1, timeoutSec: 1 });
    expect(withoutRule.ok).toBe(false);
    expect(await f.droppedPackets()).toBeGreaterThan(droppedBefore);
    expect(await seenByHost()).toContain('counter packets 0 ');

    await ipIn(node1Ns, [`rule add from ${podIp} lookup 101 priority 1000`]);
    const droppedWithRule = await f.droppedPackets();
    expect((await ping(`${PREFIX}p2`, f.vpcHost.ip)).ok).toBe(true);
    expect(await seenByHost()).not.toContain('counter packets 0 ');
    expect((await ping(f.vpcHost.netnsPath, podIp)).ok).toBe(true);
    const server = await tcpEcho(f.vpcHost.netnsPath, f.vpcHost.ip, 8082);
    try {
      expect((await tcpConnect(`${PREFIX}p2`, f.vpcHost.ip, 8082)).output).toContain(`from ${podIp}`);
    } finally {
      await server.close();
    }
    expect(await f.droppedPackets()).toBe(droppedWithRule);
  });

  it('removes eth1 from the node when the ENI is detached', async () => {
    await ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: secondAttachment }));
    await eventually(`${secondEni} is available`, async () => {
      const out = await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [secondEni] }));
      return out.NetworkInterfaces?.[0]?.Status === 'available';
    });
    await fab().sync();
    expect(await linkInfo(node1Ns, 'eth1')).toBeUndefined();
    expect(await linkInfo(node1Ns, 'eth0')).toEqual({ mac: node1.mac, up: true });
  });

  it('removes the node namespace of a terminated instance', async () => {
    const node2Ns = fab().nodeNetnsPath(node2.instanceId).slice('/run/netns/'.length);
    await emulator?.terminateInstance(node2.instanceId);
    await fab().whenSynced();
    expect(fab().nodes().map((n) => n.instanceId)).toEqual([node1.instanceId]);
    expect(() => fab().nodeNetnsPath(node2.instanceId)).toThrow(/has no node namespace/);
    expect(await fabricNamespaces()).not.toContain(node2Ns);
    expect((await ping(node1Ns, fab().vpcHost.ip)).ok).toBe(true);
  });

  it('leaves no namespace behind after close', async () => {
    for (const pod of pods.splice(0)) await execInNetns('/proc/self/ns/net', ['ip', 'netns', 'del', pod]);
    expect((await fabricNamespaces()).length).toBeGreaterThan(0);
    await fab().close();
    await fab().close();
    expect(await fabricNamespaces()).toEqual([]);
    await expect(fab().sync()).rejects.toThrow(/closed/);
  });

  it('cleans up namespaces a crashed run left behind', async () => {
    for (const name of [`${PREFIX}vpc`, `${PREFIX}n7`]) await execInNetns('/proc/self/ns/net', ['ip', 'netns', 'add', name]);
    expect((await NetworkFabric.cleanupStale(PREFIX)).sort()).toEqual([`${PREFIX}n7`, `${PREFIX}vpc`]);
    expect(await fabricNamespaces()).toEqual([]);
  });
});

