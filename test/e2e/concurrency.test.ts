/**
 * Concurrency through the real binaries, driven like a container runtime (cnitool): 110 ADDs at
 * once on one node (the EKS max-pods default) while the pool has to grow under them, 110 DELs at
 * once, then mixed ADD/DEL storms. After each step every live pod has a distinct address and
 * answers a ping from the VPC, and nothing of a deleted pod is left in the node's namespace or in
 * the daemon's allocations.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostVethName } from '../../src/ipamd/datapath/veth-name.js';
import { seededRandom } from '../../src/core/seeded-random.js';
import type { ClusterNode } from '../../src/demo/emulated-cluster.js';
import { createPodNetns, deletePodNetns } from '../../src/demo/pods.js';
import { ping } from '../../src/emulator/fabric/index.js';
import { CniTool, DIST_BIN, e2eSkipReason, podAddress, type CniOutcome } from './support/cnitool.js';
import { startAwsCluster, type AwsCluster } from '../../src/emulator/aws/cluster.js';

const execFileAsync = promisify(execFile);
const PREFIX = 'c3p-';
const POD_NAMESPACE = 'conc';
const BURST = 110;
const skip = e2eSkipReason();
if (skip !== undefined) console.warn(`skipping concurrency e2e: ${skip}`);

interface Pod {
  readonly name: string;
  readonly netns: string;
  readonly netnsPath: string;
  address: string | undefined;
}

/** Runs `fn` over `items` with at most `limit` running at once; keeps the order of results. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await fn(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** A deterministic shuffle (mulberry32), so a failing interleaving can be replayed from its seed. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const random = seededRandom(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe.skipIf(skip !== undefined)('110 pods at once, then ADD/DEL storms (cnitool → nativeip-cni → nativeip-ipamd)', () => {
  let workDir: string;
  let cluster: AwsCluster;
  let node: ClusterNode;
  let cni: CniTool;
  const pods = new Map<string, Pod>();
  let daemonStderr = '';

  async function pod(name: string): Promise<Pod> {
    const existing = pods.get(name);
    if (existing !== undefined) return existing;
    const netns = `${PREFIX}${name}`;
    const created: Pod = { name, netns, netnsPath: await createPodNetns(netns), address: undefined };
    pods.set(name, created);
    return created;
  }

  function cniArgs(p: Pod): Record<string, string> {
    return { CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${POD_NAMESPACE};K8S_POD_NAME=${p.name}` };
  }

  async function add(p: Pod): Promise<CniOutcome> {
    const outcome = await cni.run('add', 'nativeip', p.netnsPath, cniArgs(p));
    if (outcome.code === 0) p.address = podAddress(outcome);
    return outcome;
  }

  async function del(p: Pod): Promise<CniOutcome> {
    const outcome = await cni.run('del', 'nativeip', p.netnsPath, cniArgs(p));
    if (outcome.code === 0) p.address = undefined;
    return outcome;
  }

  function failures(outcomes: ReadonlyArray<{ pod: Pod; verb: string; outcome: CniOutcome }>): string[] {
    return outcomes.filter((o) => o.outcome.code !== 0).map((o) => `${o.verb} ${o.pod.name}: exit ${o.outcome.code} ${o.outcome.stdout}${o.outcome.stderr}`.trim());
  }

  /** Live pods (holding an address per the runtime's view): distinct, in EC2 on this node, and pingable. */
  async function expectLivePodsHealthy(): Promise<void> {
    const live = [...pods.values()].filter((p) => p.address !== undefined);
    const addresses = live.map((p) => p.address!);
    expect(new Set(addresses).size, 'distinct addresses').toBe(addresses.length);
    const instance = cluster.emulator.topology().instances.find((i) => i.instanceId === node.instanceId);
    const inCloud = new Set(instance?.interfaces.flatMap((eni) => eni.secondaryIps) ?? []);
    expect(addresses.filter((a) => !inCloud.has(a)), 'addresses not assigned to the node in EC2').toEqual([]);
    const status = await cluster.status(node);
    const held = new Map(status.pods.map((p) => [p.podName ?? p.containerId, p.address]));
    expect(new Map(live.map((p) => [p.name, p.address!])), 'the daemon holds exactly the live pods').toEqual(held);
    const host = cluster.fabric.vpcHost;
    const unreachable = (
      await mapLimit(live, 12, async (p) => ((await ping(host.netnsPath, p.address!, { count: 1, timeoutSec: 5 })).ok ? undefined : `${p.name} ${p.address}`))
    ).filter((x): x is string => x !== undefined);
    expect(unreachable, 'pods that do not answer a ping from the vpc-host').toEqual([]);
  }

  /** What of the given deleted pods is still in the node's namespace: veth, routes or rules. */
  async function leftovers(deleted: ReadonlyArray<{ pod: Pod; address: string }>): Promise<string[]> {
    const ns = node.netnsPath.replace('/run/netns/', '');
    const [links, routes, rules] = await Promise.all([
      execFileAsync('ip', ['-n', ns, '-o', 'link', 'show', 'type', 'veth']),
      execFileAsync('ip', ['-n', ns, '-4', 'route', 'show', 'table', 'all']),
      execFileAsync('ip', ['-n', ns, '-4', 'rule', 'show']),
    ]);
    const liveAddresses = new Set([...pods.values()].map((p) => p.address).filter((a) => a !== undefined));
    const hits: string[] = [];
    for (const { pod: p, address } of deleted) {
      const veth = hostVethName('eni', { namespace: POD_NAMESPACE, name: p.name });
      if (links.stdout.split('\n').some((l) => l.includes(` ${veth}@`))) hits.push(`veth ${veth} of ${p.name}`);
      if (liveAddresses.has(address)) continue; // handed to another pod since
      const re = new RegExp(`(^|\\s)${address.replace(/\./g, '\\.')}(/32)?(\\s|$)`);
      hits.push(...routes.stdout.split('\n').filter((l) => re.test(l)).map((l) => `route of ${p.name}: ${l}`));
      hits.push(...rules.stdout.split('\n').filter((l) => re.test(l)).map((l) => `rule of ${p.name}: ${l}`));
    }
    return hits;
  }

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'nativeip-conc-'));
    // m5.4xlarge: 8 ENIs × 29 secondary addresses. Default warm pool (WARM_ENI_TARGET=1): 29
    // addresses ready, so most of the 110 ADDs wait while the pool grows by whole ENIs. A short
    // cooldown keeps the storms within the instance's 232 addresses however long a run takes.
    cluster = await startAwsCluster({
      prefix: PREFIX,
      nodes: 1,
      instanceType: 'm5.4xlarge',
      binDir: DIST_BIN,
      workDir,
      daemonEnv: { IP_COOLDOWN_PERIOD: '5' },
    });
    node = cluster.nodes[0]!;
    node.process?.stderr?.on('data', (chunk: Buffer) => (daemonStderr += chunk.toString()));
    node.process?.on('exit', (code, signal) => (daemonStderr += `\n[nativeip-ipamd exited: code ${code}, signal ${signal}]`));
    cni = await CniTool.withConflist(join(workDir, 'netconf'), {
      cniVersion: '1.0.0',
      name: 'nativeip',
      plugins: [{ type: 'nativeip-cni', socketPath: node.socketPath }],
    });
  }, 180_000);

  afterAll(async () => {
    for (const p of pods.values()) await deletePodNetns(p.netns);
    if (cluster !== undefined) {
      console.log(`--- daemon log tail ---\n${await cluster.logTail(node, 10)}\n--- daemon stderr ---\n${daemonStderr.slice(-4000)}`);
      await cluster.close();
    }
    if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
  }, 120_000);

  it(`${BURST} ADDs at once, with the pool growing under them: distinct addresses, every pod answers, no CNI error`, async () => {
    const before = await cluster.status(node);
    expect(before.pool.available, 'the warm pool starts smaller than the burst').toBeLessThan(BURST);
    const burst = await Promise.all(Array.from({ length: BURST }, (_, i) => pod(`b${i}`)));
    const outcomes = await Promise.all(burst.map(async (p) => ({ pod: p, verb: 'ADD', outcome: await add(p) })));
    expect(failures(outcomes)).toEqual([]);
    expect(burst.every((p) => p.address !== undefined)).toBe(true);
    await expectLivePodsHealthy();
    const after = await cluster.status(node);
    expect(after.interfaces.length, 'the pool grew by ENIs during the burst').toBeGreaterThan(before.interfaces.length);
    expect(await cluster.fabric.droppedPackets()).toBe(0);
  }, 300_000);

  it(`${BURST} DELs at once leave no veth, route, rule or allocation`, async () => {
    const live = [...pods.values()].filter((p) => p.address !== undefined);
    expect(live.length).toBe(BURST);
    const deleted = live.map((p) => ({ pod: p, address: p.address! }));
    const outcomes = await Promise.all(live.map(async (p) => ({ pod: p, verb: 'DEL', outcome: await del(p) })));
    expect(failures(outcomes)).toEqual([]);
    expect(await leftovers(deleted)).toEqual([]);
    expect((await cluster.status(node)).pods).toEqual([]);
  }, 300_000);

  it('mixed ADD/DEL storms (3 seeded random interleavings) keep every guarantee', async () => {
    let serial = 0;
    for (const seed of [11, 22, 33]) {
      const live = [...pods.values()].filter((p) => p.address !== undefined);
      if (live.length < 30) {
        const fresh = await Promise.all(Array.from({ length: 40 - live.length }, () => pod(`s${(serial += 1)}`)));
        const outcomes = await Promise.all(fresh.map(async (p) => ({ pod: p, verb: 'ADD', outcome: await add(p) })));
        expect(failures(outcomes), `seed ${seed}: setup ADDs`).toEqual([]);
      }
      const current = [...pods.values()].filter((p) => p.address !== undefined);
      const newcomers = await Promise.all(Array.from({ length: 30 }, () => pod(`s${(serial += 1)}`)));
      const shortLived = await Promise.all(Array.from({ length: 15 }, () => pod(`s${(serial += 1)}`)));
      const deleted: Array<{ pod: Pod; address: string }> = [];
      type Step = () => Promise<Array<{ pod: Pod; verb: string; outcome: CniOutcome }>>;
      const steps: Step[] = [
        // Existing pods go away.
        ...current.slice(0, 30).map((p): Step => async () => {
          const address = p.address!;
          const outcome = await del(p);
          deleted.push({ pod: p, address });
          return [{ pod: p, verb: 'DEL', outcome }];
        }),
        // New pods arrive.
        ...newcomers.map((p): Step => async () => [{ pod: p, verb: 'ADD', outcome: await add(p) }]),
        // Pods that start and are deleted right away (a sandbox that failed later in the runtime).
        ...shortLived.map((p): Step => async () => {
          const added = await add(p);
          const address = p.address;
          const removed = await del(p);
          if (address !== undefined) deleted.push({ pod: p, address });
          return [
            { pod: p, verb: 'ADD', outcome: added },
            { pod: p, verb: 'DEL', outcome: removed },
          ];
        }),
      ];
      const order = shuffled(steps, seed);
      const outcomes = (
        await Promise.all(order.map(async (step, i) => {
          await new Promise((resolve) => setTimeout(resolve, (i * 7) % 250));
          return step();
        }))
      ).flat();
      expect(failures(outcomes), `seed ${seed}`).toEqual([]);
      await expectLivePodsHealthy();
      expect(await leftovers(deleted), `seed ${seed}: leftovers of deleted pods`).toEqual([]);
    }
    const rest = [...pods.values()].filter((p) => p.address !== undefined);
    const deleted = rest.map((p) => ({ pod: p, address: p.address! }));
    const outcomes = await Promise.all(rest.map(async (p) => ({ pod: p, verb: 'DEL', outcome: await del(p) })));
    expect(failures(outcomes)).toEqual([]);
    expect(await leftovers(deleted)).toEqual([]);
    expect((await cluster.status(node)).pods).toEqual([]);
    expect(await cluster.fabric.droppedPackets()).toBe(0);
  }, 600_000);
});
