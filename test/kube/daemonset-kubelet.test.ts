/**
 * nativeip as users run it: `kubectl apply -f manifests/` on a real cluster (kube-apiserver, etcd,
 * controller-manager, scheduler, and a real kubelet with containerd and runc, all on loopback),
 * the DaemonSet running the image this project builds (imported into containerd: there is no
 * registry), its init step installing the plugin and the daemon writing the conflist once ready.
 *
 * The node: kubelet and containerd run in this machine's network namespace; the emulated EC2
 * instance (a t3.small: 3 ENIs × 4 addresses) is a network namespace of the fabric, and the
 * daemon treats it as the host (NATIVEIP_HOST_NETNS), so pod veths, routes and the instance's ENIs
 * are there and pod packets leave through the emulated VPC router, which checks their sources.
 * The DaemonSet is the one in manifests/, with this machine's endpoints and directories patched in.
 */
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAwsEmulator, type AwsEmulator } from '../../src/emulator/aws/index.js';
import { AwsFabric } from '../../src/emulator/fabric/index.js';
import { tcpEcho, type TcpEchoServer } from '../../src/emulator/fabric/netns-exec.js';
import { cidrContains } from '../../src/core/ipv4.js';
import { CONDITION_TYPE, TAINT_KEY } from '../../src/kube/names.js';
import { ensureImageArchive, REPO_ROOT } from '../support/image-archive.js';
import { LocalControlPlane } from '../support/kube/control-plane.js';
import { buildBusyboxImage } from '../support/kube/image.js';
import { KubeletNode } from '../support/kube/kubelet-node.js';
import { referenceCniBinDir } from '../support/kube/reference-cni.js';

const PREFIX = 'nipk-';
const NODE = 'node1';
const BUSYBOX = 'nativeip.local/busybox:test';
/** t3.small: 3 ENIs × (4 − 1) secondary addresses. */
const ADDRESSES = 9;
const ECHO_PORT = 7070;

interface Pod {
  metadata: { name: string; labels?: Record<string, string> };
  status: { phase: string; podIP?: string; conditions?: { type: string; status: string }[] };
}
interface KubeNode {
  spec?: { taints?: { key: string; value?: string; effect: string }[] };
  status?: { conditions?: { type: string; status: string; reason?: string }[] };
}

