/**
 * `nativeip demo --cloud azure`: the whole Azure path on one machine. Starts the Azure emulator
 * (ARM over https, IMDS per VM, NIC writes taking a few seconds like real ones), two VMs as
 * network namespaces behind a VNet that checks sources, a real nativeip-ipamd on each (which
 * finds Azure by itself), adds pods through the real CNI plugin, proves connectivity with real
 * packets, deletes the pods and checks nothing is left. Prints pod → address → IP configuration
 * → NIC → VM and the ARM calls made. Exit status 0 only if every check passed. Needs root.
 */

import { addPods, checkPing, checkTcp, deletePods, printCallCounts, printTable, runDemoScript } from '../../demo/demo-script.js';
import { tcpEcho } from '../fabric/index.js';
import { startAzureCluster } from '../../emulator/azure/cluster.js';

const PREFIX = 'nipz-';
const PODS_PER_NODE = [4, 2];
/** Real NIC PUTs take 10–60 s; a few seconds keeps the demo honest and watchable. */
const ARM_LATENCY_MS = 2000;

export function runAzureDemo(args: readonly string[]): Promise<number> {
  return runDemoScript(args, {
    prefix: PREFIX,
    workDirPrefix: 'nativeip-demo-azure-',
    banner: `starting the Azure emulator (NIC writes take ${ARM_LATENCY_MS / 1000} s), 2 VMs (node1 with 2 NICs) and their daemons…`,
    start: (binDir, workDir) =>
      startAzureCluster({
        prefix: PREFIX,
        nodes: 2,
        nicsPerVm: 2,
        binDir,
        workDir,
        daemonEnv: { WARM_IP_TARGET: '2' },
        emulator: { operationLatencyMs: ARM_LATENCY_MS },
      }),
    async run(demo) {
      const { cluster, checks, pods } = demo;
      const statuses = await Promise.all(cluster.nodes.map((n) => cluster.status(n)));
      checks.record('each daemon found Azure by itself (NATIVEIP_CLOUD=auto)', statuses.every((s) => s.cloud === 'azure'));
      await addPods(demo, PODS_PER_NODE, 'demoaz');

      const holders = new Map<string, { vm: string; nic: string; config: string }>();
      for (const instance of cluster.emulator.topology().instances) {
        for (const nic of instance.interfaces) {
          for (const config of cluster.emulator.nic(nic.interfaceId)?.configs ?? []) {
            holders.set(config.address, { vm: instance.instanceId, nic: nic.interfaceId.split('/').pop() ?? nic.interfaceId, config: config.name });
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
          await checkPing(checks, `pod ${local.address} (node1) → pod ${remote.address} (node2): ping`, local.netnsPath, remote.address);
          await checkPing(checks, `pod ${local.address} → VNet host ${vnetHost.ip}: ping`, local.netnsPath, vnetHost.ip);
          await checkTcp(checks, `pod ${remote.address} → VNet host ${vnetHost.ip}:8080: TCP`, remote.netnsPath, vnetHost.ip, 8080);
        }
      } finally {
        await echo.close();
      }
      checks.record('the VNet dropped no packet for a wrong source', (await cluster.fabric.droppedPackets()) === 0);

      printTable(
        ['POD', 'ADDRESS', 'IP CONFIGURATION', 'NIC', 'VM'],
        pods.map((p) => {
          const holder = holders.get(p.address);
          return [`default/${p.name}`, p.address, holder?.config ?? '?', holder?.nic ?? '?', p.node.instanceId.split('/').pop() ?? p.node.instanceId];
        }),
      );
      await deletePods(demo);
      printCallCounts('ARM and IMDS calls made by the two daemons', 'OPERATION', cluster.emulator.callCounts());
    },
  });
}
