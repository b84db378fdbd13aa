/**
 * Host links deleted off the main thread: the LinkReaper worker in a namespace playing the host,
 * and NetlinkDatapath.delPod bursts through it. Root only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LinkReaper } from '../../src/ipamd/datapath/link-reaper.js';
import { NetlinkDatapath } from '../../src/ipamd/datapath/netlink-datapath.js';
import { isAbsent } from '../../src/ipamd/datapath/errno.js';
import { NetnsError } from '../../src/ipamd/datapath/netns.js';
import type { PodNetworkSpec } from '../../src/ipamd/datapath/types.js';
import { hostVethName } from '../../src/ipamd/datapath/veth-name.js';
import { ip, link, routes, rules } from './datapath-fabric.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('link reaper integration tests skipped: they need root (network namespaces, netlink)');

const PREFIX = 'pf-dl-';
const HOST = `${PREFIX}host`;
const OTHER = `${PREFIX}other`;
const BURST = 40;

function addNs(name: string): string {
  ip('netns', 'add', name);
  return `/run/netns/${name}`;
}

function cleanup(): void {
  for (const line of ip('netns', 'list').split('\n')) {
    const name = line.split(' ')[0];
    if (name?.startsWith(PREFIX)) ip('netns', 'del', name);
  }
}

function podSpec(i: number): PodNetworkSpec {
  return {
    netnsPath: addNs(`${PREFIX}p${i}`),
    podIfName: 'eth0',
    hostVethName: hostVethName('eni', { namespace: 'pf', name: `burst-${i}` }),
    address: `10.0.7.${i + 1}`,
    mtu: 9001,
    ...(i % 2 === 0 ? { routeTable: 3 } : {}),
  };
}

describe.skipIf(!isRoot)('host link deletion off the main thread (root)', () => {
  beforeAll(() => {
    cleanup();
    addNs(HOST);
    addNs(OTHER);
  });

  afterAll(() => {
    cleanup();
  });

  it('deletes links in the host namespace only, together, and reports a missing one as absent', async () => {
    for (const ns of [HOST, OTHER]) for (let i = 0; i < 3; i += 1) ip('-n', ns, 'link', 'add', `pfv${i}`, 'type', 'veth', 'peer', 'name', `pfv${i}p`);
    const reaper = await LinkReaper.start({ hostNetnsPath: `/run/netns/${HOST}` });
    try {
      await Promise.all([0, 1, 2].map((i) => reaper.deleteLink(`pfv${i}`)));
      for (let i = 0; i < 3; i += 1) {
        expect(link(HOST, `pfv${i}`)).toBeUndefined();
        expect(link(HOST, `pfv${i}p`)).toBeUndefined();
        expect(link(OTHER, `pfv${i}`)).toBeDefined();
      }
      const missing: unknown = await reaper.deleteLink('pfv-none').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isAbsent(missing)).toBe(true);
    } finally {
      reaper.close();
    }
    await expect(reaper.deleteLink('pfv0')).rejects.toThrow('closed');
  });

  it('names the namespace it cannot start in', async () => {
    const err: unknown = await LinkReaper.start({ hostNetnsPath: `/run/netns/${PREFIX}missing` }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NetnsError);
    expect((err as Error).message).toContain(`${PREFIX}missing`);
  });

  it('keeps the event loop turning during a burst of delPods, and leaves nothing behind', async () => {
    const dp = await NetlinkDatapath.open({ hostNetnsPath: `/run/netns/${HOST}` });
    try {
      const pods = Array.from({ length: BURST }, (_, i) => podSpec(i));
      await Promise.all(pods.map((p) => dp.addPod(p)));
      let turns = 0;
      let done = false;
      const spin = (): void => {
        if (done) return;
        turns += 1;
        setImmediate(spin);
      };
      const burst = Promise.all(pods.map((p) => dp.delPod(p))).finally(() => {
        done = true;
      });
      setImmediate(spin);
      await burst;
      // Deleting on the main thread runs every veth deletion (15-20 ms of kernel time each) inside
      // a few turns of the loop; off the main thread the loop keeps turning meanwhile.
      expect(turns).toBeGreaterThanOrEqual(BURST);
      for (const p of pods) {
        expect(link(HOST, p.hostVethName)).toBeUndefined();
        expect(routes(HOST).filter((r) => r.startsWith(`${p.address} `))).toEqual([]);
        expect(rules(HOST).filter((r) => r.includes(p.address))).toEqual([]);
      }
      await expect(Promise.all(pods.slice(0, 3).map((p) => dp.delPod(p)))).resolves.toBeDefined();
    } finally {
      dp.close();
    }
  });
});