let dir: string;
let emulator: AwsEmulator | undefined;
let fabric: AwsFabric | undefined;
let cp: LocalControlPlane | undefined;
let node: KubeletNode | undefined;
let echo: TcpEchoServer | undefined;
let instanceId: string;
let cniConfDir: string;
let cniBinDir: string;

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      const debug = node === undefined ? '' : `\nkubelet:\n${node.logTail('kubelet', 15)}`;
      const pods = await cp?.kubectl(['get', 'pods', '-A', '-o', 'wide']).catch(() => '');
      const described = await cp?.kubectl(['get', 'events', '-A', '-o', 'jsonpath={range .items[*]}{.reason}: {.message}{"\\n"}{end}']).catch(() => '');
      const logs = await cp?.kubectl(['logs', '-n', 'kube-system', 'daemonset/nativeip', '--all-containers', '--tail=30']).catch((e: unknown) => String(e));
      throw new Error(`timed out waiting for ${what}${last === undefined ? '' : `: ${String(last)}`}\npods:\n${pods ?? ''}\n${described ?? ''}\nnativeip logs:\n${logs ?? ''}${debug}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

const kubectl = (args: readonly string[], input?: string) => cp!.kubectl(args, input === undefined ? {} : { input });
const webPods = async () => (await cp!.kubectlJson<{ items: Pod[] }>(['get', 'pods', '-n', 'default', '-l', 'app=web'])).items;
const runningWebPods = async () => (await webPods()).filter((p) => p.status.phase === 'Running' && p.status.podIP !== undefined);
const kubeNode = () => cp!.kubectlJson<KubeNode>(['get', 'node', NODE]);
const ourTaint = (n: KubeNode) => n.spec?.taints?.find((t) => t.key === TAINT_KEY);
const instanceAddresses = () => emulator!.topology().instances.find((i) => i.instanceId === instanceId)!.interfaces.flatMap((i) => i.secondaryIps);

/** The DaemonSet from manifests/, pointed at this machine's emulated cloud, API server and directories. */
async function adaptDaemonSet(imdsUrl: string, netnsPath: string): Promise<void> {
  const ds = await cp!.kubectlJson<{
    spec: { template: { spec: { containers: { name: string; env?: { name: string; value?: string }[] }[]; volumes: { name: string; hostPath?: { path: string } }[] } } };
  }>(['get', 'daemonset', 'nativeip', '-n', 'kube-system']);
  const podSpec = ds.spec.template.spec;
  const server = new URL(cp!.server);
  const env = {
    NATIVEIP_CLOUD: 'aws',
    AWS_ENDPOINT_URL_EC2: emulator!.ec2Url,
    AWS_EC2_METADATA_SERVICE_ENDPOINT: imdsUrl,
    AWS_REGION: emulator!.region,
    AWS_ACCESS_KEY_ID: 'emulated',
    AWS_SECRET_ACCESS_KEY: 'emulated',
    NATIVEIP_HOST_NETNS: netnsPath,
    // No kube-proxy here to reach the `kubernetes` Service: the API server's own address.
    KUBERNETES_SERVICE_HOST: server.hostname,
    KUBERNETES_SERVICE_PORT: server.port,
    IP_COOLDOWN_PERIOD: '1',
  };
  for (const container of podSpec.containers) {
    const kept = (container.env ?? []).filter((e) => !(e.name in env));
    container.env = [...kept, ...Object.entries(env).map(([name, value]) => ({ name, value }))];
  }
  const hostPaths: Record<string, string> = { '/etc/cni/net.d': cniConfDir, '/opt/cni/bin': cniBinDir };
  for (const volume of podSpec.volumes) {
    const moved = volume.hostPath === undefined ? undefined : hostPaths[volume.hostPath.path];
    if (moved !== undefined) volume.hostPath!.path = moved;
  }
  await kubectl(['replace', '-f', '-'], JSON.stringify(ds));
}

function deployment(replicas: number): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          terminationGracePeriodSeconds: 0,
          containers: [{ name: 'sh', image: BUSYBOX, imagePullPolicy: 'Never', command: ['sleep', '3600'] }],
        },
      },
    },
  });
}

beforeAll(async () => {
  const archive = await ensureImageArchive();
  dir = await mkdtemp(join(tmpdir(), 'nativeip-daemonset-'));
  cniConfDir = join(dir, 'cni-conf');
  cniBinDir = join(dir, 'cni-bin');
  await mkdir(cniConfDir);
  await mkdir(cniBinDir);
  // containerd needs the loopback plugin beside ours; the init container installs nativeip-cni.
  await copyFile(join(referenceCniBinDir(['loopback']), 'loopback'), join(cniBinDir, 'loopback'));

  await AwsFabric.cleanupStale(PREFIX);
  emulator = await startAwsEmulator({ host: '127.0.0.1', port: 0 });
  fabric = await AwsFabric.start(emulator, { prefix: PREFIX });
  const launched = await emulator.launchInstance({ instanceType: 't3.small' });
  instanceId = launched.instanceId;
  await fabric.whenSynced();
  echo = await tcpEcho(fabric.vpcHost.netns, fabric.vpcHost.ip, ECHO_PORT, { lifetimeMs: 900_000 });

  cp = new LocalControlPlane({ controllerManager: true, scheduler: true });
  await cp.start();
  // Pod network namespaces in /var/run/netns, as containerd keeps them on a real node.
  node = new KubeletNode({ controlPlane: cp, nodeName: NODE, cniBinDir, cniConfDir, podNetnsDir: 'host' });
  await node.start();
  await node.importImage(archive);
  await node.importImage(await buildBusyboxImage(dir, BUSYBOX));

  await kubectl(['apply', '--server-side', '-f', join(REPO_ROOT, 'manifests')]);
  await adaptDaemonSet(launched.imdsUrl, fabric.nodeNetnsPath(instanceId));
}, 600_000);

afterAll(async () => {
  await cp?.kubectl(['delete', 'deployment', 'web', '-n', 'default', '--ignore-not-found', '--wait=true', '--timeout=60s']).catch(() => undefined);
  await cp?.kubectl(['delete', 'pod', 'extra', '-n', 'default', '--ignore-not-found', '--grace-period=0', '--force']).catch(() => undefined);
  await cp?.kubectl(['delete', 'daemonset', 'nativeip', '-n', 'kube-system', '--ignore-not-found', '--wait=true', '--timeout=60s']).catch(() => undefined);
  await node?.stop();
  await cp?.stop();
  await echo?.close();
  await fabric?.close();
  await emulator?.close();
  // The DaemonSet's /run/nativeip is the host's (the plugin on the host finds the socket there).
  await rm('/run/nativeip/checkpoint.json', { force: true });
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}, 300_000);

describe('the nativeip DaemonSet on a real kubelet', () => {
  it('installs the plugin, then writes the conflist once the daemon serves, and the Node becomes Ready', async () => {
    const ready = await waitFor('the DaemonSet pod Ready', async () => {
      const pods = await cp!.kubectlJson<{ items: Pod[] }>(['get', 'pods', '-n', 'kube-system', '-l', 'app.kubernetes.io/name=nativeip']);
      return pods.items.find((p) => p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    }, 180_000);
    expect(ready.status.phase).toBe('Running');
    expect(existsSync(join(cniBinDir, 'nativeip-cni'))).toBe(true);
    const conflist = JSON.parse(await readFile(join(cniConfDir, '10-nativeip.conflist'), 'utf8')) as { plugins: { type: string }[] };
    expect(conflist.plugins[0]?.type).toBe('nativeip-cni');
    await node!.waitForNodeReady(120_000);
    const nativeipNode = await waitFor('the NativeipNode', async () => {
      const object = await cp!.kubectlJson<{ status?: { instanceId?: string; instanceType?: string } }>(['get', 'nativeipnode', NODE]);
      return object.status?.instanceId !== undefined ? object.status : undefined;
    });
    expect(nativeipNode).toMatchObject({ instanceId, instanceType: 't3.small' });
  }, 400_000);

  it("gives a Deployment's pods VPC addresses from the emulated EC2; they reach each other and the VPC host with real packets", async () => {
    await kubectl(['apply', '-f', '-'], deployment(3));
    const pods = await waitFor('3 web pods Running', async () => {
      const running = await runningWebPods();
      return running.length === 3 ? running : undefined;
    });
    const subnet = emulator!.subnets()[0]!.cidr;
    const owned = instanceAddresses();
    for (const pod of pods) {
      expect(cidrContains(subnet, pod.status.podIP!)).toBe(true);
      expect(owned).toContain(pod.status.podIP);
    }
    const [a, b] = pods;
    await kubectl(['exec', '-n', 'default', a!.metadata.name, '--', 'ping', '-c', '2', '-W', '3', b!.status.podIP!]);
    await kubectl(['exec', '-n', 'default', a!.metadata.name, '--', 'ping', '-c', '2', '-W', '3', fabric!.vpcHost.ip]);
    const echoed = await kubectl(['exec', '-n', 'default', b!.metadata.name, '--', 'sh', '-c', `echo nativeip | nc -w 3 ${fabric!.vpcHost.ip} ${ECHO_PORT}`]);
    expect(echoed).toContain('nativeip');
  }, 300_000);

  it('taints the node when it runs out of addresses, so the scheduler sends no more pods and says why', async () => {
    await kubectl(['scale', 'deployment', 'web', '-n', 'default', `--replicas=${ADDRESSES + 1}`]);
    await waitFor(`${ADDRESSES} web pods Running`, async () => ((await runningWebPods()).length === ADDRESSES ? true : undefined), 180_000);
    const tainted = await waitFor('the taint', async () => {
      const n = await kubeNode();
      return ourTaint(n) !== undefined ? n : undefined;
    });
    expect(ourTaint(tainted)).toEqual({ key: TAINT_KEY, value: 'InterfaceLimit', effect: 'NoSchedule' });
    expect(tainted.status?.conditions?.find((c) => c.type === CONDITION_TYPE)).toMatchObject({ status: 'False', reason: 'InterfaceLimit' });
    // The pod already scheduled waits with a Warning that says why.
    const waiting = (await webPods()).find((p) => p.status.podIP === undefined)!;
    const warned = await waitFor('the Warning on the pod left without an address', async () => {
      const events = await cp!.kubectlJson<{ items: { reason: string; message: string }[] }>(['get', 'events', '-n', 'default', '--field-selector', `involvedObject.name=${waiting.metadata.name}`]);
      return events.items.find((e) => e.reason === 'NoAddressAvailable');
    });
    expect(warned.message).toMatch(/network interfaces/);
    // A new pod is not scheduled: its events name the taint.
    await kubectl(['run', 'extra', '-n', 'default', `--image=${BUSYBOX}`, '--image-pull-policy=Never', '--restart=Never', '--', 'sleep', '3600']);
    const refused = await waitFor('FailedScheduling on the extra pod', async () => {
      const events = await cp!.kubectlJson<{ items: { reason: string; message: string }[] }>(['get', 'events', '-n', 'default', '--field-selector', 'involvedObject.name=extra']);
      return events.items.find((e) => e.reason === 'FailedScheduling');
    });
    // kube-scheduler 1.35 says "had untolerated taint(s)" without naming it; the Node's only taint is ours.
    expect(refused.message).toMatch(/untolerated taint/);
    expect((await kubeNode()).spec?.taints?.map((t) => t.key)).toEqual([TAINT_KEY]);
    const extra = await cp!.kubectlJson<Pod>(['get', 'pod', 'extra', '-n', 'default']);
    expect(extra.status.phase).toBe('Pending');
  }, 400_000);

  it('releases the addresses of deleted pods and lifts the taint', async () => {
    await kubectl(['delete', 'pod', 'extra', '-n', 'default', '--ignore-not-found', '--grace-period=0', '--force']);
    await kubectl(['scale', 'deployment', 'web', '-n', 'default', '--replicas=0']);
    await waitFor('no web pods', async () => ((await webPods()).length === 0 ? true : undefined), 120_000);
    const status = await waitFor('the NativeipNode with no address assigned', async () => {
      const object = await cp!.kubectlJson<{ status?: { addresses?: { assigned: number } } }>(['get', 'nativeipnode', NODE]);
      return object.status?.addresses?.assigned === 0 ? object.status : undefined;
    });
    expect(status.addresses?.assigned).toBe(0);
    const served = await waitFor('the taint lifted', async () => {
      const n = await kubeNode();
      return ourTaint(n) === undefined ? n : undefined;
    });
    expect(served.status?.conditions?.find((c) => c.type === CONDITION_TYPE)).toMatchObject({ status: 'True' });
  }, 300_000);
});
