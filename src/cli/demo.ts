/**
 * `nativeip demo [--cloud aws|azure]`: the whole AWS path on one machine (Azure: azure-demo.ts). Starts the EC2 emulator, two emulated
 * nodes (network namespaces) each with a real nativeip-ipamd, adds enough pods through the real
 * CNI plugin binary to need a second ENI, proves connectivity with real packets, deletes the pods
 * and checks nothing is left behind. Prints pod → address → ENI → node and the EC2 calls made.
 * Exit status 0 only if every check passed. Needs root.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { EmulatedCluster, type ClusterNode } from '../demo/emulated-cluster.js';
import { createPodNetns, deletePodNetns, runPlugin } from '../demo/pods.js';
import { ping, tcpConnect, tcpEcho } from '../emulator/fabric/index.js';
import { formatTable } from './table.js';

const execFileAsync = promisify(execFile);
const PREFIX = 'nipd-';
const INSTANCE_TYPE = 't3.medium'; // 3 ENIs × 6 IPv4: 5 pod addresses per ENI
const PODS_PER_NODE = [7, 2];

interface DemoPod {
  readonly name: string;
  readonly containerId: string;
  readonly node: ClusterNode;
  readonly netns: string;
  readonly netnsPath: string;
  address: string;
  interfaceId: string;
}

export class Checks {
  readonly results: Array<{ name: string; ok: boolean; detail: string }> = [];
  record(name: string, ok: boolean, detail = ''): void {
    this.results.push({ name, ok, detail });
    process.stdout.write(`${ok ? 'PASS' : 'FAIL'}  ${name}${detail === '' || ok ? '' : `: ${detail}`}\n`);
  }
  get allPassed(): boolean {
    return this.results.every((r) => r.ok);
  }
}

export async function runDemo(argv: readonly string[]): Promise<number> {
  let cloud = 'aws';
  const args: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    if (arg === '--cloud') cloud = argv[++i] ?? '';
    else if (arg.startsWith('--cloud=')) cloud = arg.slice('--cloud='.length);
    else args.push(arg);
  }
  if (cloud !== 'aws' && cloud !== 'azure') throw new Error(`demo: --cloud must be aws or azure, got ${JSON.stringify(cloud)}`);
  if (cloud === 'azure') {
    const { runAzureDemo } = await import('./azure-demo.js');
    return runAzureDemo(args);
  }
  const keep = args.includes('--keep');
  const unknown = args.filter((a) => a !== '--keep');
  if (unknown.length > 0) throw new Error(`demo: unknown argument ${unknown[0]}`);
  if (process.getuid?.() !== 0) throw new Error('demo: needs root (it creates network namespaces); run it with sudo');
  const binDir = dirname(fileURLToPath(import.meta.url)).replace(/\/js(\/chunks)?$/, '/bin');
  const plugin = join(binDir, 'nativeip-cni');
  if (!existsSync(plugin) || !existsSync(join(binDir, 'nativeip-ipamd'))) {
    throw new Error(`demo: built binaries not found in ${binDir}; run 'npm run build' first`);
  }

  const workDir = await mkdtemp(join(tmpdir(), 'nativeip-demo-'));
  const checks = new Checks();
  const pods: DemoPod[] = [];
  process.stdout.write(`starting the EC2 emulator, 2 × ${INSTANCE_TYPE} nodes and their daemons…\n`);
  const cluster = await EmulatedCluster.start({ prefix: PREFIX, nodes: 2, instanceType: INSTANCE_TYPE, binDir, workDir });
  try {
    const config = (node: ClusterNode) => ({ cniVersion: '1.0.0', name: 'nativeip', type: 'nativeip-cni', socketPath: node.socketPath });

    for (const [index, node] of cluster.nodes.entries()) {
      for (let i = 1; i <= (PODS_PER_NODE[index] ?? 0); i += 1) {
        const name = `web-${index + 1}-${i}`;
        const netns = `${PREFIX}${name}`;
        const netnsPath = await createPodNetns(netns);
        const containerId = `demo${index + 1}x${i}`;
        const outcome = await runPlugin(plugin, {
          command: 'ADD',
          containerId,
          netns: netnsPath,
          ifName: 'eth0',
          args: `K8S_POD_NAMESPACE=default;K8S_POD_NAME=${name}`,
          config: config(node),
        });
        const pod: DemoPod = { name, containerId, node, netns, netnsPath, address: '', interfaceId: '' };
        pods.push(pod);
        if (outcome.exitCode !== 0) {
          checks.record(`ADD ${name} on ${node.name}`, false, outcome.stdout.trim() || outcome.stderr.trim());
          continue;
        }
        const result = JSON.parse(outcome.stdout) as { ips: Array<{ address: string }> };
        pod.address = result.ips[0]?.address.replace(/\/32$/, '') ?? '';
        checks.record(`ADD ${name} on ${node.name} → ${pod.address}`, pod.address !== '');
      }
    }

    const status = await Promise.all(cluster.nodes.map((n) => cluster.status(n)));
    for (const pod of pods) {
      const nodeStatus = status[cluster.nodes.indexOf(pod.node)];
      pod.interfaceId = nodeStatus?.pods.find((p) => p.address === pod.address)?.interfaceId ?? '?';
    }
    const addresses = pods.map((p) => p.address).filter((a) => a !== '');
    checks.record('every pod has a distinct address', new Set(addresses).size === pods.length);
    const topology = cluster.emulator.topology();
    const eniOf = new Map(topology.instances.flatMap((i) => i.interfaces.flatMap((e) => e.secondaryIps.map((ip) => [ip, e] as const))));
    checks.record(
      'each pod address is assigned in EC2 to the ENI the daemon says',
      pods.every((p) => eniOf.get(p.address)?.eniId === p.interfaceId),
    );
    const deviceOf = (pod: DemoPod) => eniOf.get(pod.address)?.deviceIndex ?? -1;
    const onPrimary = pods.find((p) => p.node === cluster.nodes[0] && deviceOf(p) === 0);
    const onSecondary = pods.find((p) => p.node === cluster.nodes[0] && deviceOf(p) > 0);
    const remote = pods.find((p) => p.node === cluster.nodes[1]);
    checks.record('node1 needed a second ENI', onSecondary !== undefined);

    const vpcHost = cluster.fabric.vpcHost;
    const echo = await tcpEcho(vpcHost.netnsPath, vpcHost.ip, 8080);
    try {
      for (const [label, pod] of [['primary-ENI pod', onPrimary], ['secondary-ENI pod', onSecondary]] as const) {
        if (pod === undefined || remote === undefined) continue;
        const toRemote = await ping(pod.netnsPath, remote.address, { count: 2, timeoutSec: 5 });
        checks.record(`${label} ${pod.address} (node1) → pod ${remote.address} (node2): ping`, toRemote.ok, toRemote.output);
        const toHost = await ping(pod.netnsPath, vpcHost.ip, { count: 2, timeoutSec: 5 });
        checks.record(`${label} ${pod.address} → vpc-host ${vpcHost.ip}: ping`, toHost.ok, toHost.output);
        const tcp = await tcpConnect(pod.netnsPath, vpcHost.ip, 8080);
        checks.record(`${label} ${pod.address} → vpc-host ${vpcHost.ip}:8080: TCP`, tcp.ok, tcp.output);
        const internet = cluster.fabric.internetHost;
        const toInternet = await ping(pod.netnsPath, internet.ip, { count: 2, timeoutSec: 5 });
        checks.record(`${label} ${pod.address} → internet ${internet.ip} (SNAT to the node address): ping`, toInternet.ok, toInternet.output);
      }
    } finally {
      await echo.close();
    }
    const node1Ip = topology.instances.find((i) => i.instanceId === cluster.nodes[0]?.instanceId)?.interfaces.find((e) => e.deviceIndex === 0)?.primaryIp;
    const heard = await cluster.fabric.internetSources();
    checks.record(`the internet saw only node1's address ${node1Ip ?? '?'}, never a pod's`, heard.length === 1 && heard[0] === node1Ip, heard.join(', '));
    checks.record('the VPC dropped no packet for a wrong source', (await cluster.fabric.droppedPackets()) === 0);

    process.stdout.write(`\n${formatTable(
      ['POD', 'ADDRESS', 'ENI', 'DEVICE', 'NODE'],
      pods.map((p) => [`default/${p.name}`, p.address, p.interfaceId, String(deviceOf(p)), `${p.node.name} (${p.node.instanceId})`]),
    )}\n\n`);

    for (const pod of pods) {
      const outcome = await runPlugin(plugin, {
        command: 'DEL',
        containerId: pod.containerId,
        netns: pod.netnsPath,
        ifName: 'eth0',
        args: `K8S_POD_NAMESPACE=default;K8S_POD_NAME=${pod.name}`,
        config: config(pod.node),
      });
      if (outcome.exitCode !== 0) checks.record(`DEL ${pod.name}`, false, outcome.stdout.trim());
      await deletePodNetns(pod.netns);
    }
    for (const node of cluster.nodes) {
      const left = await leftovers(node, addresses);
      checks.record(`DEL left no veth, route or rule on ${node.name}`, left.length === 0, left.join('; '));
      const after = await cluster.status(node);
      checks.record(`${node.name} holds no allocation after DEL`, after.pods.length === 0);
    }

    const calls = Object.entries(cluster.emulator.callCounts()).sort(([a], [b]) => a.localeCompare(b));
    process.stdout.write(`\nEC2 calls made by the two daemons:\n${formatTable(['ACTION', 'CALLS'], calls.map(([a, n]) => [a, String(n)]))}\n\n`);
  } catch (error) {
    checks.record('demo ran to the end', false, error instanceof Error ? error.message : String(error));
  } finally {
    if (!keep) {
      for (const pod of pods) await deletePodNetns(pod.netns);
      await cluster.close();
      await rm(workDir, { recursive: true, force: true });
    } else {
      process.stdout.write(`kept: namespaces ${PREFIX}*, daemon logs in ${workDir}\n`);
    }
  }
  const failed = checks.results.filter((r) => !r.ok).length;
  process.stdout.write(`${checks.results.length - failed} passed, ${failed} failed\n`);
  return checks.allPassed ? 0 : 1;
}

/** Veths, host routes and rules for pod addresses still present in a node's namespace. */
export async function leftovers(node: ClusterNode, addresses: readonly string[]): Promise<string[]> {
  const ns = ['-n', node.netnsPath.replace('/run/netns/', '')];
  const [links, routes, rules] = await Promise.all([
    execFileAsync('ip', [...ns, '-o', 'link', 'show', 'type', 'veth']),
    execFileAsync('ip', [...ns, '-4', 'route', 'show', 'table', 'all']),
    execFileAsync('ip', [...ns, '-4', 'rule', 'show']),
  ]);
  const found: string[] = [];
  const veths = links.stdout.split('\n').filter((l) => /^\d+: eni/.test(l));
  if (veths.length > 0) found.push(`veths: ${veths.map((l) => l.split(':')[1]?.trim()).join(', ')}`);
  for (const address of addresses) {
    const pattern = new RegExp(`(^|\\s)${address.replace(/\./g, '\\.')}(/32)?(\\s|$)`);
    if (routes.stdout.split('\n').some((l) => pattern.test(l))) found.push(`route to ${address}`);
    if (rules.stdout.split('\n').some((l) => pattern.test(l))) found.push(`rule for ${address}`);
  }
  return found;
}
