/**
 * Found by the long crash campaign (AWS, seed 1, round 238: "kernel leftover of a gone pod: rule
 * 1536: from 10.0.0.21 to 10.0.0.0/16 lookup 3"). A kill after a DEL had removed pod A's network
 * but before its checkpoint write, then a checkpoint that gives A's address to live pod B too
 * (the campaign's `doubled` damage; B assigned last): the kernel routes A's address to nobody, so
 * B's record keeps it, and the start-up rewrite of the pods' `from` rules wrote a `from <A's
 * address>` rule for B: a rule of an address no pod uses, which no sweep removes while B's record
 * holds that address. The rewrite adds rules only for addresses the host routes to a pod
 * (planFromRuleRewrite).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterNode } from '../../src/demo/emulated-cluster.js';
import { nodeLeftovers } from '../../src/demo/leftovers.js';
import { createPodNetns, deletePodNetns } from '../../src/demo/pods.js';
import { signCheckpoint } from '../../src/ipamd/checkpoint/checkpoint-checksum.js';
import { callDaemon } from '../../src/rpc/client.js';
import { DIST_BIN, e2eSkipReason } from './support/cnitool.js';
import { tearDownCluster } from './support/cluster.js';
import { startAwsCluster, type AwsCluster } from '../../src/emulator/aws/cluster.js';

const execFileAsync = promisify(execFile);
const skip = e2eSkipReason();
const PREFIX = 'cdb-';
let cluster: AwsCluster | undefined;
let workDir: string | undefined;
let node: ClusterNode;
const podNetns: string[] = [];

interface SavedAllocation {
  containerId: string;
  address: string;
  hostVeth: string;
  routeTable?: number;
  assignedAtMs: number;
}

beforeAll(async () => {
  if (skip !== undefined) return;
  workDir = await mkdtemp(join(tmpdir(), 'nativeip-doubled-'));
  cluster = await startAwsCluster({ prefix: PREFIX, nodes: 1, instanceType: 't3.medium', binDir: DIST_BIN, workDir, daemonEnv: { NATIVEIP_RECONCILE_INTERVAL: '1' } });
  node = cluster.nodes[0]!;
}, 120_000);

afterAll(async () => {
  await tearDownCluster(cluster, podNetns, workDir);
}, 60_000);

async function addPod(name: string): Promise<string> {
  const netns = `${PREFIX}${name}`;
  podNetns.push(netns);
  const result = await callDaemon(
    node.socketPath,
    'add',
    { networkName: 'nativeip', containerId: name, ifName: 'eth0', netns: await createPodNetns(netns), podNamespace: 'default', podName: name },
    { timeoutMs: 30_000 },
  );
  return result.address.replace('/32', '');
}

async function allocations(): Promise<{ data: Record<string, unknown>; allocations: SavedAllocation[] }> {
  const data = JSON.parse(await readFile(node.checkpointPath, 'utf8')) as Record<string, unknown> & { allocations: SavedAllocation[] };
  return { data, allocations: data.allocations };
}

describe.skipIf(skip !== undefined)('a checkpoint that gives a gone pod\'s address to a live pod', () => {
  it('leaves no rule of the gone pod\'s address once the node has settled', async () => {
    // Pods until one is on a secondary ENI (it has a route table, so a from rule): that one is B.
    let b: SavedAllocation | undefined;
    for (let i = 1; b === undefined; i += 1) {
      if (i > 12) throw new Error('no pod landed on a secondary ENI');
      await addPod(`p${i}`);
      b = (await allocations()).allocations.find((a) => a.routeTable !== undefined);
    }
    const before = await allocations();
    const a = before.allocations.find((x) => x.containerId !== b.containerId && x.assignedAtMs < b.assignedAtMs)!;
    // A's DEL removes its network; the daemon dies before the checkpoint says so (kept as it was).
    await callDaemon(node.socketPath, 'del', { networkName: 'nativeip', containerId: a.containerId, ifName: 'eth0' }, { timeoutMs: 30_000 });
    await cluster!.stopDaemon(node, 'SIGKILL');
    await deletePodNetns(`${PREFIX}${a.containerId}`);
    // The damage: B's record gets A's address too (the campaign's `doubled`).
    const damaged = { ...before.data, allocations: before.allocations.map((x) => (x.containerId === b.containerId ? { ...x, address: a.address } : x)) };
    // A sound file that says something wrong (re-signed), not damage on disk.
    await writeFile(node.checkpointPath, signCheckpoint(damaged));
    await cluster!.startDaemon(node);

    const ns = node.netnsPath.replace('/run/netns/', '');
    const ofA = () => nodeLeftovers(node.netnsPath, { addresses: [a.address], isPodVeth: () => false });
    // Several reconciles (one a second): whatever is left then stays.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    const left = await ofA();
    const rules = (await execFileAsync('ip', ['-n', ns, 'rule'])).stdout;
    expect(left, `rules of the node:\n${rules}\n${await cluster!.logTail(node, 30)}`).toEqual([]);
    // B keeps its own network: its address still has its route and rules.
    const ofB = await nodeLeftovers(node.netnsPath, { addresses: [b.address], isPodVeth: (name) => name === b.hostVeth });
    expect(ofB.some((line) => line.startsWith('route'))).toBe(true);
    expect(ofB.some((line) => line.startsWith('rule') && line.includes(`from ${b.address}`))).toBe(true);
  }, 120_000);
});
