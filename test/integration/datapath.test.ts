/**
 * NetlinkDatapath against the real kernel: a namespace plays the node ("host"), others play pods
 * and the VPC. Checked with `ip` output and with packets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { NetlinkDatapath } from '../../src/ipamd/datapath/netlink-datapath.js';
import { DatapathError, type HostInterfaceSpec, type PodNetworkSpec } from '../../src/ipamd/datapath/types.js';
import { hostVethName } from '../../src/ipamd/datapath/veth-name.js';
import {
  addNetns,
  addresses,
  cleanupNamespaces,
  delNetns,
  ip,
  link,
  neighbours,
  ping,
  routes,
  rules,
} from './datapath-fabric.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('datapath integration tests skipped: they need root (network namespaces, netlink)');

const HOST = 'dpt-host';
const HOST_PATH = '/run/netns/dpt-host';
const NODE_IP = '10.0.0.10';

let dp: NetlinkDatapath;
let podCounter = 0;

/** A fresh pod namespace and a spec for it. */
function newPod(address: string, extra: Partial<PodNetworkSpec> = {}): PodNetworkSpec & { ns: string } {
  podCounter += 1;
  const ns = `dpt-pod${podCounter}`;
  const netnsPath = addNetns(ns);
  return {
    ns,
    netnsPath,
    podIfName: 'eth0',
    hostVethName: hostVethName('eni', { namespace: 'dpt', name: `pod-${podCounter}` }),
    address,
    mtu: 9001,
    ...extra,
  };
}

async function expectDatapathError(p: Promise<unknown>): Promise<DatapathError> {
  const err: unknown = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DatapathError);
  return err as DatapathError;
}

/** What a pod leaves on the host: links, main routes and rules mentioning its address. */
function hostTraces(spec: { hostVethName: string; address: string }): string[] {
  const found: string[] = [];
  if (link(HOST, spec.hostVethName)) found.push(`link ${spec.hostVethName}`);
  for (const r of routes(HOST)) if (r.startsWith(`${spec.address} `) || r.includes(spec.hostVethName)) found.push(`route ${r}`);
  for (const r of rules(HOST)) if (r.includes(` ${spec.address} `) || r.endsWith(` ${spec.address}`)) found.push(`rule ${r}`);
  return found;
}

