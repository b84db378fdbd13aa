/**
 * Whether and how the daemon reaches the Kubernetes API (`NATIVEIP_KUBERNETES`). Pure: the caller
 * says whether the service-account token exists and what the environment holds.
 */
import type { DaemonConfig } from './config.js';

export type KubernetesAccess =
  | { readonly kind: 'off'; readonly why: string }
  | { readonly kind: 'in-cluster'; readonly host: string; readonly port: string; readonly nodeName: string }
  | { readonly kind: 'kubeconfig'; readonly path: string; readonly nodeName: string };

export function chooseKubernetesAccess(
  config: Pick<DaemonConfig, 'kubernetes' | 'kubeconfig' | 'nodeName'>,
  facts: { readonly serviceAccountToken: boolean; readonly serviceHost: string | undefined; readonly servicePort: string | undefined; readonly hostname: string },
): KubernetesAccess {
  if (config.kubernetes === 'off') return { kind: 'off', why: 'NATIVEIP_KUBERNETES=off' };
  if (config.kubernetes === 'auto' && !facts.serviceAccountToken) {
    return { kind: 'off', why: 'NATIVEIP_KUBERNETES=auto and no service-account token is mounted (not running in a pod)' };
  }
  // kubelet's own default node name is the host name, lower-cased.
  const nodeName = config.nodeName ?? facts.hostname.toLowerCase();
  if (config.kubernetes === 'on' && config.kubeconfig !== undefined) return { kind: 'kubeconfig', path: config.kubeconfig, nodeName };
  return { kind: 'in-cluster', host: facts.serviceHost ?? '', port: facts.servicePort ?? '', nodeName };
}
