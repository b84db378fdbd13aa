/**
 * Chaining: nativeip-cni → portmap → bandwidth (reference plugins v1.9.1), with loopback for lo,
 * driven by cnitool inside the node namespace (portmap and bandwidth configure "the host" = the
 * namespace they run in). A hostPort on the node's primary address reaches the pod from the
 * vpc-host, the bandwidth limit is a tbf qdisc on the host veth, and DEL leaves nothing.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterNode } from '../../src/demo/emulated-cluster.js';
import { createPodNetns, deletePodNetns } from '../../src/demo/pods.js';
import { execInNetns, tcpConnect, tcpEcho } from '../../src/emulator/fabric/index.js';
import { CNI_TOOLS, DIST_BIN, e2eSkipReason, type CniOutcome } from './support/cnitool.js';
import { startAwsCluster, type AwsCluster } from '../../src/emulator/aws/cluster.js';

const PREFIX = 'c3c-';
const NETWORK = 'c3c-chain';
const LOOPBACK = 'c3c-lo';
const HOST_PORT = 18080;
const POD_PORT = 8080;
/** Bits per second and bits, as the bandwidth plugin takes them. */
const RATE = 8_000_000;
const BURST = 80_000;

function skipReason(): string | undefined {
  const base = e2eSkipReason();
  if (base !== undefined) return base;
  for (const plugin of ['portmap', 'bandwidth', 'loopback']) {
    if (!existsSync(join(CNI_TOOLS, plugin))) return `${plugin} missing in ${CNI_TOOLS}: run scripts/install-cni-tools.sh`;
  }
  return undefined;
}
const skip = skipReason();
if (skip !== undefined) console.warn(`skipping the CNI chain e2e: ${skip}`);

