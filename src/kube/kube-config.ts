/**
 * How the daemon reaches the API server: the pod's service account (in the DaemonSet) or a
 * kubeconfig file. The only place a KubeConfig is built.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { SERVICE_ACCOUNT_DIR } from './kube-config-paths.js';

export { SERVICE_ACCOUNT_DIR } from './kube-config-paths.js';

export type KubeEndpoint =
  | {
      readonly kind: 'in-cluster';
      /** `KUBERNETES_SERVICE_HOST` and `KUBERNETES_SERVICE_PORT`, which kubelet sets in every container. */
      readonly host: string;
      readonly port: string;
      /** Directory of `token` (re-read as kubelet rotates it) and `ca.crt`. Default {@link SERVICE_ACCOUNT_DIR}. */
      readonly serviceAccountDir?: string;
    }
  | { readonly kind: 'kubeconfig'; readonly path: string };

/** Builds the client configuration. Throws, naming what is missing, when it cannot. */
export function loadKubeConfig(endpoint: KubeEndpoint): KubeConfig {
  const kc = new KubeConfig();
  if (endpoint.kind === 'kubeconfig') {
    kc.loadFromFile(endpoint.path);
    return kc;
  }
  if (endpoint.host === '' || endpoint.port === '') {
    throw new Error('in-cluster Kubernetes access needs KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT (kubelet sets them in every container); set KUBECONFIG to use a kubeconfig instead');
  }
  const dir = endpoint.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
  kc.loadFromClusterAndUser(
    { name: 'in-cluster', server: `https://${host}:${endpoint.port}`, caFile: `${dir}/ca.crt`, skipTLSVerify: false },
    // The bound token expires; kubelet rewrites the file and the tokenFile provider re-reads it.
    { name: 'nativeip', authProvider: { name: 'tokenFile', config: { tokenFile: `${dir}/token` } } },
  );
  return kc;
}
