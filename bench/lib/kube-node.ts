/**
 * A real API server for a benchmark's daemon: etcd + kube-apiserver v1.35.4 on loopback
 * (test/support/kube LocalControlPlane), the manifests' CRD, RBAC and admission policy, one Node
 * with a pod capacity, the DaemonSet's host-network pod on it and a kubeconfig holding a token of
 * the `nativeip` ServiceAccount bound to that pod (as kubelet mounts it). Pods are API objects
 * bound to the Node (there is no scheduler or kubelet); the benchmark marks them Running with the
 * address the daemon gave, as kubelet would. There is no controller-manager: the `default`
 * ServiceAccounts are made here and pods are deleted with grace 0.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { LocalControlPlane } from '../../test/support/kube/control-plane.js';
import { REPO_ROOT } from './report.js';

export const DAEMON_USER = 'system:serviceaccount:kube-system:nativeip';
const MANIFESTS = ['00-crd.yaml', '10-rbac.yaml', '20-admission-policy.yaml'];

export interface KubeNodeOptions {
  readonly nodeName: string;
  /** The Node's status.capacity.pods (kubelet's max-pods). */
  readonly capacityPods: number;
  /** Namespaces the pods go in (each gets its `default` ServiceAccount). */
  readonly namespaces: readonly string[];
  /** Where the kubeconfig is written. */
  readonly workDir: string;
  readonly extraApiServerArgs?: readonly string[];
  /** Keep the control plane's directory (logs, data) after stop(). */
  readonly keepDir?: boolean;
}

export class KubeNode {
  readonly cp: LocalControlPlane;
  readonly nodeName: string;
  readonly kubeconfigPath: string;
  /** The DaemonSet pod on the node (host network), whose token the daemon uses. */
  readonly agentPod: string;
  #ca: Buffer | undefined;

  private constructor(cp: LocalControlPlane, options: KubeNodeOptions) {
    this.cp = cp;
    this.nodeName = options.nodeName;
    this.kubeconfigPath = join(options.workDir, 'nativeip.kubeconfig');
    this.agentPod = `nativeip-${options.nodeName}`;
  }

  /** Starts the control plane and sets the node up; stops it again if that fails. */
  static async start(options: KubeNodeOptions): Promise<KubeNode> {
    const cp = new LocalControlPlane({ ...(options.extraApiServerArgs === undefined ? {} : { extraApiServerArgs: options.extraApiServerArgs }), keepDir: options.keepDir === true });
    await cp.start();
    const node = new KubeNode(cp, options);
    try {
      await node.#setUp(options);
    } catch (error) {
      await cp.stop();
      throw error;
    }
    return node;
  }

