/**
 * The Kubernetes room's one door: the daemon asks for a {@link ClusterPort} and gets one backed
 * by @kubernetes/client-node, whose types never leave src/kube.
 */
import type { Logger } from 'pino';
import type { ClusterPort } from '../ipamd/cluster/cluster-port.js';
import { loadKubeConfig, type KubeEndpoint } from './kube-config.js';
import { KubernetesCluster } from './kubernetes-cluster.js';

export { SERVICE_ACCOUNT_DIR, type KubeEndpoint } from './kube-config.js';

export function connectKubernetes(options: { endpoint: KubeEndpoint; nodeName: string; logger: Logger }): ClusterPort {
  return new KubernetesCluster({ kubeConfig: loadKubeConfig(options.endpoint), nodeName: options.nodeName, logger: options.logger });
}
export { PodTraceWatch, type PodTraceWatchOptions } from './pod-trace-watch.js';
