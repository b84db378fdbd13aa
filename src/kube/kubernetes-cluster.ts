/**
 * The daemon's {@link ClusterPort} on a real API server: watches of its own Node and of the pods
 * on it (field selectors; never a list of every pod in the cluster), the Node condition and
 * taint, the NativeipNode status and Warning Events. No client-node type leaves this folder.
 */
import { ApiException, CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Node, type V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { isExhaustionReason, type NodeAvailability } from '../core/node-availability.js';
import type { ClusterEvents, ClusterNode, ClusterPod, ClusterPort, NativeipNodeStatus, PodWarning } from '../ipamd/cluster/cluster-port.js';
import { FIELD_MANAGER, NATIVEIP_NODE, REPORTING_COMPONENT, TAINT_KEY } from './names.js';
import { conditionPatch, taintPatch } from './node-patches.js';
import { ResilientWatch } from './resilient-watch.js';

export interface KubernetesClusterOptions {
  readonly kubeConfig: KubeConfig;
  readonly nodeName: string;
  readonly logger: Logger;
  /** Relist the Node and the pods this often even when the watches hold. Default 10 minutes. */
  readonly resyncMs?: number;
}

const DEFAULT_RESYNC_MS = 10 * 60_000;
/** A taint patch whose resourceVersion guard failed is retried with the Node read afresh, this many times. */
const TAINT_ATTEMPTS = 4;

export class KubernetesCluster implements ClusterPort {
  readonly nodeName: string;
  readonly #options: KubernetesClusterOptions;
  readonly #core: CoreV1Api;
  readonly #custom: CustomObjectsApi;
  readonly #nodeWatch: ResilientWatch<V1Node>;
  readonly #podWatch: ResilientWatch<V1Pod>;
  #events: ClusterEvents | undefined;

  constructor(options: KubernetesClusterOptions) {
    this.#options = options;
    this.nodeName = options.nodeName;
    const { kubeConfig, nodeName, logger } = options;
    this.#core = kubeConfig.makeApiClient(CoreV1Api);
    this.#custom = kubeConfig.makeApiClient(CustomObjectsApi);
    const resyncMs = options.resyncMs ?? DEFAULT_RESYNC_MS;
    const changed = () => this.#events?.changed();
    const nodeSelector = `metadata.name=${nodeName}`;
    this.#nodeWatch = new ResilientWatch<V1Node>({
      kubeConfig,
      path: '/api/v1/nodes',
      fieldSelector: nodeSelector,
      list: () => this.#core.listNode({ fieldSelector: nodeSelector }),
      logger,
      resyncMs,
      onUpsert: changed,
      onDelete: changed,
      onSyncChange: changed,
    });
    const podSelector = `spec.nodeName=${nodeName}`;
    this.#podWatch = new ResilientWatch<V1Pod>({
      kubeConfig,
      path: '/api/v1/pods',
      fieldSelector: podSelector,
      list: () => this.#core.listPodForAllNamespaces({ fieldSelector: podSelector }),
      logger,
      resyncMs,
      onUpsert: (pod) => {
        if (isTerminal(pod)) this.#events?.podGone(podRef(pod));
        changed();
      },
      onDelete: (pod) => {
        this.#events?.podGone(podRef(pod));
        changed();
      },
      onSyncChange: changed,
    });
  }

  start(events: ClusterEvents): void {
    this.#events = events;
    this.#nodeWatch.start();
    this.#podWatch.start();
  }

  async close(): Promise<void> {
    await Promise.all([this.#nodeWatch.close(), this.#podWatch.close()]);
  }

  synced(): boolean {
    return this.#nodeWatch.synced && this.#podWatch.synced;
  }

  node(): ClusterNode | undefined {
    const node = this.#cachedNode();
    if (node === undefined) return undefined;
    const pods = node.status?.capacity?.['pods'];
    const capacityPods = pods === undefined ? undefined : Number.parseInt(pods, 10);
    const taint = node.spec?.taints?.find((t) => t.key === TAINT_KEY)?.value;
    return {
      name: this.nodeName,
      uid: node.metadata?.uid ?? '',
      capacityPods: Number.isFinite(capacityPods) ? capacityPods : undefined,
      ...(taint !== undefined && isExhaustionReason(taint) ? { taint } : {}),
    };
  }

  pods(): readonly ClusterPod[] {
    return [...this.#podWatch.objects()].map((pod) => ({
      ...podRef(pod),
      hostNetwork: pod.spec?.hostNetwork === true,
      podIps: (pod.status?.podIPs ?? []).map((p) => p.ip),
      terminal: isTerminal(pod),
      deleting: pod.metadata?.deletionTimestamp !== undefined,
    }));
  }

  async writeAvailability(availability: NodeAvailability): Promise<void> {
    const now = new Date();
    const status = conditionPatch(this.#cachedNode(), availability, now);
    // The status write moves the resourceVersion: the taint patch starts from the Node it returned.
    let node =
      status === undefined
        ? (this.#cachedNode() ?? (await this.#core.readNode({ name: this.nodeName })))
        : await this.#core.patchNodeStatus({ name: this.nodeName, body: status, fieldManager: FIELD_MANAGER }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch));
    for (let attempt = 1; ; attempt += 1) {
      const ops = taintPatch(node, availability);
      if (ops === undefined) return;
      try {
        await this.#core.patchNode({ name: this.nodeName, body: ops, fieldManager: FIELD_MANAGER }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch));
        return;
      } catch (error) {
        // 409/422: the Node changed since it was read (the resourceVersion test failed); read it again.
        const stale = error instanceof ApiException && (error.code === 409 || error.code === 422);
        if (!stale || attempt >= TAINT_ATTEMPTS) throw error;
        node = await this.#core.readNode({ name: this.nodeName });
      }
    }
  }

  async writeNodeStatus(status: NativeipNodeStatus): Promise<void> {
    const { group, version, plural } = NATIVEIP_NODE;
    // The whole status replaced (a JSON patch), so a field that went away goes away (a merge patch keeps it).
    const patch = () =>
      this.#custom.patchClusterCustomObjectStatus(
        { group, version, plural, name: this.nodeName, body: [{ op: 'add', path: '/status', value: status }], fieldManager: FIELD_MANAGER },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      );
    try {
      await patch();
    } catch (error) {
      if (!(error instanceof ApiException) || error.code !== 404) throw error;
      await this.#createNativeipNode();
      await patch();
    }
  }

  async writePodWarning(warning: PodWarning, existing: string | undefined): Promise<string> {
    const times = { firstTimestamp: warning.firstTime, lastTimestamp: warning.lastTime };
    if (existing !== undefined) {
      try {
        await this.#core.patchNamespacedEvent(
          { name: existing, namespace: warning.namespace, body: { count: warning.count, message: warning.message, lastTimestamp: warning.lastTime }, fieldManager: FIELD_MANAGER },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
        return existing;
      } catch (error) {
        // Events expire (an hour by default): write a new one.
        if (!(error instanceof ApiException) || error.code !== 404) throw error;
      }
    }
    const created = await this.#core.createNamespacedEvent({
      namespace: warning.namespace,
      fieldManager: FIELD_MANAGER,
      body: {
        metadata: { generateName: `${warning.name}.`, namespace: warning.namespace },
        involvedObject: { apiVersion: 'v1', kind: 'Pod', namespace: warning.namespace, name: warning.name, ...(warning.uid === undefined ? {} : { uid: warning.uid }) },
        type: 'Warning',
        reason: warning.reason,
        message: warning.message,
        count: warning.count,
        ...times,
        source: { component: 'nativeip', host: this.nodeName },
        reportingComponent: REPORTING_COMPONENT,
        reportingInstance: this.nodeName,
      },
    });
    return created.metadata?.name ?? '';
  }

  #cachedNode(): V1Node | undefined {
    for (const node of this.#nodeWatch.objects()) if (node.metadata?.name === this.nodeName) return node;
    return undefined;
  }

  async #createNativeipNode(): Promise<void> {
    const { group, version, plural, kind } = NATIVEIP_NODE;
    const node = this.#cachedNode() ?? (await this.#core.readNode({ name: this.nodeName }));
    const uid = node.metadata?.uid;
    try {
      await this.#custom.createClusterCustomObject({
        group,
        version,
        plural,
        fieldManager: FIELD_MANAGER,
        body: {
          apiVersion: `${group}/${version}`,
          kind,
          metadata: {
            name: this.nodeName,
            // It goes with its Node: the garbage collector deletes it when the Node is deleted.
            ...(uid === undefined ? {} : { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: this.nodeName, uid }] }),
          },
          spec: {},
        },
      });
    } catch (error) {
      if (!(error instanceof ApiException) || error.code !== 409) throw error;
    }
  }
}

function podRef(pod: V1Pod): Pick<ClusterPod, 'namespace' | 'name' | 'uid'> {
  return { namespace: pod.metadata?.namespace ?? '', name: pod.metadata?.name ?? '', uid: pod.metadata?.uid ?? '' };
}

function isTerminal(pod: V1Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}
