/**
 * nativeip as users run it: `kubectl apply -f manifests/` on a real cluster (kube-apiserver, etcd,
 * controller-manager, scheduler, and a real kubelet with containerd and runc, all on loopback),
 * the DaemonSet running the image this project builds (imported into containerd: there is no
 * registry), its init step installing the plugin and the daemon writing the conflist once ready.
 * The node is an emulated t3.small (3 ENIs × 4 addresses); see test/support/kube/nativeip-cluster.ts.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cidrContains } from '../../src/core/ipv4.js';
import { CONDITION_TYPE, TAINT_KEY } from '../../src/kube/names.js';
import { BUSYBOX, ECHO_PORT, NativeipCluster, type KubeNodeObject, type KubePod } from '../support/kube/nativeip-cluster.js';

const NODE = 'node1';
/** t3.small: 3 ENIs × (4 − 1) secondary addresses. */
const ADDRESSES = 9;

let cluster: NativeipCluster | undefined;
const c = () => cluster!;
const ourTaint = (n: KubeNodeObject) => n.spec?.taints?.find((t) => t.key === TAINT_KEY);
const ourCondition = (n: KubeNodeObject) => n.status?.conditions?.find((x) => x.type === CONDITION_TYPE);
const eventsOf = async (pod: string) => (await c().kubectlJson<{ items: { reason: string; message: string }[] }>(['get', 'events', '-n', 'default', '--field-selector', `involvedObject.name=${pod}`])).items;

beforeAll(async () => {
  cluster = await NativeipCluster.start({ prefix: 'nipk-', nodeName: NODE, instanceType: 't3.small', daemonEnv: { IP_COOLDOWN_PERIOD: '1' } });
}, 600_000);

afterAll(async () => {
  await cluster?.close();
}, 300_000);

describe('the nativeip DaemonSet on a real kubelet', () => {
  it('installs the plugin, then writes the conflist once the daemon serves, and the Node becomes Ready', async () => {
    const ready = await c().waitForDaemonReady();
    expect(ready.status.phase).toBe('Running');
    expect(existsSync(join(c().cniBinDir, 'nativeip-cni'))).toBe(true);
    const conflist = JSON.parse(await readFile(join(c().cniConfDir, '05-nativeip.conflist'), 'utf8')) as { plugins: { type: string }[] };
    expect(conflist.plugins[0]?.type).toBe('nativeip-cni');
    await c().node!.waitForNodeReady(120_000);
    const status = await c().waitFor('the NativeipNode', async () => {
      const object = await c().kubectlJson<{ status?: { instanceId?: string; instanceType?: string } }>(['get', 'nativeipnode', NODE]);
      return object.status?.instanceId !== undefined ? object.status : undefined;
    });
    expect(status).toMatchObject({ instanceId: c().instanceId, instanceType: 't3.small' });
  }, 400_000);

  it("gives a Deployment's pods VPC addresses from the emulated EC2; they reach each other and the VPC host with real packets", async () => {
    await c().deployWeb(3);
    const pods = await c().waitFor('3 web pods Running', async () => {
      const running = await c().runningWebPods();
      return running.length === 3 ? running : undefined;
    });
    const subnet = c().emulator!.subnets()[0]!.cidr;
    const owned = c().instanceAddresses();
    for (const pod of pods) {
      expect(cidrContains(subnet, pod.status.podIP!)).toBe(true);
      expect(owned).toContain(pod.status.podIP);
    }
    const [a, b] = pods as [KubePod, KubePod];
    const vpcHost = c().fabric!.vpcHost.ip;
    await c().kubectl(['exec', '-n', 'default', a.metadata.name, '--', 'ping', '-c', '2', '-W', '3', b.status.podIP!]);
    await c().kubectl(['exec', '-n', 'default', a.metadata.name, '--', 'ping', '-c', '2', '-W', '3', vpcHost]);
    const echoed = await c().kubectl(['exec', '-n', 'default', b.metadata.name, '--', 'sh', '-c', `echo nativeip | nc -w 3 ${vpcHost} ${ECHO_PORT}`]);
    expect(echoed).toContain('nativeip');
  }, 300_000);

  it('taints the node when it runs out of addresses, so the scheduler sends no more pods and says why', async () => {
    await c().kubectl(['scale', 'deployment', 'web', '-n', 'default', `--replicas=${ADDRESSES + 1}`]);
    await c().waitFor(`${ADDRESSES} web pods Running`, async () => ((await c().runningWebPods()).length === ADDRESSES ? true : undefined), 180_000);
    const tainted = await c().waitFor('the taint', async () => {
      const n = await c().kubeNode();
      return ourTaint(n) !== undefined ? n : undefined;
    });
    expect(ourTaint(tainted)).toEqual({ key: TAINT_KEY, value: 'InterfaceLimit', effect: 'NoSchedule' });
    expect(ourCondition(tainted)).toMatchObject({ status: 'False', reason: 'InterfaceLimit' });
    // The pod already scheduled waits with a Warning that says why.
    const waiting = (await c().webPods()).find((p) => p.status.podIP === undefined)!;
    const warned = await c().waitFor('the Warning on the pod left without an address', async () => (await eventsOf(waiting.metadata.name)).find((e) => e.reason === 'NoAddressAvailable'));
    expect(warned.message).toMatch(/network interfaces/);
    // A new pod is not scheduled. kube-scheduler 1.35 says "had untolerated taint(s)" without
    // naming it; the Node's only taint is ours, and its condition says why.
    await c().kubectl(['run', 'extra', '-n', 'default', `--image=${BUSYBOX}`, '--image-pull-policy=Never', '--restart=Never', '--', 'sleep', '3600']);
    const refused = await c().waitFor('FailedScheduling on the extra pod', async () => (await eventsOf('extra')).find((e) => e.reason === 'FailedScheduling'));
    expect(refused.message).toMatch(/untolerated taint/);
    expect((await c().kubeNode()).spec?.taints?.map((t) => t.key)).toEqual([TAINT_KEY]);
    expect((await c().kubectlJson<KubePod>(['get', 'pod', 'extra', '-n', 'default'])).status.phase).toBe('Pending');
  }, 400_000);

  it('releases the addresses of deleted pods and lifts the taint', async () => {
    await c().kubectl(['delete', 'pod', 'extra', '-n', 'default', '--ignore-not-found', '--grace-period=0', '--force']);
    await c().kubectl(['scale', 'deployment', 'web', '-n', 'default', '--replicas=0']);
    await c().waitFor('no web pods', async () => ((await c().webPods()).length === 0 ? true : undefined), 120_000);
    await c().waitFor('the NativeipNode with no address assigned', async () => {
      const object = await c().kubectlJson<{ status?: { addresses?: { assigned: number } } }>(['get', 'nativeipnode', NODE]);
      return object.status?.addresses?.assigned === 0 ? true : undefined;
    });
    const served = await c().waitFor('the taint lifted', async () => {
      const n = await c().kubeNode();
      return ourTaint(n) === undefined ? n : undefined;
    });
    expect(ourCondition(served)).toMatchObject({ status: 'True' });
  }, 300_000);
});
