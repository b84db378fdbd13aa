/**
 * Host objects of pods no record owns (a crash between two netlink messages of an ADD, then a
 * lost checkpoint: no DEL will ever name them) are removed by the daemon itself once the node is
 * settled, at start-up and after each reconcile; those of live pods are kept.
 */
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterNode } from '../../src/demo/emulated-cluster.js';
import { nodeLeftovers } from '../../src/demo/leftovers.js';
import { createPodNetns } from '../../src/demo/pods.js';
import { callDaemon } from '../../src/rpc/client.js';
import { DIST_BIN, e2eSkipReason } from './support/cnitool.js';
import { tearDownCluster } from './support/cluster.js';
import { startAwsCluster, type AwsCluster } from '../../src/emulator/aws/cluster.js';

const execFileAsync = promisify(execFile);
const skip = e2eSkipReason();
const PREFIX = 'lfs-';
let cluster: AwsCluster | undefined;
let workDir: string | undefined;
let node: ClusterNode;
const podNetns: string[] = [];

beforeAll(async () => {
  if (skip !== undefined) return;
  workDir = await mkdtemp(join(tmpdir(), 'nativeip-leftovers-'));
  cluster = await startAwsCluster({ prefix: PREFIX, nodes: 1, instanceType: 't3.medium', binDir: DIST_BIN, workDir, daemonEnv: { NATIVEIP_RECONCILE_INTERVAL: '1' } });
  node = cluster.nodes[0]!;
}, 120_000);

afterAll(async () => {
  await tearDownCluster(cluster, podNetns, workDir);
}, 60_000);

describe.skipIf(skip !== undefined)('leftovers no record owns', () => {
  it('a to-pod rule without its route, and a pod veth nobody knows, go at the next reconcile; a live pod keeps its own', async () => {
    const ns = node.netnsPath.replace('/run/netns/', '');
    const netns = `${PREFIX}live`;
    podNetns.push(netns);
    const live = await callDaemon(node.socketPath, 'add', {
      networkName: 'nativeip',
      containerId: 'live-1',
      ifName: 'eth0',
      netns: await createPodNetns(netns),
      podNamespace: 'default',
      podName: 'live',
    }, { timeoutMs: 30_000 });
    const liveAddress = live.address.replace('/32', '');
    // What a crash between an ADD's messages leaves when its record is lost too.
    await execFileAsync('ip', ['-n', ns, 'rule', 'add', 'to', '10.0.0.200/32', 'lookup', 'main', 'pref', '512']);
    await execFileAsync('ip', ['-n', ns, 'link', 'add', 'enideadbeef001', 'type', 'veth', 'peer', 'name', 'deadpeer']);
    const stray = () => nodeLeftovers(node.netnsPath, { addresses: ['10.0.0.200'], isPodVeth: (name) => name === 'enideadbeef001' });
    expect(await stray()).toHaveLength(2);
    const deadline = Date.now() + 30_000;
    while ((await stray()).length > 0) {
      if (Date.now() > deadline) throw new Error(`still there after 30 s: ${(await stray()).join('; ')}\n${await cluster!.logTail(node, 20)}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const kept = await nodeLeftovers(node.netnsPath, { addresses: [liveAddress], isPodVeth: (name) => name === live.hostInterface.name });
    expect(kept.filter((line) => line.startsWith('veth'))).toEqual([`veth ${live.hostInterface.name}`]);
    expect(kept.filter((line) => line.startsWith('rule')).length).toBeGreaterThan(0);
    expect(kept.filter((line) => line.startsWith('route')).length).toBeGreaterThan(0);
  }, 90_000);
});
