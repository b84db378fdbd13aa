/**
 * The daemon against a real kube-apiserver + etcd on loopback, through the manifests' RBAC and
 * admission policy, authenticated as the DaemonSet's ServiceAccount with a token bound to its own
 * pod on node-a (as kubelet mounts it). The cloud and the datapath are the in-memory fakes, so
 * exhaustion is exact and quick; the e2e test with a real kubelet runs the built image.
 */
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileCheckpoint } from '../../src/ipamd/checkpoint/checkpoint.js';
import type { ClusterPort } from '../../src/ipamd/cluster/cluster-port.js';
import { loadDaemonConfig } from '../../src/ipamd/config/config.js';
import { Daemon } from '../../src/ipamd/daemon.js';
import { connectKubernetes } from '../../src/kube/index.js';
import { CONDITION_TYPE, TAINT_KEY } from '../../src/kube/names.js';
import { FakeCloud } from '../support/fake-cloud.js';
import { FakeDatapath } from '../support/fake-datapath.js';
import { LocalControlPlane } from '../support/kube/control-plane.js';
import { waitFor } from '../support/wait-for.js';
import { parseExposition, sampleSum } from '../support/metrics-text.js';

const MANIFESTS = join(import.meta.dirname, '../../manifests');
const NODE = 'node-a';
const OTHER_NODE = 'node-b';
/** kubelet's max-pods on node-a; one of them is nativeip's own host-network pod. */
const CAPACITY_PODS = 8;

interface KubeNode {
  metadata: { resourceVersion: string };
  spec?: { taints?: { key: string; value?: string; effect: string }[] };
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

let cp: LocalControlPlane;
let dir: string;
let kubeconfig: string;
let cloud: FakeCloud;
/** The node's kernel: it outlives a daemon. */
const datapath = new FakeDatapath();
let daemon: Daemon | undefined;
let port: ClusterPort | undefined;
const logger = pino({ level: process.env['NATIVEIP_TEST_LOG'] === '1' ? 'debug' : 'silent' });


const node = (name = NODE) => cp.kubectlJson<KubeNode>(['get', 'node', name]);
const ourCondition = (n: KubeNode) => n.status?.conditions?.find((c) => c.type === CONDITION_TYPE);
const ourTaint = (n: KubeNode) => n.spec?.taints?.find((t) => t.key === TAINT_KEY);

async function createNode(name: string): Promise<void> {
  await cp.kubectl(['create', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name } }) });
  const status = { status: { capacity: { pods: String(CAPACITY_PODS), cpu: '2', memory: '4Gi' }, allocatable: { pods: String(CAPACITY_PODS), cpu: '2', memory: '4Gi' } } };
  await cp.kubectl(['patch', 'node', name, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
}

async function createPod(name: string, options: { namespace?: string; hostNetwork?: boolean; serviceAccount?: string } = {}): Promise<void> {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: options.namespace ?? 'default' },
    spec: {
      nodeName: NODE,
      ...(options.hostNetwork === true ? { hostNetwork: true } : {}),
      ...(options.serviceAccount === undefined ? { automountServiceAccountToken: false } : { serviceAccountName: options.serviceAccount }),
      containers: [{ name: 'c', image: 'busybox' }],
    },
  };
  await cp.kubectl(['create', '-f', '-'], { input: JSON.stringify(pod) });
}

/** ADD for pod `name` in namespace default, with a file standing in for its network namespace. */
async function add(name: string) {
  const netns = join(dir, `netns-${name}`);
  await writeFile(netns, '');
  return daemon!.service.add({ networkName: 'nativeip', containerId: `ctr-${name}`, ifName: 'eth0', netns, podNamespace: 'default', podName: name });
}

/** A pod's sandbox ending without a DEL: its namespace file goes, and the kernel drops its veth with it. */
async function endNamespace(name: string): Promise<void> {
  const netns = join(dir, `netns-${name}`);
  await unlink(netns);
  datapath.endNamespace(netns);
}

async function del(name: string) {
  await daemon!.service.del({ networkName: 'nativeip', containerId: `ctr-${name}`, ifName: 'eth0', netns: join(dir, `netns-${name}`), podNamespace: 'default', podName: name });
}

const held = () => daemon!.service.status().pods.map((p) => p.podName);

