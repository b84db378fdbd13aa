/**
 * `nativeip demo --cloud azure`: the whole Azure path on one machine. Starts the Azure emulator
 * (ARM over https, IMDS per VM, NIC writes taking a few seconds like real ones), two VMs as
 * network namespaces behind a VNet that checks sources, a real nativeip-ipamd on each (which
 * finds Azure by itself), adds pods through the real CNI plugin, proves connectivity with real
 * packets, deletes the pods and checks nothing is left. Prints pod → address → IP configuration
 * → NIC → VM and the ARM calls made. Exit status 0 only if every check passed. Needs root.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EmulatedCluster, type ClusterNode } from '../demo/emulated-cluster.js';
import { createPodNetns, deletePodNetns, runPlugin } from '../demo/pods.js';
import { ping, tcpConnect, tcpEcho } from '../emulator/fabric/index.js';
import { Checks, leftovers } from './demo.js';
import { formatTable } from './table.js';

const PREFIX = 'nipz-';
const PODS_PER_NODE = [4, 2];
/** Real NIC PUTs take 10–60 s; a few seconds keeps the demo honest and watchable. */
const ARM_LATENCY_MS = 2000;

interface DemoPod {
  readonly name: string;
  readonly containerId: string;
  readonly node: ClusterNode;
  readonly netns: string;
  readonly netnsPath: string;
  address: string;
}

export async function runAzureDemo(args: readonly string[]): Promise<number> {
  const keep = args.includes('--keep');
  const unknown = args.filter((a) => a !== '--keep');
  if (unknown.length > 0) throw new Error(`demo: unknown argument ${unknown[0]}`);
  if (process.getuid?.() !== 0) throw new Error('demo: needs root (it creates network namespaces); run it with sudo');
  const binDir = dirname(fileURLToPath(import.meta.url)).replace(/\/js$/, '/bin');
  const plugin = join(binDir, 'nativeip-cni');
  if (!existsSync(plugin) || !existsSync(join(binDir, 'nativeip-ipamd'))) {
    throw new Error(`demo: built binaries not found in ${binDir}; run 'npm run build' first`);
  }

  const workDir = await mkdtemp(join(tmpdir(), 'nativeip-demo-azure-'));
  const checks = new Checks();
  const pods: DemoPod[] = [];
  process.stdout.write(`starting the Azure emulator (NIC writes take ${ARM_LATENCY_MS / 1000} s), 2 VMs (node1 with 2 NICs) and their daemons…\n`);
  const cluster = await EmulatedCluster.startAzure({
    prefix: PREFIX,
    nodes: 2,
    nicsPerVm: 2,
    binDir,
    workDir,
    daemonEnv: { WARM_IP_TARGET: '2' },
    emulator: { operationLatencyMs: ARM_LATENCY_MS },
  });
  try {
    const config = (node: ClusterNode) => ({ cniVersion: '1.0.0', name: 'nativeip', type: 'nativeip-cni', socketPath: node.socketPath });
    const statuses = await Promise.all(cluster.nodes.map((n) => cluster.status(n)));
    checks.record('each daemon found Azure by itself (NATIVEIP_CLOUD=auto)', statuses.every((s) => s.cloud === 'azure'));

    for (const [index, node] of cluster.nodes.entries()) {
      for (let i = 1; i <= (PODS_PER_NODE[index] ?? 0); i += 1) {
        const name = `web-${index + 1}-${i}`;
        const netns = `${PREFIX}${name}`;
        const pod: DemoPod = { name, containerId: `demoaz${index + 1}x${i}`, node, netns, netnsPath: await createPodNetns(netns), address: '' };
        pods.push(pod);
        const outcome = await runPlugin(plugin, {
          command: 'ADD',
          containerId: pod.containerId,
          netns: pod.netnsPath,
          ifName: 'eth0',
          args: `K8S_POD_NAMESPACE=default;K8S_POD_NAME=${name}`,
          config: config(node),
        });
        if (outcome.exitCode !== 0) {
          checks.record(`ADD ${name} on ${node.name}`, false, outcome.stdout.trim() || outcome.stderr.trim());
          continue;
        }
        const result = JSON.parse(outcome.stdout) as { ips: Array<{ address: string }> };
        pod.address = result.ips[0]?.address.replace(/\/32$/, '') ?? '';
        checks.record(`ADD ${name} on ${node.name} → ${pod.address}`, pod.address !== '');
      }
    }

    const addresses = pods.map((p) => p.address).filter((a) => a !== '');
    checks.record('every pod has a distinct address', new Set(addresses).size === pods.length);
    const holders = new Map<string, { vm: string; nic: string; config: string }>();
    for (const instance of cluster.emulator.topology().instances) {
      for (const nic of instance.interfaces) {
        for (const config of cluster.emulator.nic(nic.eniId)?.configs ?? []) {
          holders.set(config.address, { vm: instance.instanceId, nic: nic.eniId.split('/').pop() ?? nic.eniId, config: config.name });
        }
      }
    }
    checks.record(
      'each pod address is an IP configuration nativeip-<n> of its own VM in ARM',
      pods.every((p) => holders.get(p.address)?.vm === p.node.instanceId && /^nativeip-\d+$/.test(holders.get(p.address)?.config ?? '')),
    );
    const secondary = (await cluster.status(cluster.nodes[0]!)).interfaces.find((i) => i.deviceIndex === 1);
    checks.record('node1’s second NIC is in the pool, with its own route table', secondary !== undefined);

    const vnetHost = cluster.fabric.vpcHost;
    const local = pods.find((p) => p.node === cluster.nodes[0]);
    const remote = pods.find((p) => p.node === cluster.nodes[1]);
    const echo = await tcpEcho(vnetHost.netnsPath, vnetHost.ip, 8080);
    try {
      if (local !== undefined && remote !== undefined) {
        const toRemote = await ping(local.netnsPath, remote.address, { count: 2, timeoutSec: 5 });
        checks.record(`pod ${local.address} (node1) → pod ${remote.address} (node2): ping`, toRemote.ok, toRemote.output);
        const toHost = await ping(local.netnsPath, vnetHost.ip, { count: 2, timeoutSec: 5 });
        checks.record(`pod ${local.address} → VNet host ${vnetHost.ip}: ping`, toHost.ok, toHost.output);
        const tcp = await tcpConnect(remote.netnsPath, vnetHost.ip, 8080);
        checks.record(`pod ${remote.address} → VNet host ${vnetHost.ip}:8080: TCP`, tcp.ok, tcp.output);
      }
    } finally {
      await echo.close();
    }
    checks.record('the VNet dropped no packet for a wrong source', (await cluster.fabric.droppedPackets()) === 0);

    process.stdout.write(`\n${formatTable(
      ['POD', 'ADDRESS', 'IP CONFIGURATION', 'NIC', 'VM'],
      pods.map((p) => {
        const holder = holders.get(p.address);
        return [`default/${p.name}`, p.address, holder?.config ?? '?', holder?.nic ?? '?', p.node.instanceId.split('/').pop() ?? p.node.instanceId];
      }),
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
      checks.record(`${node.name} holds no allocation after DEL`, (await cluster.status(node)).pods.length === 0);
    }

    const calls = Object.entries(cluster.emulator.callCounts()).sort(([a], [b]) => a.localeCompare(b));
    process.stdout.write(`\nARM and IMDS calls made by the two daemons:\n${formatTable(['OPERATION', 'CALLS'], calls.map(([a, n]) => [a, String(n)]))}\n\n`);
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
