/**
 * The CNI spec harness on nativeip: the built plugin against a real nativeip-ipamd on one
 * emulated node (EC2 emulator + namespace fabric), then the cases only nativeip has: GC of host
 * leftovers, and STATUS when the daemon is down or the pool cannot grow.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterNode } from '../../src/demo/emulated-cluster.js';
import { createPodNetns, deletePodNetns } from '../../src/demo/pods.js';
import { execInNetns } from '../../src/emulator/fabric/index.js';
import { CNI_TOOLS, DIST_BIN, e2eSkipReason } from './support/cnitool.js';
import { cniError, hostObjects, invoke, podIp, specSuite, type AddOut, type Outcome, type PluginUnderTest } from './cni-spec-harness.js';
import { startAwsCluster, type AwsCluster } from '../../src/emulator/aws/cluster.js';

const PREFIX = 'c3s-n-';
const NETWORK = 'c3s-nativeip';
const skip = e2eSkipReason();
if (skip !== undefined) console.warn(`skipping the nativeip spec harness: ${skip}`);

let workDir = '';
let clusterPromise: Promise<AwsCluster> | undefined;

/** One t3.medium node; MAX_ENI=1 keeps the pool at the primary ENI's 5 addresses, no cooldown. */
function cluster(): Promise<AwsCluster> {
  clusterPromise ??= (async () => {
    workDir = await mkdtemp(join(tmpdir(), 'c3s-nativeip-'));
    return startAwsCluster({
      prefix: PREFIX,
      nodes: 1,
      instanceType: 't3.medium',
      binDir: DIST_BIN,
      workDir,
      daemonEnv: { MAX_ENI: '1', IP_COOLDOWN_PERIOD: '0' },
    });
  })();
  return clusterPromise;
}

async function describePlugin(): Promise<PluginUnderTest> {
  const c = await cluster();
  const node = c.nodes[0]!;
  await c.waitForPool(node, 5);
  return {
    label: 'nativeip',
    binary: join(DIST_BIN, 'nativeip-cni'),
    cniPath: `${DIST_BIN}:${CNI_TOOLS}`,
    hostNetns: node.netnsPath.replace('/run/netns/', ''),
    podPrefix: PREFIX,
    config: (cniVersion) => ({ cniVersion, name: NETWORK, type: 'nativeip-cni', socketPath: node.socketPath }),
    async isAllocated(containerId, ifName) {
      const status = await c.status(node);
      return status.pods.some((p) => p.networkName === NETWORK && p.containerId === containerId && p.ifName === ifName);
    },
    expect: {
      // A repeated ADD rebuilds the pod's network with the address the key already holds.
      repeatedAdd: 'same-address',
      // The daemon compares every host and pod object of the plan (types.ts Datapath.checkPod).
      checkNoticesHostRoute: true,
      checkWithoutPrevResultCode: 7,
      // GC releases the allocation and removes its veth, route and rules; without the list it
      // refuses (7) rather than release every pod of the network.
      gc: { removesInterfaces: true, withoutList: { code: 7 } },
      keepsPrevResultOnAdd: true,
    },
  };
}