async function startDaemon(env: Record<string, string> = {}): Promise<void> {
  const config = loadDaemonConfig({
    NATIVEIP_CLOUD: 'aws',
    WARM_IP_TARGET: '1',
    IP_COOLDOWN_PERIOD: '0',
    NATIVEIP_RECONCILE_INTERVAL: '3600',
    NATIVEIP_SOCKET: join(dir, 'ipamd.sock'),
    NATIVEIP_CHECKPOINT: join(dir, 'checkpoint.json'),
    NATIVEIP_KUBERNETES: 'on',
    KUBECONFIG: kubeconfig,
    MY_NODE_NAME: NODE,
    ...env,
  });
  port = connectKubernetes({ endpoint: { kind: 'kubeconfig', path: kubeconfig }, nodeName: NODE, logger });
  daemon = new Daemon({ config, logger, provider: cloud, datapath, checkpoint: new FileCheckpoint(config.checkpointPath), cluster: port });
  await daemon.start();
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nativeip-kube-daemon-'));
  cp = new LocalControlPlane();
  await cp.start();
  for (const file of ['00-crd.yaml', '10-rbac.yaml', '20-admission-policy.yaml']) await cp.kubectl(['apply', '--server-side', '-f', join(MANIFESTS, file)]);
  await cp.kubectl(['create', 'serviceaccount', 'default', '-n', 'default']);
  await cp.kubectl(['create', 'serviceaccount', 'default', '-n', 'kube-system']);
  await createNode(NODE);
  await createNode(OTHER_NODE);
  // The DaemonSet's pod on node-a: host network, its ServiceAccount; its token carries node-a.
  await createPod('nativeip-a', { namespace: 'kube-system', hostNetwork: true, serviceAccount: 'nativeip' });
  const token = (await cp.kubectl(['create', 'token', 'nativeip', '-n', 'kube-system', '--bound-object-kind', 'Pod', '--bound-object-name', 'nativeip-a', '--duration', '1h'])).trim();
  kubeconfig = join(dir, 'nativeip.kubeconfig');
  await cp.writeKubeconfig(kubeconfig, { token });
  // 3 interfaces × 4 slots: the instance alone would allow 11 pods; the Node allows 8, one of them host-network.
  cloud = new FakeCloud({ maxInterfaces: 3, ipv4PerInterface: 4 });
  await startDaemon();
}, 180_000);