describe.skipIf(skip !== undefined)('chain: nativeip-cni → portmap → bandwidth, driven by cnitool', () => {
  let workDir: string;
  let netconf: string;
  let cluster: AwsCluster;
  let node: ClusterNode;
  let nodeNs: string;
  let podNetns: string;
  const podName = `${PREFIX}pod`;

  /** cnitool inside the node namespace, as a runtime on that node would run it. */
  function cnitool(verb: 'add' | 'del' | 'check', network: string, capArgs?: unknown): Promise<CniOutcome> {
    return new Promise((resolve) => {
      execFile(
        'ip',
        ['netns', 'exec', nodeNs, join(CNI_TOOLS, 'cnitool'), verb, network, podNetns],
        {
          env: {
            PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin',
            NETCONFPATH: netconf,
            CNI_PATH: `${DIST_BIN}:${CNI_TOOLS}`,
            ...(capArgs === undefined ? {} : { CAP_ARGS: JSON.stringify(capArgs) }),
          },
          timeout: 60_000,
        },
        (error, stdout, stderr) => resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr }),
      );
    });
  }

  const capArgs = {
    portMappings: [{ hostPort: HOST_PORT, containerPort: POD_PORT, protocol: 'tcp' }],
    bandwidth: { ingressRate: RATE, ingressBurst: BURST, egressRate: RATE, egressBurst: BURST },
  };

  let added: { interfaces: { name: string; sandbox?: string }[]; ips: { address: string }[] };
  let podIp: string;
  let hostVeth: string;

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'c3c-'));
    netconf = join(workDir, 'net.d');
    cluster = await startAwsCluster({ prefix: PREFIX, nodes: 1, instanceType: 't3.medium', binDir: DIST_BIN, workDir });
    node = cluster.nodes[0]!;
    nodeNs = node.netnsPath.replace('/run/netns/', '');
    await cluster.waitForPool(node, 1);
    await mkdir(netconf, { recursive: true });
    await writeFile(
      join(netconf, `10-${NETWORK}.conflist`),
      JSON.stringify({
        cniVersion: '1.1.0',
        name: NETWORK,
        plugins: [
          { type: 'nativeip-cni', socketPath: node.socketPath },
          { type: 'portmap', capabilities: { portMappings: true }, snat: true },
          { type: 'bandwidth', capabilities: { bandwidth: true } },
        ],
      }),
    );
    await writeFile(join(netconf, `20-${LOOPBACK}.conflist`), JSON.stringify({ cniVersion: '1.1.0', name: LOOPBACK, plugins: [{ type: 'loopback' }] }));
    await deletePodNetns(podName);
    podNetns = await createPodNetns(podName);
    await execInNetns(podName, ['ip', 'link', 'set', 'lo', 'down']);
  }, 180_000);

  afterAll(async () => {
    if (podNetns !== undefined) {
      await cnitool('del', NETWORK, capArgs).catch(() => undefined);
      await deletePodNetns(podName);
    }
    await cluster?.close();
    await rm(workDir, { recursive: true, force: true });
  }, 60_000);

  it('ADD runs the whole chain and loopback brings lo up', async () => {
    const lo = await cnitool('add', LOOPBACK);
    expect(lo.code, lo.stdout + lo.stderr).toBe(0);
    expect((await execInNetns(podName, ['ip', '-o', 'link', 'show', 'lo'])).stdout).toMatch(/state UNKNOWN|UP/);

    const outcome = await cnitool('add', NETWORK, capArgs);
    expect(outcome.code, outcome.stdout + outcome.stderr).toBe(0);
    added = JSON.parse(outcome.stdout) as typeof added;
    podIp = added.ips[0]!.address.replace(/\/32$/, '');
    hostVeth = added.interfaces.find((i) => i.sandbox === undefined || i.sandbox === '')!.name;
    expect(hostVeth).toMatch(/^eni[0-9a-f]{11}$/);
    const check = await cnitool('check', NETWORK, capArgs);
    expect(check.code, check.stdout + check.stderr).toBe(0);
  });

  it('a hostPort on the node’s primary address reaches the pod from the vpc-host', async () => {
    const primary = cluster.emulator.topology().instances.find((i) => i.instanceId === node.instanceId)!.interfaces.find((e) => e.deviceIndex === 0)!.primaryIp;
    const server = await tcpEcho(podName, podIp, POD_PORT);
    try {
      const probe = await tcpConnect(cluster.fabric.vpcHost.netns, primary, HOST_PORT);
      expect(probe.ok, probe.output).toBe(true);
      const rules = await execInNetns(nodeNs, ['iptables-save', '-t', 'nat']);
      expect(rules.stdout).toMatch(new RegExp(`--dport ${HOST_PORT} .*--to-destination ${podIp.replace(/\./g, '\\.')}:${POD_PORT}`));
    } finally {
      await server.close();
    }
  });

  it('the bandwidth limit shows as a tbf qdisc on the host veth', async () => {
    const { stdout } = await execInNetns(nodeNs, ['tc', 'qdisc', 'show', 'dev', hostVeth]);
    expect(stdout).toMatch(/qdisc tbf .* rate 8Mbit/);
    const links = await execInNetns(nodeNs, ['ip', '-o', 'link', 'show', 'type', 'ifb']);
    expect(links.stdout).toMatch(/bwp/);
  });

  it('DEL of the chain leaves no veth, route, rule, portmap entry or shaping device', async () => {
    // cnitool's container id: "cnitool-" and the first 10 bytes of sha512(netns path), in hex.
    const containerId = `cnitool-${createHash('sha512').update(podNetns).digest('hex').slice(0, 20)}`;
    expect((await execInNetns(nodeNs, ['iptables-save', '-t', 'nat'])).stdout).toContain(containerId);
    const outcome = await cnitool('del', NETWORK, capArgs);
    expect(outcome.code, outcome.stdout + outcome.stderr).toBe(0);
    const [links, routes, rules, nat, filter, qdiscs] = await Promise.all([
      execInNetns(nodeNs, ['ip', '-o', 'link', 'show']),
      execInNetns(nodeNs, ['ip', '-4', 'route', 'show', 'table', 'all']),
      execInNetns(nodeNs, ['ip', '-4', 'rule', 'show']),
      execInNetns(nodeNs, ['iptables-save', '-t', 'nat']),
      execInNetns(nodeNs, ['iptables-save', '-t', 'filter']),
      execInNetns(nodeNs, ['tc', 'qdisc', 'show']),
    ]);
    const ip = new RegExp(`(^|\\s)${podIp.replace(/\./g, '\\.')}(/32)?(\\s|:|$)`, 'm');
    expect(links.stdout).not.toContain(hostVeth);
    expect(links.stdout).not.toMatch(/bwp/);
    expect(routes.stdout).not.toMatch(ip);
    expect(rules.stdout).not.toMatch(ip);
    expect(nat.stdout).not.toContain(containerId);
    expect(nat.stdout).not.toMatch(/CNI-DN-/);
    expect(nat.stdout).not.toMatch(ip);
    expect(filter.stdout).not.toContain(containerId);
    expect(qdiscs.stdout).not.toContain(hostVeth);
    const status = await cluster.status(node);
    expect(status.pods).toEqual([]);
  });
});