describe.skipIf(!isRoot)('NetlinkDatapath (root, real namespaces)', () => {
  beforeAll(async () => {
    cleanupNamespaces();
    addNetns(HOST);
    execFileSync('ip', ['netns', 'exec', HOST, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    // The node's own uplink and address (a veth: this kernel has no dummy driver).
    ip('-n', HOST, 'link', 'add', 'uplink0', 'type', 'veth', 'peer', 'name', 'uplink0p');
    ip('-n', HOST, 'addr', 'add', `${NODE_IP}/24`, 'dev', 'uplink0');
    ip('-n', HOST, 'link', 'set', 'uplink0p', 'up');
    ip('-n', HOST, 'link', 'set', 'uplink0', 'up');
    dp = await NetlinkDatapath.open({ hostNetnsPath: HOST_PATH, linkPollMs: 50 });
  });

  afterAll(() => {
    dp?.close();
    cleanupNamespaces();
  });

  describe('addPod', () => {
    it('creates the veth, pod address, routes, neighbour, host route and rule', async () => {
      const pod = newPod('10.0.1.5');
      const result = await dp.addPod(pod);

      const hostEnd = link(HOST, pod.hostVethName);
      expect(hostEnd).toMatchObject({ kind: 'veth', mtu: 9001, up: true, mac: result.hostVeth.mac });
      expect(result.hostVeth.name).toBe(pod.hostVethName);
      const podEnd = link(pod.ns, 'eth0');
      expect(podEnd).toMatchObject({ kind: 'veth', mtu: 9001, up: true, mac: result.podInterface.mac });
      expect(result.podInterface.name).toBe('eth0');

      expect(addresses(pod.ns, 'eth0')).toEqual(['10.0.1.5/32']);
      const podRoutes = routes(pod.ns);
      expect(podRoutes).toContainEqual(expect.stringMatching(/^default via 169\.254\.1\.1 dev eth0\b/));
      expect(podRoutes).toContainEqual(expect.stringMatching(/^169\.254\.1\.1 dev eth0 .*scope link/));
      expect(neighbours(pod.ns, 'eth0')).toEqual([`169.254.1.1 lladdr ${result.hostVeth.mac} PERMANENT`]);

      expect(routes(HOST)).toContainEqual(expect.stringMatching(new RegExp(`^10\\.0\\.1\\.5 dev ${pod.hostVethName} .*scope link`)));
      const hostRules = rules(HOST);
      expect(hostRules).toContainEqual(expect.stringMatching(/^512: from all to 10\.0\.1\.5 lookup main\b/));
      expect(hostRules.filter((r) => r.includes('from 10.0.1.5 '))).toEqual([]);

      expect(await dp.checkPod(pod)).toEqual([]);
      await dp.delPod(pod);
    });

    it('adds the from-rule to the interface table, including tables above 255', async () => {
      const pod = newPod('10.0.1.7', { routeTable: 100000 });
      await dp.addPod(pod);
      expect(rules(HOST)).toContainEqual(expect.stringMatching(/^1536: from 10\.0\.1\.7 lookup 100000\b/));
      expect(await dp.checkPod(pod)).toEqual([]);
      await dp.delPod(pod);
      expect(hostTraces(pod)).toEqual([]);
    });

    it('carries packets pod to pod and pod to node across the host namespace', async () => {
      const a = newPod('10.0.1.11');
      const b = newPod('10.0.1.12');
      await dp.addPod(a);
      await dp.addPod(b);
      expect(ping(a.ns, '10.0.1.12')).toBe(0);
      expect(ping(b.ns, '10.0.1.11')).toBe(0);
      expect(ping(a.ns, NODE_IP)).toBe(0);
      await dp.delPod(b);
      expect(ping(a.ns, '10.0.1.12')).not.toBe(0);
      await dp.delPod(a);
    });

    it('refuses a second pod with the same veth name and leaves the first intact', async () => {
      const first = newPod('10.0.1.20');
      await dp.addPod(first);
      const second = { ...newPod('10.0.1.21'), hostVethName: first.hostVethName };
      const err = await expectDatapathError(dp.addPod(second));
      expect(err.step).toBe(`create veth ${first.hostVethName} peer eth0 in ${second.netnsPath}`);
      expect(err.message).toContain('EEXIST');
      expect(link(second.ns, 'eth0')).toBeUndefined();
      expect(hostTraces({ hostVethName: 'none', address: second.address })).toEqual([]);
      expect(await dp.checkPod(first)).toEqual([]);
      await dp.delPod(first);
    });

    it('fails on a missing pod netns without creating anything', async () => {
      const spec: PodNetworkSpec = {
        netnsPath: '/run/netns/dpt-does-not-exist',
        podIfName: 'eth0',
        hostVethName: 'enidptmissing',
        address: '10.0.1.30',
        mtu: 1500,
      };
      const err = await expectDatapathError(dp.addPod(spec));
      expect(err.step).toBe('enter pod netns /run/netns/dpt-does-not-exist');
      expect(err.message).toContain('does not exist');
      expect(hostTraces(spec)).toEqual([]);
    });

    it('rolls back everything when a rule already exists', async () => {
      const pod = newPod('10.0.1.31', { routeTable: 7 });
      ip('-n', HOST, 'rule', 'add', 'from', '10.0.1.31/32', 'lookup', '7', 'priority', '1536');
      const err = await expectDatapathError(dp.addPod(pod));
      expect(err.step).toBe('add rule from 10.0.1.31/32 lookup 7 priority 1536');
      expect(err.message).toContain('EEXIST');
      // Only the pre-existing rule remains; the veth, route and to-rule are gone.
      expect(hostTraces(pod)).toEqual(['rule 1536: from 10.0.1.31 lookup 7']);
      expect(link(pod.ns, 'eth0')).toBeUndefined();
      ip('-n', HOST, 'rule', 'del', 'from', '10.0.1.31/32', 'lookup', '7', 'priority', '1536');
    });

    it('rolls back everything when the host route already exists', async () => {
      const pod = newPod('10.0.1.32');
      ip('-n', HOST, 'route', 'add', '10.0.1.32/32', 'dev', 'uplink0');
      const err = await expectDatapathError(dp.addPod(pod));
      expect(err.step).toBe(`add host route 10.0.1.32/32 dev ${pod.hostVethName} scope link table main`);
      expect(err.message).toContain('EEXIST');
      expect(hostTraces(pod)).toEqual(['route 10.0.1.32 dev uplink0 scope link']);
      expect(link(pod.ns, 'eth0')).toBeUndefined();
      ip('-n', HOST, 'route', 'del', '10.0.1.32/32', 'dev', 'uplink0');
    });

    it('rejects an invalid spec before touching the kernel', async () => {
      const pod = newPod('10.0.1.300');
      const err = await expectDatapathError(dp.addPod(pod));
      expect(err.step).toBe('plan pod');
      expect(err.message).toContain('invalid IPv4 address "10.0.1.300"');
      expect(link(HOST, pod.hostVethName)).toBeUndefined();
    });
  });

  describe('delPod', () => {
    it('is idempotent', async () => {
      const pod = newPod('10.0.1.40', { routeTable: 3 });
      await dp.addPod(pod);
      expect(hostTraces(pod).length).toBeGreaterThan(0);
      await dp.delPod(pod);
      expect(hostTraces(pod)).toEqual([]);
      await dp.delPod(pod);
      expect(hostTraces(pod)).toEqual([]);
    });

    it('succeeds after the pod netns was deleted', async () => {
      const pod = newPod('10.0.1.41', { routeTable: 3 });
      await dp.addPod(pod);
      delNetns(pod.ns);
      await dp.delPod(pod);
      expect(rules(HOST).filter((r) => r.includes('10.0.1.41'))).toEqual([]);
      expect(await dp.listHostVeths(pod.hostVethName)).toEqual([]);
    });
  });

  describe('checkPod', () => {
    it('reports each kind of drift', async () => {
      const pod = newPod('10.0.1.50', { routeTable: 2 });
      const { hostVeth } = await dp.addPod(pod);
      const veth = pod.hostVethName;
      expect(await dp.checkPod(pod)).toEqual([]);

      ip('-n', HOST, 'route', 'del', '10.0.1.50/32', 'dev', veth);
      ip('-n', HOST, 'rule', 'del', 'from', '10.0.1.50/32', 'lookup', '2');
      ip('-n', HOST, 'rule', 'del', 'to', '10.0.1.50/32', 'lookup', 'main');
      ip('-n', pod.ns, 'addr', 'del', '10.0.1.50/32', 'dev', 'eth0');
      ip('-n', pod.ns, 'addr', 'add', '10.0.1.59/32', 'dev', 'eth0');
      ip('-n', pod.ns, 'neigh', 'replace', '169.254.1.1', 'lladdr', '02:00:00:00:00:99', 'dev', 'eth0', 'nud', 'permanent');
      // Removing the address took the pod's routes through eth0 with it; re-add the link route only.
      ip('-n', pod.ns, 'route', 'replace', '169.254.1.1', 'dev', 'eth0', 'scope', 'link');

      expect(await dp.checkPod(pod)).toEqual([
        'pod eth0 has address 10.0.1.59/32, expected 10.0.1.50/32',
        'pod route default via 169.254.1.1 dev eth0 missing from main table',
        `pod neighbour 169.254.1.1 dev eth0 has lladdr 02:00:00:00:00:99, expected ${hostVeth.mac}`,
        `route 10.0.1.50/32 dev ${veth} missing from main table`,
        'rule to 10.0.1.50/32 lookup main missing',
        'rule from 10.0.1.50/32 lookup 2 missing',
      ]);

      ip('-n', HOST, 'link', 'set', veth, 'down');
      ip('-n', HOST, 'link', 'set', veth, 'mtu', '1500');
      ip('-n', pod.ns, 'neigh', 'del', '169.254.1.1', 'dev', 'eth0');
      const drift = await dp.checkPod(pod);
      expect(drift).toContain(`host veth ${veth} has MTU 1500, expected 9001`);
      expect(drift).toContain(`host veth ${veth} is down`);
      expect(drift).toContain('pod neighbour 169.254.1.1 dev eth0 missing');

      await dp.delPod(pod);
      expect(await dp.checkPod(pod)).toEqual(
        expect.arrayContaining([`host veth ${veth} missing`, `pod eth0 missing in ${pod.netnsPath}`]),
      );
      delNetns(pod.ns);
      expect(await dp.checkPod(pod)).toContain(`pod netns ${pod.netnsPath} cannot be read: netns ${pod.netnsPath}: does not exist`);
    });
  });

  describe('secondary interfaces', () => {
    const eni: HostInterfaceSpec = {
      mac: '02:00:00:00:02:01',
      primaryIp: '10.0.2.17',
      subnetCidr: '10.0.2.0/24',
      mtu: 9001,
      routeTable: 2,
    };

    beforeAll(() => {
      addNetns('dpt-vpc');
    });

    it('waits for the link to appear, then installs its table and rule', async () => {
      let settled = false;
      const setup = dp.setupInterface(eni, { timeoutMs: 20_000 }).finally(() => {
        settled = true;
      });
      await new Promise((r) => setTimeout(r, 400));
      expect(settled).toBe(false);
      // The "cloud" attaches the ENI: a link with its MAC appears in the node, wired to the VPC.
      ip('link', 'add', 'eth1', 'netns', HOST, 'address', eni.mac, 'type', 'veth', 'peer', 'name', 'vpc0', 'netns', 'dpt-vpc');
      ip('-n', 'dpt-vpc', 'addr', 'add', '10.0.2.1/24', 'dev', 'vpc0');
      ip('-n', 'dpt-vpc', 'link', 'set', 'vpc0', 'up');
      await setup;

      expect(link(HOST, 'eth1')).toMatchObject({ up: true, mtu: 9001 });
      expect(addresses(HOST, 'eth1')).toEqual(['10.0.2.17/32']);
      const table = routes(HOST, '2');
      expect(table).toContainEqual(expect.stringMatching(/^default via 10\.0\.2\.1 dev eth1\b/));
      expect(table).toContainEqual(expect.stringMatching(/^10\.0\.2\.0\/24 dev eth1 .*scope link src 10\.0\.2\.17/));
      expect(rules(HOST)).toContainEqual(expect.stringMatching(/^1536: from 10\.0\.2\.17 lookup 2\b/));
      // Nothing leaked into the main table.
      expect(routes(HOST).filter((r) => r.includes('eth1'))).toEqual([]);

      await dp.setupInterface(eni);
      expect(routes(HOST, '2')).toHaveLength(2);
      expect(rules(HOST).filter((r) => r.includes('10.0.2.17'))).toHaveLength(1);
    });

    it('egresses a pod with that route table through the interface', async () => {
      const pod = newPod('10.0.2.50', { routeTable: 2 });
      const { hostVeth } = await dp.addPod(pod);
      expect(hostVeth.name).toBe(pod.hostVethName);
      // The VPC delivers the pod's address to the ENI that holds it.
      ip('-n', 'dpt-vpc', 'neigh', 'replace', '10.0.2.50', 'lladdr', eni.mac, 'dev', 'vpc0', 'nud', 'permanent');
      expect(ping(pod.ns, '10.0.2.1')).toBe(0);

      // Without the from-rule the node has no path to that subnet: the policy routing is what works.
      ip('-n', HOST, 'rule', 'del', 'from', '10.0.2.50/32', 'lookup', '2');
      expect(ping(pod.ns, '10.0.2.1')).not.toBe(0);
      await dp.delPod(pod);
    });

    it('handles tables above 255', async () => {
      const big: HostInterfaceSpec = { mac: '02:00:00:00:03:01', primaryIp: '10.0.3.9', subnetCidr: '10.0.3.0/24', mtu: 1500, routeTable: 70000 };
      ip('link', 'add', 'eth2', 'netns', HOST, 'address', big.mac, 'type', 'veth', 'peer', 'name', 'vpc2', 'netns', 'dpt-vpc');
      await dp.setupInterface(big, { timeoutMs: 5000 });
      expect(routes(HOST, '70000')).toContainEqual(expect.stringMatching(/^default via 10\.0\.3\.1 dev eth2\b/));
      expect(rules(HOST)).toContainEqual(expect.stringMatching(/^1536: from 10\.0\.3\.9 lookup 70000\b/));
      await dp.teardownInterface(big);
      expect(routes(HOST, '70000')).toEqual([]);
      expect(rules(HOST).filter((r) => r.includes('70000'))).toEqual([]);
    });

    it('times out with a clear error when the link never appears', async () => {
      const err = await expectDatapathError(dp.setupInterface({ ...eni, mac: '02:00:00:00:09:09' }, { timeoutMs: 200 }));
      expect(err.step).toBe('find link 02:00:00:00:09:09');
      expect(err.message).toContain('no link with MAC 02:00:00:00:09:09 appeared within 200 ms');
    });

    it('tears the interface down idempotently, even after it is gone', async () => {
      await dp.teardownInterface(eni);
      expect(routes(HOST, '2')).toEqual([]);
      expect(rules(HOST).filter((r) => r.includes('10.0.2.17'))).toEqual([]);
      expect(addresses(HOST, 'eth1')).toEqual([]);
      await dp.teardownInterface(eni);
      ip('-n', HOST, 'link', 'del', 'eth1');
      await dp.teardownInterface(eni);
    });
  });

  it('names the host namespace it cannot open, and refuses work once closed', async () => {
    const err = await expectDatapathError(NetlinkDatapath.open({ hostNetnsPath: '/run/netns/dpt-nope' }));
    expect(err.message).toBe('open host netlink socket in /run/netns/dpt-nope: netns /run/netns/dpt-nope: does not exist');
    const other = await NetlinkDatapath.open({ hostNetnsPath: HOST_PATH });
    other.close();
    other.close();
    const closed = await expectDatapathError(other.listHostVeths('eni'));
    expect(closed.step).toBe('use datapath');
  });

  it('lists host veths by prefix', async () => {
    const pod = newPod('10.0.1.60');
    await dp.addPod(pod);
    const names = await dp.listHostVeths('eni');
    expect(names).toContain(pod.hostVethName);
    expect(names.every((n) => n.startsWith('eni'))).toBe(true);
    expect(await dp.listHostVeths('nothing')).toEqual([]);
    expect(await dp.listHostVeths('uplink')).toEqual(['uplink0', 'uplink0p']);
    await dp.delPod(pod);
    expect(await dp.listHostVeths('eni')).not.toContain(pod.hostVethName);
  });

  it('writes the host veth\'s alias in the create request and reads it back with the pod routes', async () => {
    const alias = 'nativeip1 nativeip 0123456789abcdef eth0 /var/run/netns/cni-1234';
    const pod = newPod('10.0.1.61', { hostAlias: alias });
    const plain = newPod('10.0.1.62');
    await dp.addPod(pod);
    await dp.addPod(plain);
    expect(ip('-n', HOST, '-o', 'link', 'show', pod.hostVethName)).toContain(`alias ${alias}`);
    const found = await dp.listPodRoutes('eni');
    expect(found).toContainEqual({ address: '10.0.1.61', hostVeth: pod.hostVethName, alias });
    expect(found).toContainEqual({ address: '10.0.1.62', hostVeth: plain.hostVethName });
    await dp.delPod(pod);
    await dp.delPod(plain);
  });

  it('runs concurrent addPod / checkPod / delPod on the shared sockets', async () => {
    const pods = Array.from({ length: 8 }, (_, i) => newPod(`10.0.4.${i + 1}`, i % 2 === 0 ? { routeTable: 5 } : {}));
    await Promise.all(pods.map((p) => dp.addPod(p)));
    const checks = await Promise.all(pods.map((p) => dp.checkPod(p)));
    expect(checks).toEqual(pods.map(() => []));
    await Promise.all([...pods.map((p) => dp.delPod(p)), dp.listHostVeths('eni')]);
    for (const p of pods) expect(hostTraces(p)).toEqual([]);
  });
});
