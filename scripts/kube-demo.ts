// The Kubernetes demo (`sudo bash scripts/demo.sh --kubernetes`): nativeip installed with
// `kubectl apply -f manifests/` on a real local cluster (etcd, kube-apiserver, controller-manager,
// scheduler, kubelet with containerd and runc, all on loopback) whose one node is an emulated EC2
// t3.small, the DaemonSet running the image this project builds. Shows what an operator sees:
// `kubectl get nativeipnodes`, pods with VPC addresses, the node tainted when it runs out of
// addresses and untainted after. Exits 0 only if every check passed. Root only.
//   node scripts/run-ts.mjs scripts/kube-demo.ts
import { CONDITION_TYPE, TAINT_KEY } from '../src/kube/names.js';
import { BUSYBOX, ECHO_PORT, NativeipCluster, type KubeNodeObject } from '../test/support/kube/nativeip-cluster.js';

const NODE = 'demo-node1';
/** t3.small: 3 ENIs × (4 − 1) secondary addresses. */
const ADDRESSES = 9;
let failures = 0;

function step(title: string): void {
  console.log(`\n== ${title}`);
}

function check(ok: boolean, what: string): void {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures += 1;
}

const ourTaint = (n: KubeNodeObject) => n.spec?.taints?.find((t) => t.key === TAINT_KEY);

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the Kubernetes demo needs root (network namespaces, containerd, kubelet)');
  step('starting a local cluster (first run: the Kubernetes binaries were built by scripts/setup.sh)');
  const cluster = await NativeipCluster.start({ prefix: 'nipd-', nodeName: NODE, instanceType: 't3.small', daemonEnv: { IP_COOLDOWN_PERIOD: '5' }, log: (line) => console.log(`   ${line}`) });
  const show = async (args: string[]) => console.log((await cluster.kubectl(args)).trimEnd());
  try {
    step('the DaemonSet: install-cni, then nativeip-ipamd writes the conflist once it can serve');
    await cluster.waitForDaemonReady();
    await cluster.node!.waitForNodeReady(120_000);
    await show(['get', 'pods', '-n', 'kube-system', '-o', 'wide']);
    await show(['get', 'nodes', '-o', 'wide']);
    await cluster.waitFor('the NativeipNode', async () => ((await cluster.kubectl(['get', 'nativeipnodes'])).includes(NODE) ? true : undefined));
    await show(['get', 'nativeipnodes']);

    step('a Deployment of 3 pods: VPC addresses from the emulated EC2');
    await cluster.deployWeb(3);
    const pods = await cluster.waitFor('3 pods Running', async () => {
      const running = await cluster.runningWebPods();
      return running.length === 3 ? running : undefined;
    });
    await show(['get', 'pods', '-o', 'wide']);
    const owned = cluster.instanceAddresses();
    check(pods.every((p) => owned.includes(p.status.podIP!)), 'every pod address is a secondary address EC2 assigned to the instance');
    const [a, b] = pods;
    const vpcHost = cluster.fabric!.vpcHost.ip;
    const ping = async (pod: string, ip: string) => cluster.kubectl(['exec', pod, '--', 'ping', '-c', '1', '-W', '3', ip]).then(() => true, () => false);
    check(await ping(a!.metadata.name, b!.status.podIP!), `pod → pod: ${a!.metadata.name} pings ${b!.status.podIP}`);
    check(await ping(a!.metadata.name, vpcHost), `pod → VPC host: ${a!.metadata.name} pings ${vpcHost}`);
    const echoed = await cluster.kubectl(['exec', b!.metadata.name, '--', 'sh', '-c', `echo nativeip | nc -w 3 ${vpcHost} ${ECHO_PORT}`]).catch(() => '');
    check(echoed.includes('nativeip'), `pod → VPC host over TCP: ${b!.metadata.name} gets its echo from ${vpcHost}:${ECHO_PORT}`);

    step(`scaling to ${ADDRESSES + 1}: one more pod than the instance has addresses`);
    await cluster.kubectl(['scale', 'deployment', 'web', `--replicas=${ADDRESSES + 1}`]);
    await cluster.waitFor(`${ADDRESSES} pods Running`, async () => ((await cluster.runningWebPods()).length === ADDRESSES ? true : undefined), 180_000);
    const tainted = await cluster.waitFor('the taint', async () => {
      const n = await cluster.kubeNode();
      return ourTaint(n) !== undefined ? n : undefined;
    });
    check(ourTaint(tainted)?.value === 'InterfaceLimit', `node tainted ${TAINT_KEY}=InterfaceLimit:NoSchedule`);
    const condition = tainted.status?.conditions?.find((c) => c.type === CONDITION_TYPE);
    console.log(`   condition ${CONDITION_TYPE}=${condition?.status} (${condition?.reason}): ${condition?.message}`);
    await cluster.waitFor('the NativeipNode blocked', async () => ((await cluster.kubectl(['get', 'nativeipnodes'])).includes('InterfaceLimit') ? true : undefined));
    await show(['get', 'nativeipnodes']);
    await cluster.kubectl(['run', 'extra', `--image=${BUSYBOX}`, '--image-pull-policy=Never', '--restart=Never', '--', 'sleep', '3600']);
    const refused = await cluster.waitFor('the scheduler to refuse the extra pod', async () => {
      const events = await cluster.kubectlJson<{ items: { reason: string; message: string }[] }>(['get', 'events', '--field-selector', 'involvedObject.name=extra']);
      return events.items.find((e) => e.reason === 'FailedScheduling');
    });
    check(refused.message.includes('untolerated taint'), `a new pod stays Pending: ${refused.message.split('.')[0]}`);
    await show(['get', 'events', '--field-selector', 'reason=NoAddressAvailable']);

    step('deleting the pods: addresses released, taint lifted');
    await cluster.kubectl(['delete', 'pod', 'extra', '--grace-period=0', '--force']).catch(() => undefined);
    await cluster.kubectl(['scale', 'deployment', 'web', '--replicas=0']);
    await cluster.waitFor('no pods', async () => ((await cluster.webPods()).length === 0 ? true : undefined), 120_000);
    const served = await cluster.waitFor('the taint lifted', async () => {
      const n = await cluster.kubeNode();
      return ourTaint(n) === undefined ? n : undefined;
    });
    check(ourTaint(served) === undefined, 'node untainted');
    await cluster.waitFor('the NativeipNode empty', async () => {
      const object = await cluster.kubectlJson<{ status?: { addresses?: { assigned: number } } }>(['get', 'nativeipnode', NODE]);
      return object.status?.addresses?.assigned === 0 ? true : undefined;
    });
    await show(['get', 'nativeipnodes']);
  } catch (error) {
    console.error(`\n${(error as Error).message}`);
    failures += 1;
  } finally {
    step('stopping the cluster and restoring the host');
    await cluster.close();
  }
  console.log(failures === 0 ? '\nevery check passed' : `\n${failures} check(s) failed`);
  process.exitCode = failures === 0 ? 0 : 1;
}

await main();
