/**
 * Switching a node from aws-node to nativeip with a real kubelet, containerd and API server
 * (README "Switching from aws-node"). aws-node cannot run without EC2, so what it leaves is made
 * as it makes it: its EC2 objects and ENI host side (test/support/aws-node-footprint.ts), its
 * `10-aws.conflist`, and a plugin that sets pods up its way (test/support/kube/fake-aws-cni.py),
 * through which kubelet starts a Deployment's pods. Then the nativeip DaemonSet is applied.
 *
 * Shown: nativeip's conflist sorts first, so kubelet's new pods go through nativeip and get other
 * addresses while the old pods keep theirs and reach the new ones; deleting the old pods sends
 * their DELs through nativeip, which removes aws-node's veths and rules; their addresses then
 * serve new pods; the ENI aws-node leaked is deleted, the one it attached adopted and kept.
 * Needs root.
 */
import { chmod, copyFile, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostVethName } from '../../src/ipamd/datapath/veth-name.js';
import { runCommand } from '../support/kube/process.js';
import { BUSYBOX, NativeipCluster, type KubePod } from '../support/kube/nativeip-cluster.js';
import { ENI1_TABLE, leaveAwsNodeFootprint, type AwsNodeFootprint } from '../support/aws-node-footprint.js';

const NODE = 'node1';
/** t3.small: 3 ENIs × (4 − 1) secondary addresses. */
const ADDRESSES = 9;

let cluster: NativeipCluster | undefined;
let footprint: AwsNodeFootprint | undefined;
let legacy: KubePod[] = [];
const c = () => cluster!;
const nodeNetns = () => basename(c().nodeNetnsPath);
const inNode = async (...args: string[]) => runCommand('ip', ['-n', nodeNetns(), ...args]);

beforeAll(async () => {
  cluster = await NativeipCluster.start({
    prefix: 'nipw-',
    nodeName: NODE,
    instanceType: 't3.small',
    daemonEnv: { IP_COOLDOWN_PERIOD: '1', NATIVEIP_ENI_GC_INTERVAL: '2', CLUSTER_NAME: 'nativeip-kube-test' },
    deferDaemonSet: true,
  });
  footprint = await leaveAwsNodeFootprint(c().emulator!, c().instanceId, nodeNetns(), { clusterName: 'nativeip-kube-test', whenSynced: () => c().fabric!.whenSynced() });
  // aws-node's plugin and conflist, handing out two addresses of each ENI.
  await copyFile(join(import.meta.dirname, '../support/kube/fake-aws-cni.py'), join(c().cniBinDir, 'aws-cni'));
  await chmod(join(c().cniBinDir, 'aws-cni'), 0o755);
  const addresses = [
    { ip: footprint.primarySecondaries[0]!, table: null },
    { ip: footprint.attachedSecondaries[0]!, table: ENI1_TABLE },
    { ip: footprint.primarySecondaries[1]!, table: null },
    { ip: footprint.attachedSecondaries[1]!, table: ENI1_TABLE },
  ];
  const conflist = { cniVersion: '0.4.0', name: 'aws-cni', plugins: [{ type: 'aws-cni', nodeNetns: nodeNetns(), stateFile: join(c().dir, 'aws-cni-state.json'), addresses }] };
  await writeFile(join(c().cniConfDir, '10-aws.conflist'), JSON.stringify(conflist));
}, 600_000);

afterAll(async () => {
  footprint?.ec2.destroy();
  await cluster?.close();
}, 300_000);

/** aws-node's DaemonSet as the vpc-cni manifests shape it (label, host network, one affinity term), running a stand-in that sleeps. */
function awsNodeDaemonSet() {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'aws-node', namespace: 'kube-system', labels: { 'k8s-app': 'aws-node' } },
    spec: {
      selector: { matchLabels: { 'k8s-app': 'aws-node' } },
      template: {
        metadata: { labels: { 'k8s-app': 'aws-node' } },
        spec: {
          hostNetwork: true,
          terminationGracePeriodSeconds: 1,
          tolerations: [{ operator: 'Exists' }],
          affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: ['linux'] }] }] } } },
          containers: [{ name: 'aws-node', image: BUSYBOX, imagePullPolicy: 'Never', command: ['sleep', '3600'] }],
        },
      },
    },
  };
}

const podsIn = async (selector: string) => (await c().kubectlJson<{ items: KubePod[] }>(['get', 'pods', '-n', 'kube-system', '-l', selector])).items;
const awsNodePods = () => podsIn('k8s-app=aws-node');
const nativeipPods = () => podsIn('app.kubernetes.io/name=nativeip');

