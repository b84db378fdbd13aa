/**
 * The daemon's variables about the cluster around the node: the Kubernetes API, the node's name,
 * the Node taint, the CNI configuration file, and the health, metrics and introspection endpoints. Part of the table in
 * config-variables.ts (same shape, same README rows).
 */

import type { CommonConfig, KubernetesChoice } from './config.js';
import type { VariableSpec } from '../../core/config/config-variable.js';
import { absolutePath, boolean, hostPortOrOff, kubernetesNodeName, oneOf, type Parser } from '../../core/config/config-parsers.js';

const optional = <T>(parser: Parser<T>): Parser<T | undefined> => parser;
const KUBERNETES_CHOICES: readonly KubernetesChoice[] = ['auto', 'on', 'off'];

type ClusterField =
  | 'kubernetes'
  | 'kubeconfig'
  | 'nodeName'
  | 'taintExhaustedNodes'
  | 'cniConfDir'
  | 'healthAddress'
  | 'metricsAddress'
  | 'disableMetrics'
  | 'introspectionAddress'
  | 'disableIntrospection';

export const CLUSTER_CONFIG_SPECS: { readonly [K in ClusterField]: VariableSpec<CommonConfig, K> } = {
  kubernetes: {
    env: 'NATIVEIP_KUBERNETES',
    field: 'kubernetes',
    allowed: 'auto, on or off',
    default: 'auto',
    description:
      'Whether the daemon talks to the Kubernetes API (its own Node and the pods on it; the NativeipNode status; the Node ' +
      'condition and taint; Events). auto: on when the service-account files of a pod exist (in the DaemonSet), else off. ' +
      'on: in-cluster, or KUBECONFIG when set. ADD and DEL never wait for the API: an outage leaves the node serving.',
    parse: oneOf(KUBERNETES_CHOICES),
    fallback: 'auto',
  },
  kubeconfig: {
    env: 'KUBECONFIG',
    field: 'kubeconfig',
    allowed: 'an absolute path',
    default: 'unset (in-cluster service account)',
    description: 'A kubeconfig file to reach the API server with instead of the pod’s service account (a daemon run outside the cluster).',
    parse: optional(absolutePath()),
    fallback: undefined,
  },
  nodeName: {
    env: 'MY_NODE_NAME',
    field: 'nodeName',
    allowed: 'a Kubernetes node name (lower-case DNS subdomain, at most 253 characters)',
    default: 'unset (the host name, as kubelet defaults)',
    description: 'The Node this daemon runs on; the DaemonSet sets it from spec.nodeName (the AWS VPC CNI’s name).',
    parse: optional(kubernetesNodeName),
    fallback: undefined,
  },
  taintExhaustedNodes: {
    env: 'NATIVEIP_TAINT_EXHAUSTED_NODES',
    field: 'taintExhaustedNodes',
    allowed: 'true or false (any letter case), or 1 or 0',
    default: 'true',
    description:
      'With the Kubernetes API on: taint the Node `nativeip.io/addresses-exhausted:NoSchedule` while it has no free address ' +
      'and cannot get one for a reason that does not clear in seconds (interface or address limit, full subnet, max pods), ' +
      'so the scheduler sends pods elsewhere; removed once the node can serve again. false: the condition only.',
    parse: boolean,
    fallback: true,
  },
  cniConfDir: {
    env: 'NATIVEIP_CNI_CONF_DIR',
    field: 'cniConfDir',
    allowed: 'an absolute path',
    default: 'unset (write no CNI configuration)',
    description:
      'Directory where the daemon writes `05-nativeip.conflist` (atomically) once it can serve, so kubelet never calls a ' +
      'plugin whose daemon is not ready; the DaemonSet sets /host/etc/cni/net.d, where the host’s /etc/cni/net.d is mounted.',
    parse: optional(absolutePath()),
    fallback: undefined,
  },
  healthAddress: {
    env: 'NATIVEIP_HEALTH_ADDRESS',
    field: 'healthAddress',
    allowed: 'an IPv4 address and port such as 127.0.0.1:61680, or off',
    default: 'off',
    description:
      'Where /healthz (liveness: the daemon’s loop answers; never the cloud or the API) and /readyz (readiness: the ' +
      'daemon has restored its state and serves the plugin; a full node stays ready) are served over http; the DaemonSet sets 127.0.0.1:61680.',
    parse: hostPortOrOff,
    fallback: undefined,
  },
  metricsAddress: {
    env: 'NATIVEIP_METRICS_ADDRESS',
    field: 'metricsAddress',
    allowed: 'an IPv4 address and port such as 0.0.0.0:61678, or off',
    default: '0.0.0.0:61678',
    description:
      'Where Prometheus metrics (`nativeip_*`) are served at /metrics over http: the AWS VPC CNI’s port, which operators ' +
      'already open for its daemon. If the port is taken the daemon logs it and tries again every 30 s; it serves pods meanwhile.',
    parse: hostPortOrOff,
    fallback: { host: '0.0.0.0', port: 61678 },
  },
  disableMetrics: {
    env: 'DISABLE_METRICS',
    field: 'disableMetrics',
    allowed: 'true or false (any letter case), or 1 or 0',
    default: 'false',
    description: 'true: serve no metrics (the AWS VPC CNI’s switch); the same as NATIVEIP_METRICS_ADDRESS=off.',
    parse: boolean,
    fallback: false,
  },
  introspectionAddress: {
    env: 'INTROSPECTION_BIND_ADDRESS',
    field: 'introspectionAddress',
    allowed: 'an IPv4 address and port such as 127.0.0.1:61679, or off',
    default: '127.0.0.1:61679',
    description:
      'Where the JSON introspection API is served over http (the AWS VPC CNI’s name and default): /v1/interfaces, /v1/pods, ' +
      '/v1/pool, /v1/config (secrets redacted). Keep it on loopback: it lists every pod’s address. A taken port is retried as for metrics.',
    parse: hostPortOrOff,
    fallback: { host: '127.0.0.1', port: 61679 },
  },
  disableIntrospection: {
    env: 'DISABLE_INTROSPECTION',
    field: 'disableIntrospection',
    allowed: 'true or false (any letter case), or 1 or 0',
    default: 'false',
    description: 'true: serve no introspection API (the AWS VPC CNI’s switch); the same as INTROSPECTION_BIND_ADDRESS=off.',
    parse: boolean,
    fallback: false,
  },
};
