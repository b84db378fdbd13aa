/**
 * The pods `nativeip trace record` watches: every pod bound to a node (field selector
 * `spec.nodeName!=`, or `spec.nodeName=<node>` for one node), and with a label filter the
 * matching Nodes, each through a {@link ResilientWatch} that relists after any break. Turns the
 * API objects into the recorder's plain observations; no client-node type leaves this file.
 */
import { ApiException, CoreV1Api, type KubeConfig, type V1Node, type V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { NodeFilter, PodObservation, PodSource, PodSourceEvents } from '../cli/trace-recorder.js';
import { loadKubeConfig, type KubeEndpoint } from './kube-config.js';
import { ResilientWatch } from './resilient-watch.js';

export interface PodTraceWatchOptions {
  readonly endpoint: KubeEndpoint;
  readonly nodes: NodeFilter;
  readonly logger: Logger;
  /** Relist this often even without a break. Default 10 minutes. */
  readonly resyncMs?: number;
}

const DEFAULT_RESYNC_MS = 10 * 60_000;

export class PodTraceWatch implements PodSource {
  readonly description: string;
  readonly #options: PodTraceWatchOptions;
  readonly #kubeConfig: KubeConfig;
  readonly #core: CoreV1Api;
  readonly #podSelector: string;
  #podWatch: ResilientWatch<V1Pod> | undefined;
  #nodeWatch: ResilientWatch<V1Node> | undefined;

  /** Reads the kubeconfig (throws naming the file or what is missing); connects to nothing. */
  constructor(options: PodTraceWatchOptions) {
    this.#options = options;
    this.#kubeConfig = loadKubeConfig(options.endpoint);
    const server = this.#kubeConfig.getCurrentCluster()?.server;
    if (server === undefined) {
      const where = options.endpoint.kind === 'kubeconfig' ? options.endpoint.path : 'the in-cluster configuration';
      throw new Error(`${where} has no current context with a cluster`);
    }
    const how = options.endpoint.kind === 'kubeconfig' ? `kubeconfig ${options.endpoint.path}` : 'in-cluster service account';
    this.description = `${server} (${how})`;
    this.#core = this.#kubeConfig.makeApiClient(CoreV1Api);
    const nodes = options.nodes;
    this.#podSelector = nodes.kind === 'names' && nodes.names.length === 1 ? `spec.nodeName=${nodes.names[0]}` : 'spec.nodeName!=';
  }

  async check(): Promise<void> {
    try {
      await this.#core.listPodForAllNamespaces({ fieldSelector: this.#podSelector, limit: 1 });
    } catch (error) {
      throw new Error(`cannot list pods on ${this.description}: ${describeApiError(error)}`, { cause: error });
    }
    const { nodes } = this.#options;
    if (nodes.kind !== 'labels') return;
    try {
      await this.#core.listNode({ labelSelector: nodes.selector, limit: 1 });
    } catch (error) {
      throw new Error(`cannot list nodes matching ${JSON.stringify(nodes.selector)} on ${this.description}: ${describeApiError(error)}`, { cause: error });
    }
  }

  start(events: PodSourceEvents): void {
    if (this.#podWatch !== undefined) throw new Error('PodTraceWatch.start() called twice');
    const { logger, nodes } = this.#options;
    const resyncMs = this.#options.resyncMs ?? DEFAULT_RESYNC_MS;
    const synced = () => events.synced(this.#podWatch?.synced === true && (this.#nodeWatch === undefined || this.#nodeWatch.synced));
    const fieldSelector = this.#podSelector;
    this.#podWatch = new ResilientWatch<V1Pod>({
      kubeConfig: this.#kubeConfig,
      path: '/api/v1/pods',
      fieldSelector,
      list: () => this.#core.listPodForAllNamespaces({ fieldSelector }),
      logger,
      resyncMs,
      onUpsert: (pod) => events.pod(observe(pod)),
      onDelete: (pod) => events.podGone(observe(pod)),
      onSyncChange: synced,
    });
    if (nodes.kind === 'labels') {
      const labelSelector = nodes.selector;
      this.#nodeWatch = new ResilientWatch<V1Node>({
        kubeConfig: this.#kubeConfig,
        path: '/api/v1/nodes',
        fieldSelector: '',
        labelSelector,
        list: () => this.#core.listNode({ labelSelector }),
        logger,
        resyncMs,
        onUpsert: (node) => events.node(node.metadata?.name ?? ''),
        // A node that stops matching (or goes away) stays recorded: its pods' deletions still count.
        onDelete: () => undefined,
        onSyncChange: synced,
      });
      this.#nodeWatch.start();
    }
    this.#podWatch.start();
  }

  pods(): readonly PodObservation[] {
    return this.#podWatch === undefined ? [] : [...this.#podWatch.objects()].map(observe);
  }

  async close(): Promise<void> {
    await Promise.all([this.#podWatch?.close(), this.#nodeWatch?.close()]);
  }
}

function observe(pod: V1Pod): PodObservation {
  const namespace = pod.metadata?.namespace ?? '';
  const name = pod.metadata?.name ?? '';
  const phase = pod.status?.phase;
  return {
    uid: pod.metadata?.uid ?? `${namespace}/${name}`,
    pod: `${namespace}/${name}`,
    node: pod.spec?.nodeName ?? '',
    hostNetwork: pod.spec?.hostNetwork === true,
    terminal: phase === 'Succeeded' || phase === 'Failed',
  };
}

/** An API error as one line: the status and the server's message, or the transport's. */
function describeApiError(error: unknown): string {
  if (error instanceof ApiException) {
    const body: unknown = typeof error.body === 'string' ? parseJson(error.body) : error.body;
    const message = typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string' ? (body as { message: string }).message : undefined;
    return `HTTP ${error.code}${message === undefined ? '' : ` (${message})`}`;
  }
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
