/**
 * nativeip deployed as users deploy it, on one machine: the emulated EC2 and its fabric (one
 * instance, a network namespace behind a source-checking VPC router), a real control plane
 * (etcd, kube-apiserver, controller-manager, scheduler) and a real kubelet with containerd, then
 * `kubectl apply -f manifests/` with the image this project builds imported into containerd.
 * Used by test/kube/daemonset-kubelet.test.ts and the Kubernetes demo (scripts/kube-demo.ts).
 *
 * kubelet and containerd run in this machine's network namespace; the daemon treats the emulated
 * instance's namespace as the host (NATIVEIP_HOST_NETNS), so pod veths, routes and the instance's
 * ENIs are there and pod packets leave through the emulated VPC. The DaemonSet is manifests/' own,
 * with this machine's endpoints and directories patched in (no kube-proxy: the API server's
 * address is given directly).
 */
import { copyFile, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAwsEmulator, type AwsEmulator } from '../../../src/emulator/aws/index.js';
import { NetworkFabric } from '../../../src/emulator/fabric/index.js';
import { startEc2Fabric } from '../../../src/emulator/aws/fabric.js';
import { tcpEcho, type TcpEchoServer } from '../../../src/emulator/fabric/netns-exec.js';
import { ensureImageArchive } from '../image-archive.js';
import { REPO_ROOT } from '../repo-root.js';
import { waitFor } from '../wait-for.js';
import { LocalControlPlane } from './control-plane.js';
import { buildBusyboxImage } from './image.js';
import { KubeletNode } from './kubelet-node.js';
import { runCommand } from './process.js';
import { referenceCniBinDir } from './reference-cni.js';

export const BUSYBOX = 'nativeip.local/busybox:test';
export const ECHO_PORT = 7070;

export interface NativeipClusterOptions {
  /** Network namespace prefix of the fabric. */
  readonly prefix: string;
  readonly nodeName: string;
  readonly instanceType: string;
  /** Extra env for the DaemonSet's containers (e.g. IP_COOLDOWN_PERIOD). */
  readonly daemonEnv?: Readonly<Record<string, string>>;
  /** Progress lines (the demo prints them). */
  readonly log?: (line: string) => void;
  /** True: start stops before the DaemonSet is applied (call applyDaemonSet). Default false. */
  readonly deferDaemonSet?: boolean;
}

export interface KubePod {
  metadata: { name: string; labels?: Record<string, string> };
  status: { phase: string; podIP?: string; conditions?: { type: string; status: string }[] };
}

export interface KubeNodeObject {
  spec?: { taints?: { key: string; value?: string; effect: string }[] };
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

/** The parts of the DaemonSet the tests adapt. */
interface DaemonSetObject {
  spec: {
    template: {
      spec: {
        nodeSelector?: Record<string, string>;
        initContainers?: { command?: string[] }[];
        containers: { name: string; env?: { name: string; value?: string }[] }[];
        volumes: { name: string; hostPath?: { path: string } }[];
      };
    };
  };
}

export class NativeipCluster {
  readonly dir: string;
  readonly cniConfDir: string;
  readonly cniBinDir: string;
  readonly #options: NativeipClusterOptions;
  emulator: AwsEmulator | undefined;
  fabric: NetworkFabric | undefined;
  cp: LocalControlPlane | undefined;
  node: KubeletNode | undefined;
  instanceId = '';
  #imdsUrl = '';
  #echo: TcpEchoServer | undefined;
  #netnsBefore = new Set<string>();

  private constructor(dir: string, options: NativeipClusterOptions) {
    this.dir = dir;
    this.cniConfDir = join(dir, 'cni-conf');
    this.cniBinDir = join(dir, 'cni-bin');
    this.#options = options;
  }

  /** Everything up to the DaemonSet applied (not yet Ready). On failure, what started is stopped. */
  static async start(options: NativeipClusterOptions): Promise<NativeipCluster> {
    const cluster = new NativeipCluster(await mkdtemp(join(tmpdir(), 'nativeip-cluster-')), options);
    try {
      await cluster.#start();
    } catch (error) {
      await cluster.close();
      throw error;
    }
    return cluster;
  }

  async #start(): Promise<void> {
    const log = this.#options.log ?? (() => undefined);
    log('building the image (scripts/build-image.sh) if it is older than the build');
    const archive = await ensureImageArchive();
    await mkdir(this.cniConfDir);
    await mkdir(this.cniBinDir);
    // containerd needs the loopback plugin beside ours; the init container installs nativeip-cni.
    await copyFile(join(referenceCniBinDir(['loopback']), 'loopback'), join(this.cniBinDir, 'loopback'));
    this.#netnsBefore = new Set(await readdir('/var/run/netns').catch(() => []));