  async #setUp(options: KubeNodeOptions): Promise<void> {
    const { cp, nodeName } = this;
    for (const file of MANIFESTS) await cp.kubectl(['apply', '--server-side', '-f', join(REPO_ROOT, 'manifests', file)]);
    for (const ns of options.namespaces) {
      if (ns !== 'default' && ns !== 'kube-system') await cp.kubectl(['create', 'namespace', ns]);
    }
    for (const ns of new Set(['default', 'kube-system', ...options.namespaces])) await cp.kubectl(['create', 'serviceaccount', 'default', '-n', ns]);
    const resources = { pods: String(options.capacityPods), cpu: '64', memory: '256Gi', 'ephemeral-storage': '100Gi' };
    await cp.kubectl(['create', '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: nodeName, labels: { 'kubernetes.io/hostname': nodeName, 'kubernetes.io/os': 'linux' } } }),
    });
    await cp.kubectl([
      'patch',
      'node',
      nodeName,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: { capacity: resources, allocatable: resources, addresses: [{ type: 'InternalIP', address: '10.0.0.10' }, { type: 'Hostname', address: nodeName }] } }),
    ]);
    await cp.kubectl(['create', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: this.agentPod, namespace: 'kube-system', labels: { 'app.kubernetes.io/name': 'nativeip' } },
        spec: { nodeName, hostNetwork: true, serviceAccountName: 'nativeip', containers: [{ name: 'nativeip-ipamd', image: 'localhost/nativeip:0.1.0' }] },
      }),
    });
    const token = (await cp.kubectl(['create', 'token', 'nativeip', '-n', 'kube-system', '--bound-object-kind', 'Pod', '--bound-object-name', this.agentPod, '--duration', '6h'])).trim();
    await cp.writeKubeconfig(this.kubeconfigPath, { token });
  }

  /** The daemon's environment to reach this API server as this node's agent. */
  daemonEnv(): Record<string, string> {
    return { NATIVEIP_KUBERNETES: 'on', KUBECONFIG: this.kubeconfigPath, MY_NODE_NAME: this.nodeName };
  }

  /** Creates pods bound to the node, in one request per 100 (a List through kubectl). */
  async createPods(namespace: string, names: readonly string[]): Promise<void> {
    for (let i = 0; i < names.length; i += 100) {
      const items = names.slice(i, i + 100).map((name) => podObject(namespace, name, this.nodeName));
      await this.cp.kubectl(['create', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }) });
    }
  }

  /** Marks a pod Running with its address, as kubelet's status update does after the sandbox started. */
  async podRunning(namespace: string, name: string, ip: string): Promise<void> {
    await this.api('PATCH', `/api/v1/namespaces/${namespace}/pods/${name}/status`, runningStatus(ip), 'application/merge-patch+json');
  }

  /**
   * The API side of deleting pods, in kubelet's order around `teardown` (the CNI DEL): a graceful
   * delete (deletionTimestamp set; there is no kubelet to finish it), `teardown`, the terminal
   * status kubelet writes once the pod's sandbox is gone (phase Failed, container terminated),
   * then the final delete with grace 0.
   */
  async deletePods(namespace: string, names: readonly string[], teardown: () => Promise<void> = async () => undefined): Promise<void> {
    if (names.length === 0) return;
    await this.cp.kubectl(['delete', 'pod', '-n', namespace, '--grace-period=30', '--wait=false', ...names]);
    await teardown();
    await Promise.all(names.map((name) => this.api('PATCH', `/api/v1/namespaces/${namespace}/pods/${name}/status`, terminatedStatus(), 'application/merge-patch+json')));
    await this.cp.kubectl(['delete', 'pod', '-n', namespace, '--grace-period=0', '--force', '--wait=false', ...names]);
  }

  /** One request as the admin; throws on a status ≥ 300. */
  api(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<unknown> {
    this.#ca ??= readFileSync(this.cp.caPath);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        `${this.cp.server}${path}`,
        {
          method,
          ca: this.#ca,
          headers: { authorization: `Bearer ${this.cp.adminToken}`, accept: 'application/json', ...(payload === undefined ? {} : { 'content-type': contentType }) },
          timeout: 30_000,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => {
            if ((res.statusCode ?? 0) >= 300) reject(new Error(`${method} ${path}: ${res.statusCode}: ${text.slice(0, 300)}`));
            else resolve(text === '' ? undefined : JSON.parse(text));
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  async stop(): Promise<void> {
    await this.cp.stop();
  }
}

/** A pod as a Deployment makes it (labels, owner, resources, probes), bound to `nodeName`. */
function podObject(namespace: string, name: string, nodeName: string): unknown {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace,
      labels: { app: 'bench', 'pod-template-hash': '5d8f7c9b6' },
      annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-12-01T00:00:00Z' },
    },
    spec: {
      nodeName,
      automountServiceAccountToken: false,
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      containers: [
        {
          name: 'app',
          image: 'registry.example/bench/app:1.0.0',
          ports: [{ containerPort: 8080, name: 'http', protocol: 'TCP' }],
          env: [{ name: 'LOG_LEVEL', value: 'info' }],
          resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } },
          readinessProbe: { httpGet: { path: '/ready', port: 8080 }, periodSeconds: 10 },
        },
      ],
    },
  };
}

/** What kubelet writes once the pod runs: phase, addresses, conditions, the container's status. */
function runningStatus(ip: string): unknown {
  const now = new Date().toISOString();
  const condition = (type: string) => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: now });
  return {
    status: {
      phase: 'Running',
      hostIP: '10.0.0.10',
      hostIPs: [{ ip: '10.0.0.10' }],
      podIP: ip,
      podIPs: [{ ip }],
      startTime: now,
      qosClass: 'Burstable',
      conditions: ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map(condition),
      containerStatuses: [
        {
          name: 'app',
          ready: true,
          started: true,
          restartCount: 0,
          image: 'registry.example/bench/app:1.0.0',
          imageID: `registry.example/bench/app@sha256:${'ab'.repeat(32)}`,
          containerID: `containerd://${'cd'.repeat(32)}`,
          state: { running: { startedAt: now } },
        },
      ],
    },
  };
}

/** What kubelet writes once a deleted pod's containers and sandbox are gone. */
function terminatedStatus(): unknown {
  const now = new Date().toISOString();
  return {
    status: {
      phase: 'Failed',
      conditions: [{ type: 'Ready', status: 'False', reason: 'PodCompleted', lastProbeTime: null, lastTransitionTime: now }],
      containerStatuses: [
        {
          name: 'app',
          ready: false,
          started: false,
          restartCount: 0,
          image: 'registry.example/bench/app:1.0.0',
          imageID: `registry.example/bench/app@sha256:${'ab'.repeat(32)}`,
          containerID: `containerd://${'cd'.repeat(32)}`,
          state: { terminated: { exitCode: 137, reason: 'Error', startedAt: now, finishedAt: now } },
        },
      ],
    },
  };
}
