/**
 * `nativeip demo --cloud aws`: the whole AWS path on one machine. Starts the EC2 emulator, two emulated
 * nodes (network namespaces) each with a real nativeip-ipamd, adds enough pods through the real
 * CNI plugin binary to need a second ENI, proves connectivity with real packets, deletes the pods
 * and checks nothing is left behind. Prints pod → address → ENI → node and the EC2 calls made.
 * Exit status 0 only if every check passed. Needs root.
 */

import { addPods, checkPing, checkTcp, deletePods, printCallCounts, printTable, runDemoScript, type DemoPod } from '../../demo/demo-script.js';
import { tcpEcho } from '../fabric/index.js';
import { startAwsCluster } from '../../emulator/aws/cluster.js';

const PREFIX = 'nipd-';
const INSTANCE_TYPE = 't3.medium'; // 3 ENIs × 6 IPv4: 5 pod addresses per ENI
const PODS_PER_NODE = [7, 2];

export function runAwsDemo(args: readonly string[]): Promise<number> {
  return runDemoScript(args, {
    prefix: PREFIX,
    workDirPrefix: 'nativeip-demo-',
    banner: `starting the EC2 emulator, 2 × ${INSTANCE_TYPE} nodes and their daemons…`,
    start: (binDir, workDir) => startAwsCluster({ prefix: PREFIX, nodes: 2, instanceType: INSTANCE_TYPE, binDir, workDir }),
    async run(demo) {
      const { cluster, checks, pods } = demo;
      await addPods(demo, PODS_PER_NODE, 'demo');

      const status = await Promise.all(cluster.nodes.map((n) => cluster.status(n)));
      const interfaceOf = (pod: DemoPod) =>
        status[cluster.nodes.indexOf(pod.node)]?.pods.find((p) => p.address === pod.address)?.interfaceId ?? '?';
      const topology = cluster.emulator.topology();
      const eniOf = new Map(topology.instances.flatMap((i) => i.interfaces.flatMap((e) => e.secondaryIps.map((ip) => [ip, e] as const))));
      checks.record(
        'each pod address is assigned in EC2 to the ENI the daemon says',
        pods.every((p) => eniOf.get(p.address)?.eniId === interfaceOf(p)),
      );
      const deviceOf = (pod: DemoPod) => eniOf.get(pod.address)?.deviceIndex ?? -1;
      const onPrimary = pods.find((p) => p.node === cluster.nodes[0] && deviceOf(p) === 0);
      const onSecondary = pods.find((p) => p.node === cluster.nodes[0] && deviceOf(p) > 0);
      const remote = pods.find((p) => p.node === cluster.nodes[1]);
      checks.record('node1 needed a second ENI', onSecondary !== undefined);

      const vpcHost = cluster.fabric.vpcHost;
      const internet = cluster.fabric.internetHost;
      const echo = await tcpEcho(vpcHost.netnsPath, vpcHost.ip, 8080);
      try {
        for (const [label, pod] of [['primary-ENI pod', onPrimary], ['secondary-ENI pod', onSecondary]] as const) {
          if (pod === undefined || remote === undefined) continue;
          await checkPing(checks, `${label} ${pod.address} (node1) → pod ${remote.address} (node2): ping`, pod.netnsPath, remote.address);
          await checkPing(checks, `${label} ${pod.address} → vpc-host ${vpcHost.ip}: ping`, pod.netnsPath, vpcHost.ip);
          await checkTcp(checks, `${label} ${pod.address} → vpc-host ${vpcHost.ip}:8080: TCP`, pod.netnsPath, vpcHost.ip, 8080);
          await checkPing(checks, `${label} ${pod.address} → internet ${internet.ip} (SNAT to the node address): ping`, pod.netnsPath, internet.ip);
        }
      } finally {
        await echo.close();
      }
      const node1Ip = topology.instances.find((i) => i.instanceId === cluster.nodes[0]?.instanceId)?.interfaces.find((e) => e.deviceIndex === 0)?.primaryIp;
      const heard = await cluster.fabric.internetSources();
      checks.record(`the internet saw only node1's address ${node1Ip ?? '?'}, never a pod's`, heard.length === 1 && heard[0] === node1Ip, heard.join(', '));
      checks.record('the VPC dropped no packet for a wrong source', (await cluster.fabric.droppedPackets()) === 0);

      printTable(
        ['POD', 'ADDRESS', 'ENI', 'DEVICE', 'NODE'],
        pods.map((p) => [`default/${p.name}`, p.address, interfaceOf(p), String(deviceOf(p)), `${p.node.name} (${p.node.instanceId})`]),
      );
      await deletePods(demo);
      printCallCounts('EC2 calls made by the two daemons', 'ACTION', cluster.emulator.callCounts());
    },
  });
}