describe('a node switched from aws-node, with a real kubelet', () => {
  it('runs pods through aws-node’s conflist before the switch', async () => {
    await c().node!.waitForNodeReady(120_000);
    await c().deploy('legacy', 2);
    legacy = await c().waitFor('2 legacy pods Running', async () => {
      const running = await c().runningPodsOf('legacy');
      return running.length === 2 ? running : undefined;
    }, 180_000);
    const handed = [footprint!.primarySecondaries[0], footprint!.attachedSecondaries[0]];
    expect(legacy.map((p) => p.status.podIP).sort()).toEqual([...handed].sort());
    await c().kubectl(['exec', '-n', 'default', legacy[0]!.metadata.name, '--', 'ping', '-c', '1', '-W', '3', c().fabric!.vpcHost.ip]);
    await c().kubectl(['exec', '-n', 'default', legacy[1]!.metadata.name, '--', 'ping', '-c', '1', '-W', '3', c().fabric!.vpcHost.ip]);
  }, 300_000);

  it('the README’s order: aws-node kept off the labelled node, its pod gone before nativeip’s starts on it', async () => {
    // aws-node's DaemonSet (its selector, its single affinity term), running a stand-in.
    await c().kubectl(['apply', '-f', '-'], JSON.stringify(awsNodeDaemonSet()));
    await c().waitFor('the aws-node pod Running', async () => ((await awsNodePods()).some((p) => p.status.phase === 'Running') ? true : undefined), 120_000);
    // Step 2: keep aws-node off labelled nodes; nativeip only on nodes labelled for it.
    await c().kubectl(['-n', 'kube-system', 'patch', 'daemonset', 'aws-node', '--type=json', '-p', JSON.stringify([{ op: 'add', path: '/spec/template/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms/0/matchExpressions/-', value: { key: 'nativeip.io/cni', operator: 'DoesNotExist' } }])]);
    await c().applyDaemonSet({ nodeSelector: { 'nativeip.io/cni': 'nativeip' } });
    // Step 3: cordon, label "switching": the DaemonSet controller takes aws-node's pod away, nativeip's does not start.
    await c().kubectl(['cordon', NODE]);
    await c().kubectl(['label', 'node', NODE, 'nativeip.io/cni=switching']);
    await c().kubectl(['-n', 'kube-system', 'wait', '--for=delete', 'pod', '-l', 'k8s-app=aws-node', '--field-selector', `spec.nodeName=${NODE}`, '--timeout=120s']);
    expect(await nativeipPods()).toEqual([]);
    // Step 4: label "nativeip": nativeip starts; once Ready, uncordon.
    await c().kubectl(['label', 'node', NODE, 'nativeip.io/cni=nativeip', '--overwrite']);
    await c().waitForDaemonReady();
    await c().kubectl(['uncordon', NODE]);
    expect(await awsNodePods()).toEqual([]);
  }, 400_000);

  it('after the switch, new pods go through nativeip (its conflist sorts first) and get other addresses; old and new reach each other', async () => {
    const conflist = JSON.parse(await readFile(join(c().cniConfDir, '05-nativeip.conflist'), 'utf8')) as { plugins: { type: string }[] };
    expect(conflist.plugins[0]?.type).toBe('nativeip-cni');
    await c().deployWeb(ADDRESSES - 2);
    const web = await c().waitFor(`${ADDRESSES - 2} web pods Running`, async () => {
      const running = await c().runningWebPods();
      return running.length === ADDRESSES - 2 ? running : undefined;
    }, 180_000);
    const legacyIps = legacy.map((p) => p.status.podIP!);
    const webIps = web.map((p) => p.status.podIP!);
    expect(new Set(webIps).size).toBe(webIps.length);
    for (const address of webIps) expect(legacyIps).not.toContain(address);
    expect(c().instanceAddresses()).toEqual(expect.arrayContaining(webIps));
    for (const old of legacyIps) await c().kubectl(['exec', '-n', 'default', web[0]!.metadata.name, '--', 'ping', '-c', '1', '-W', '3', old]);
    await c().kubectl(['exec', '-n', 'default', legacy[1]!.metadata.name, '--', 'ping', '-c', '1', '-W', '3', webIps[0]!]);
    const logs = await c().kubectl(['logs', '-n', 'kube-system', 'daemonset/nativeip', '-c', 'ipamd', '--tail=-1']);
    expect(logs).toContain('adopting an ENI the AWS VPC CNI made');
    expect(logs).toContain('10-aws.conflist');
  }, 400_000);

  it('deleting the old pods sends their DELs through nativeip: aws-node’s veths and rules go, and their addresses serve new pods', async () => {
    const legacyIps = legacy.map((p) => p.status.podIP!);
    const legacyVeths = legacy.map((p) => hostVethName('eni', { namespace: 'default', name: p.metadata.name }));
    expect((await inNode('-o', 'link', 'show')).includes(legacyVeths[0]!)).toBe(true);
    await c().kubectl(['delete', 'deployment', 'legacy', '-n', 'default', '--wait=true', '--timeout=120s']);
    await c().waitFor('the old pods gone', async () => ((await c().podsOf('legacy')).length === 0 ? true : undefined), 120_000);
    await c().waitFor('aws-node’s veths and rules removed', async () => {
      const links = await inNode('-o', 'link', 'show');
      const rules = await inNode('rule', 'show');
      const left = legacyIps.filter((address) => rules.includes(`${address} lookup`));
      return legacyVeths.every((veth) => !links.includes(veth)) && left.length === 0 ? true : undefined;
    });
    const logs = await c().kubectl(['logs', '-n', 'kube-system', 'daemonset/nativeip', '-c', 'ipamd', '--tail=-1']);
    expect(logs).toContain('released an address held for a pod the checkpoint had lost');
    await c().deployWeb(ADDRESSES);
    const web = await c().waitFor(`${ADDRESSES} web pods Running`, async () => {
      const running = await c().runningWebPods();
      return running.length === ADDRESSES ? running : undefined;
    }, 180_000);
    expect(web.map((p) => p.status.podIP)).toEqual(expect.arrayContaining(legacyIps));
  }, 400_000);

  it('the ENI aws-node leaked is deleted; the one it attached is adopted and kept', async () => {
    const topology = () => c().emulator!.topology();
    await c().waitFor('the leaked ENI deleted', async () => (topology().detachedInterfaces.some((d) => d.eniId === footprint!.leakedEni) ? undefined : true));
    const attached = topology().instances.find((i) => i.instanceId === c().instanceId)!.interfaces.map((i) => i.eniId);
    expect(attached).toContain(footprint!.attachedEni);
  });
});