    log(`starting the emulated EC2 and one ${this.#options.instanceType} in its VPC fabric`);
    await NetworkFabric.cleanupStale(this.#options.prefix);
    this.emulator = await startAwsEmulator({ host: '127.0.0.1', port: 0 });
    this.fabric = await startEc2Fabric(this.emulator, { prefix: this.#options.prefix });
    const launched = await this.emulator.launchInstance({ instanceType: this.#options.instanceType });
    this.instanceId = launched.instanceId;
    this.#imdsUrl = launched.imdsUrl;
    await this.fabric.whenSynced();
    this.#echo = await tcpEcho(this.fabric.vpcHost.netns, this.fabric.vpcHost.ip, ECHO_PORT, { lifetimeMs: 3_600_000 });

    log('starting etcd, kube-apiserver, kube-controller-manager and kube-scheduler on 127.0.0.1');
    this.cp = new LocalControlPlane({ controllerManager: true, scheduler: true });
    await this.cp.start();
    log(`starting containerd and kubelet as node ${this.#options.nodeName}`);
    // Pod network namespaces in /var/run/netns, as containerd keeps them on a real node.
    this.node = new KubeletNode({ controlPlane: this.cp, nodeName: this.#options.nodeName, cniBinDir: this.cniBinDir, cniConfDir: this.cniConfDir, podNetnsDir: 'host' });
    await this.node.start();
    await this.node.importImage(archive);
    await this.node.importImage(await buildBusyboxImage(this.dir, BUSYBOX));

    if (this.#options.deferDaemonSet !== true) await this.applyDaemonSet();
  }

  /**
   * `kubectl apply` of manifests/, the DaemonSet pointed at this machine's emulated cloud, API server
   * and directories before it is applied (so no pod of an unadapted DaemonSet ever starts), and
   * given `nodeSelector` when set. Not yet Ready.
   */
  async applyDaemonSet(options: { readonly nodeSelector?: Readonly<Record<string, string>> } = {}): Promise<void> {
    this.#options.log?.('kubectl apply --server-side -f manifests/ (the DaemonSet pointed at the emulated cloud)');
    // One JSON document per object (a List where a file holds several), one after the other.
    const output = await this.kubectl(['create', '--dry-run=client', '-o', 'json', '-f', join(REPO_ROOT, 'manifests')]);
    type Rendered = { kind: string; metadata: { name: string }; items?: Rendered[] };
    const items = output
      .split(/\n(?=\{)/)
      .map((text) => JSON.parse(text) as Rendered)
      .flatMap((doc) => (doc.kind === 'List' ? (doc.items ?? []) : [doc]));
    const rendered = { apiVersion: 'v1', kind: 'List', items };
    const ds = items.find((item) => item.kind === 'DaemonSet' && item.metadata.name === 'nativeip') as unknown as DaemonSetObject | undefined;
    if (ds === undefined) throw new Error('manifests/ has no DaemonSet nativeip');
    this.#adaptDaemonSet(ds, this.#imdsUrl, this.nodeNetnsPath);
    if (options.nodeSelector !== undefined) ds.spec.template.spec.nodeSelector = { ...options.nodeSelector };
    await this.kubectl(['apply', '--server-side', '-f', '-'], JSON.stringify(rendered));
  }

  /** The emulated instance's network namespace, which the DaemonSet treats as the host's. */
  get nodeNetnsPath(): string {
    return this.fabric!.nodeNetnsPath(this.instanceId);
  }

  /** The DaemonSet from manifests/, pointed at this machine's emulated cloud, API server and directories. */
  #adaptDaemonSet(ds: DaemonSetObject, imdsUrl: string, netnsPath: string): void {
    const podSpec = ds.spec.template.spec;
    const server = new URL(this.cp!.server);
    const env: Record<string, string> = {
      NATIVEIP_CLOUD: 'aws',
      AWS_ENDPOINT_URL_EC2: this.emulator!.ec2Url,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: imdsUrl,
      AWS_REGION: this.emulator!.region,
      AWS_ACCESS_KEY_ID: 'emulated',
      AWS_SECRET_ACCESS_KEY: 'emulated',
      NATIVEIP_HOST_NETNS: netnsPath,
      KUBERNETES_SERVICE_HOST: server.hostname,
      KUBERNETES_SERVICE_PORT: server.port,
      ...this.#options.daemonEnv,
    };
    for (const container of podSpec.containers) {
      const kept = (container.env ?? []).filter((e) => !(e.name in env));
      container.env = [...kept, ...Object.entries(env).map(([name, value]) => ({ name, value }))];
    }
    // The test's node is this machine: its sysctls are not the test's to change.
    for (const init of podSpec.initContainers ?? []) if (init.command !== undefined) init.command = init.command.filter((arg) => arg !== '--rp-filter-loose');
    const hostPaths: Record<string, string> = { '/etc/cni/net.d': this.cniConfDir, '/opt/cni/bin': this.cniBinDir };
    for (const volume of podSpec.volumes) {
      const moved = volume.hostPath === undefined ? undefined : hostPaths[volume.hostPath.path];
      if (moved !== undefined) volume.hostPath!.path = moved;
    }
  }

  kubectl(args: readonly string[], input?: string): Promise<string> {
    return this.cp!.kubectl(args, input === undefined ? {} : { input });
  }

  kubectlJson<T>(args: readonly string[]): Promise<T> {
    return this.cp!.kubectlJson<T>(args);
  }

  /** Polls `probe` until it returns a value; on timeout throws with the pods, events, daemon log and kubelet log. */
  waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
    return waitFor(what, probe, { timeoutMs, intervalMs: 500, diagnostics: () => this.diagnostics() });
  }

  /** Pods, events, the daemon's log and kubelet's, for a failure message. */
  async diagnostics(): Promise<string> {
    const quiet = (p: Promise<string> | undefined) => (p ?? Promise.resolve('')).catch((e: unknown) => String(e));
    const pods = await quiet(this.cp?.kubectl(['get', 'pods', '-A', '-o', 'wide']));
    const events = await quiet(this.cp?.kubectl(['get', 'events', '-A', '-o', 'jsonpath={range .items[*]}{.reason}: {.message}{"\\n"}{end}']));
    const logs = await quiet(this.cp?.kubectl(['logs', '-n', 'kube-system', 'daemonset/nativeip', '--all-containers', '--tail=40']));
    return `pods:\n${pods}\nevents:\n${events}\nnativeip logs:\n${logs}\nkubelet:\n${this.node?.logTail('kubelet', 15) ?? ''}`;
  }

  /** The DaemonSet's pod once Ready. */
  waitForDaemonReady(timeoutMs = 180_000): Promise<KubePod> {
    return this.waitFor(
      'the nativeip pod Ready',
      async () => {
        const pods = await this.kubectlJson<{ items: KubePod[] }>(['get', 'pods', '-n', 'kube-system', '-l', 'app.kubernetes.io/name=nativeip']);
        return pods.items.find((p) => p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      },
      timeoutMs,
    );
  }

  /** Creates or scales the Deployment `web` (busybox sleeping) in namespace default. */
  deployWeb(replicas: number): Promise<void> {
    return this.deploy('web', replicas);
  }

  /** Creates or scales the Deployment `app` (busybox sleeping, label app=`app`) in namespace default. */
  async deploy(app: string, replicas: number): Promise<void> {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: app, namespace: 'default' },
      spec: {
        replicas,
        selector: { matchLabels: { app } },
        template: {
          metadata: { labels: { app } },
          spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'sh', image: BUSYBOX, imagePullPolicy: 'Never', command: ['sleep', '3600'] }] },
        },
      },
    };
    await this.kubectl(['apply', '-f', '-'], JSON.stringify(deployment));
  }

  webPods(): Promise<KubePod[]> {
    return this.podsOf('web');
  }

  runningWebPods(): Promise<KubePod[]> {
    return this.runningPodsOf('web');
  }

  async podsOf(app: string): Promise<KubePod[]> {
    return (await this.kubectlJson<{ items: KubePod[] }>(['get', 'pods', '-n', 'default', '-l', `app=${app}`])).items;
  }

  async runningPodsOf(app: string): Promise<KubePod[]> {
    return (await this.podsOf(app)).filter((p) => p.status.phase === 'Running' && p.status.podIP !== undefined);
  }

  kubeNode(): Promise<KubeNodeObject> {
    return this.kubectlJson<KubeNodeObject>(['get', 'node', this.#options.nodeName]);
  }

  /** Secondary addresses EC2 (the emulator) says the instance's ENIs hold. */
  instanceAddresses(): string[] {
    return this.emulator!.topology().instances.find((i) => i.instanceId === this.instanceId)?.interfaces.flatMap((i) => i.secondaryIps) ?? [];
  }

  /** Deletes the workloads and the DaemonSet, stops everything, restores the host. Idempotent. */
  async close(): Promise<void> {
    const cp = this.cp;
    await cp?.kubectl(['delete', 'deployment', '-n', 'default', '--all', '--wait=true', '--timeout=60s']).catch(() => undefined);
    await cp?.kubectl(['delete', 'pod', '-n', 'default', '--all', '--grace-period=0', '--force']).catch(() => undefined);
    await cp?.kubectl(['delete', 'daemonset', 'nativeip', '-n', 'kube-system', '--ignore-not-found', '--wait=true', '--timeout=60s']).catch(() => undefined);
    await this.node?.stop();
    await cp?.stop();
    await this.#echo?.close();
    await this.fabric?.close();
    await this.emulator?.close();
    this.node = undefined;
    this.cp = undefined;
    this.#echo = undefined;
    this.fabric = undefined;
    this.emulator = undefined;
    // The DaemonSet's /run/nativeip is the host's (the plugin on the host finds the socket there).
    await rm('/run/nativeip/checkpoint.json', { force: true });
    // Pod namespaces containerd left in /var/run/netns (a killed sandbox), never one that was there before.
    for (const name of await readdir('/var/run/netns').catch(() => [])) {
      if (name.startsWith('cni-') && !this.#netnsBefore.has(name)) await runCommand('ip', ['netns', 'delete', name]).catch(() => undefined);
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