afterAll(async () => {
  await daemon?.close();
  await cp?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('nativeip-ipamd against a real API server', () => {
  it('keeps the pool within the Node capacity less host-network pods, not the instance max pods', async () => {
    await waitFor('the pod capacity from the Node', () => (daemon!.pool.maxPods === CAPACITY_PODS - 1 ? true : undefined));
    for (let i = 1; i <= CAPACITY_PODS - 1; i++) {
      await createPod(`p${i}`);
      await add(`p${i}`);
    }
    await createPod('p8');
    await expect(add('p8')).rejects.toThrow(/max pods \(7\)/);
    const secondaries = cloud.interfaces.reduce((sum, i) => sum + i.secondaryIps.length, 0);
    expect(secondaries).toBe(CAPACITY_PODS - 1);
    // The refusal is counted under its reason by the daemon's own metrics (what /metrics serves).
    const samples = parseExposition(await daemon!.metrics.exposition());
    expect(sampleSum(samples, 'nativeip_assign_failures_total', { reason: 'max_pods' })).toBe(1);
    expect(sampleSum(samples, 'nativeip_max_pods')).toBe(CAPACITY_PODS - 1);
  });

  it('tells the scheduler: condition False (MaxPods), NoSchedule taint, NativeipNode status and a Warning on the refused pod', async () => {
    const exhausted = await waitFor('the taint', async () => {
      const n = await node();
      return ourTaint(n) !== undefined ? n : undefined;
    });
    expect(ourTaint(exhausted)).toEqual({ key: TAINT_KEY, value: 'MaxPods', effect: 'NoSchedule' });
    expect(ourCondition(exhausted)).toMatchObject({ status: 'False', reason: 'MaxPods' });
    expect(ourCondition(exhausted)?.message).toMatch(/max pods \(7\)/);
    const status = await waitFor('the NativeipNode status', async () => {
      const object = await cp.kubectlJson<{ status?: { addresses?: { assigned: number }; maxPods?: number; state?: string; lastFailure?: { reason: string } } }>(['get', 'nativeipnode', NODE]);
      return object.status?.addresses?.assigned === CAPACITY_PODS - 1 ? object.status : undefined;
    });
    expect(status).toMatchObject({ maxPods: CAPACITY_PODS - 1, state: 'blocked', lastFailure: { reason: 'MaxPods' } });
    const events = await waitFor('a Warning event on p8', async () => {
      const list = await cp.kubectlJson<{ items: { reason: string; type: string; message: string; involvedObject: { name: string } }[] }>(['get', 'events', '-n', 'default', '--field-selector', 'involvedObject.name=p8']);
      return list.items.length > 0 ? list.items : undefined;
    });
    expect(events[0]).toMatchObject({ type: 'Warning', reason: 'NoAddressAvailable' });
    expect(events[0]?.message).toMatch(/max pods/);
    const table = await cp.kubectl(['get', 'nativeipnodes']);
    expect(table).toMatch(/MaxPods/);
  });

  it('removes the taint and sets the condition True once pods go', async () => {
    await del('p7');
    await cp.kubectl(['delete', 'pod', 'p7', '--grace-period=0', '--force']);
    const served = await waitFor('the taint removed', async () => {
      const n = await node();
      return ourTaint(n) === undefined ? n : undefined;
    });
    expect(ourCondition(served)).toMatchObject({ status: 'True', reason: 'AddressesAvailable' });
  });

  it('releases the address of a pod deleted from the API whose namespace is gone, at once', async () => {
    await endNamespace('p6');
    await cp.kubectl(['delete', 'pod', 'p6', '--grace-period=0', '--force']);
    await waitFor('p6 released', () => (held().includes('p6') ? undefined : true), { timeoutMs: 10_000 });
  });

  it('never releases the address of a pod the API says is alive, even with its namespace gone', async () => {
    const address = daemon!.service.status().pods.find((p) => p.podName === 'p5')!.address;
    await cp.kubectl(['patch', 'pod', 'p5', '-n', 'default', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { podIP: address, podIPs: [{ ip: address }] } })]);
    await waitFor('the API to show p5 holding its address', () => (daemon!.cluster!.holdsAddress('default', 'p5', address) ? true : undefined));
    await endNamespace('p5');
    await daemon!.reconcileNow();
    expect(held()).toContain('p5');
    await cp.kubectl(['delete', 'pod', 'p5', '--grace-period=0', '--force']);
    await waitFor('p5 released once the pod left the API', () => (held().includes('p5') ? undefined : true), { timeoutMs: 10_000 });
  });

  it('the admission policy refuses its token writes to another Node and to another taint', async () => {
    const other = connectKubernetes({ endpoint: { kind: 'kubeconfig', path: kubeconfig }, nodeName: OTHER_NODE, logger });
    try {
      await expect(other.writeAvailability({ available: false, reason: 'MaxPods', message: 'test', taint: 'MaxPods' })).rejects.toThrow(/node-b|denied|forbidden|Forbidden|policy/);
    } finally {
      await other.close();
    }
    const n = await node();
    const taints = [...(n.spec?.taints ?? []), { key: 'example.com/other', effect: 'NoSchedule' }];
    const spoofed = join(dir, 'patch.json');
    await writeFile(spoofed, JSON.stringify([{ op: 'add', path: '/spec/taints', value: taints }]));
    await expect(cp.kubectl([`--kubeconfig=${kubeconfig}`, 'patch', 'node', NODE, '--type=json', '--patch-file', spoofed])).rejects.toThrow(/denied|forbidden|Forbidden|taint/);
    expect(ourTaint(await node(OTHER_NODE))).toBeUndefined();
  });

  it('keeps serving ADD and DEL with the API server stopped, and catches up when it returns', async () => {
    await cp.stopApiServer();
    try {
      await add('p5');
      await add('p6');
      await add('p7');
      await expect(add('p9')).rejects.toThrow(/max pods/);
      await del('p1');
      await add('p9');
    } finally {
      await cp.startApiServer();
    }
    await waitFor('the NativeipNode status after the outage', async () => {
      const object = await cp.kubectlJson<{ status?: { addresses?: { assigned: number } } }>(['get', 'nativeipnode', NODE]);
      return object.status?.addresses?.assigned === CAPACITY_PODS - 1 ? true : undefined;
    }, { timeoutMs: 60_000 });
  });

  it('rebuilds a wiped checkpoint from the kernel and the API without handing a live pod\'s address to another', async () => {
    const before = new Map(daemon!.service.status().pods.map((p) => [p.podName, p.address]));
    expect(before.size).toBe(CAPACITY_PODS - 1);
    await daemon!.close();
    daemon = undefined;
    await rm(join(dir, 'checkpoint.json'));
    // Veths without the alias a current daemon writes (made by an older version): the kernel's
    // routes and the API are then the only records (checkpoint-recovery.test.ts rebuilds from aliases).
    datapath.keepsAliases = false;
    await startDaemon();
    expect(daemon!.service.status().pods).toEqual([]);
    expect(new Set(daemon!.service.heldAddresses().map((h) => h.address))).toEqual(new Set(before.values()));
    // kubelet's DEL of a pod the checkpoint lost finds it by its host veth and frees its address.
    const p2 = before.get('p2')!;
    await del('p2');
    expect([...datapath.pods.values()].map((p) => p.address)).not.toContain(p2);
    expect(daemon!.service.heldAddresses().map((h) => h.address)).not.toContain(p2);
    expect(daemon!.pool.pool.ownerOf(p2)).toBeUndefined();
    // The node is full but for p2's place (the Node's capacity, once the API is read, or the
    // instance's): a new pod never gets a held address, whichever it gets.
    const fresh = await add('p10');
    const stillLive = [...before].filter(([name]) => name !== 'p2').map(([, a]) => `${a}/32`);
    expect(stillLive).not.toContain(fresh.address);
  });
});