if (skip === undefined) {
  afterAll(async () => {
    const c = await clusterPromise?.catch(() => undefined);
    await c?.close();
    if (workDir !== '') await rm(workDir, { recursive: true, force: true });
  }, 60_000);

  specSuite('nativeip', {
    start: describePlugin,
    stop: async () => undefined,
    extraTampering: [
      {
        what: 'the to-pod policy rule deleted',
        apply: (plugin, ip) => execInNetns(plugin.hostNetns, ['ip', 'rule', 'del', 'to', `${ip}/32`, 'lookup', 'main', 'priority', '512']),
        message: /rule to [\d.]+\/32 lookup main missing/,
      },
      {
        what: 'the host veth taken down',
        apply: async (plugin, ip) => {
          const routes = await execInNetns(plugin.hostNetns, ['ip', '-o', 'route', 'show', `${ip}/32`]);
          const dev = /dev (\S+)/.exec(routes.stdout)?.[1] ?? 'missing';
          await execInNetns(plugin.hostNetns, ['ip', 'link', 'set', dev, 'down']);
        },
        message: /host veth \S+ is down/,
      },
    ],
  });

  describe('nativeip beyond the shared cases', () => {
    let plugin: PluginUnderTest;
    let node: ClusterNode;
    const pods: string[] = [];

    beforeAll(async () => {
      plugin = await describePlugin();
      node = (await cluster()).nodes[0]!;
    }, 240_000);

    afterAll(async () => {
      for (const name of pods) {
        await invoke(plugin, { command: 'DEL', containerId: name, ifName: 'eth0', netns: `/run/netns/${name}`, stdin: plugin.config('1.1.0') }).catch(() => undefined);
        await deletePodNetns(name);
      }
    }, 60_000);

    async function addPod(name: string): Promise<{ netns: string; result: AddOut; outcome: Outcome }> {
      const netns = await createPodNetns(`${PREFIX}${name}`);
      pods.push(`${PREFIX}${name}`);
      const outcome = await invoke(plugin, { command: 'ADD', containerId: `${PREFIX}${name}`, ifName: 'eth0', netns, stdin: plugin.config('1.1.0') });
      return { netns, outcome, result: (outcome.code === 0 ? JSON.parse(outcome.stdout) : {}) as AddOut };
    }

    const del = (name: string) =>
      invoke(plugin, { command: 'DEL', containerId: `${PREFIX}${name}`, ifName: 'eth0', netns: `/run/netns/${PREFIX}${name}`, stdin: plugin.config('1.1.0') });
    const status = () => invoke(plugin, { command: 'STATUS', stdin: plugin.config('1.1.0') });

    it('GC removes host veths, routes and rules no allocation owns, and never a live pod’s', async () => {
      const live = await addPod('live');
      expect(live.outcome.code, live.outcome.stdout).toBe(0);
      const liveIp = podIp(live.result, { netns: live.netns, ifName: 'eth0' });
      const ns = plugin.hostNetns;
      await execInNetns(ns, ['ip', 'link', 'add', 'enic3s00000001', 'type', 'veth', 'peer', 'name', 'c3speer0']);
      await execInNetns(ns, ['ip', 'route', 'add', '10.0.99.98/32', 'dev', 'lo', 'proto', '78']);
      await execInNetns(ns, ['ip', 'rule', 'add', 'to', '10.0.99.98/32', 'lookup', 'main', 'priority', '512']);
      await execInNetns(ns, ['ip', 'rule', 'add', 'from', '10.0.99.98/32', 'lookup', '2', 'priority', '1536']);
      const before = await hostObjects(plugin, live.result, liveIp);

      const outcome = await invoke(plugin, {
        command: 'GC',
        stdin: { ...plugin.config('1.1.0'), 'cni.dev/valid-attachments': [{ containerID: `${PREFIX}live`, ifname: 'eth0' }] },
      });
      expect(outcome.code, outcome.stdout).toBe(0);

      const links = await execInNetns(ns, ['ip', '-o', 'link', 'show']);
      expect(links.stdout).not.toContain('enic3s00000001');
      expect((await execInNetns(ns, ['ip', 'route', 'show', 'table', 'all', '10.0.99.98/32'])).stdout.trim()).toBe('');
      expect((await execInNetns(ns, ['ip', 'rule', 'show'])).stdout).not.toContain('10.0.99.98');
      expect(await hostObjects(plugin, live.result, liveIp)).toEqual(before);
      expect(before.length).toBeGreaterThanOrEqual(3);
      const check = await invoke(plugin, {
        command: 'CHECK',
        containerId: `${PREFIX}live`,
        ifName: 'eth0',
        netns: live.netns,
        stdin: { ...plugin.config('1.1.0'), prevResult: live.result },
      });
      expect(check.code, check.stdout).toBe(0);
      expect((await del('live')).code).toBe(0);
    });

    it('STATUS answers 51 with the reason when the pool is empty and cannot grow, and 0 again after a DEL', async () => {
      expect((await status()).code).toBe(0);
      const names = ['f1', 'f2', 'f3', 'f4', 'f5'];
      for (const name of names) {
        const { outcome } = await addPod(name);
        expect(outcome.code, outcome.stdout).toBe(0);
      }
      const sixth = await addPod('f6');
      expect(cniError(sixth.outcome).code).toBe(100);
      const blocked = cniError(await status());
      expect(blocked.code).toBe(51);
      expect(blocked.msg).toMatch(/^no IP addresses available: the node has 1 of 1 network interfaces .* every one holds its 5 secondary addresses$/);
      expect((await del('f1')).code).toBe(0);
      expect((await status()).code).toBe(0);
      for (const name of names.slice(1)) expect((await del(name)).code).toBe(0);
    });

    it('STATUS answers 50 "plugin not available" while the daemon is down', async () => {
      const c = await cluster();
      await c.stopDaemon(node);
      try {
        const down = cniError(await status());
        expect(down.code).toBe(50);
        expect(down.msg).toMatch(/^plugin not available: .*not reachable/);
      } finally {
        await c.startDaemon(node);
      }
      const up = await status();
      expect(up.code, up.stdout).toBe(0);
    });
  });
}
