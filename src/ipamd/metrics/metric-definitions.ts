/**
 * Every metric a node reports, defined once: the live daemon's Prometheus exposition
 * (node-metrics.ts) and the churn simulator's per-node counters (src/sim) are both built from this
 * table, so a replayed trace and a real node report the same quantities under the same names.
 * Pure: names, help, types, labels and buckets; no client library.
 *
 * Names follow Prometheus conventions (`promtool check metrics`): base units (seconds),
 * counters end in `_total`, a gauge never does. Label values are small closed sets, except the
 * interface and subnet ids (bounded by the instance's interfaces) and cloud API actions (bounded by
 * the provider's code).
 */

export type MetricKind = 'counter' | 'gauge' | 'histogram';

export interface MetricDefinition {
  readonly name: string;
  readonly help: string;
  readonly kind: MetricKind;
  readonly labels: readonly string[];
  /** Histogram bucket upper bounds, in the metric's unit. */
  readonly buckets?: readonly number[];
}

/** CNI requests: from a cached ADD (milliseconds) to one that waited for a grow (the 20 s limit). */
const REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30];
/** Cloud calls: an IMDS read (milliseconds) to an Azure NIC PUT (10–60 s) or an SDK retry chain. */
const CLOUD_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120];
/** A pod's wait for a grow: an EC2 assign (under a second) to an interface attach or a NIC PUT. */
const WAIT_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60];
/** A checkpoint write: a rename and an fsync, milliseconds on a local disk. */
const WRITE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

const define = <const D extends MetricDefinition>(d: D): D => d;

export const NODE_METRICS = {
  // The pool, read when scraped.
  addresses: define({
    name: 'nativeip_addresses',
    help: 'Secondary addresses on the pool’s interfaces, by state: assigned (to a pod), cooling (released, not yet handed out again), free (ready to hand out).',
    kind: 'gauge',
    labels: ['state'],
  }),
  interfaceAddresses: define({
    name: 'nativeip_interface_addresses',
    help: 'Secondary addresses per interface and state (sum by subnet for per-subnet figures).',
    kind: 'gauge',
    labels: ['interface', 'device_index', 'subnet', 'state'],
  }),
  prefixes: define({ name: 'nativeip_prefixes', help: 'Delegated IPv4 prefixes on the pool’s interfaces (prefix delegation).', kind: 'gauge', labels: [] }),
  interfaces: define({ name: 'nativeip_interfaces', help: 'Interfaces the pool uses (attached), the primary included.', kind: 'gauge', labels: [] }),
  interfacesMax: define({
    name: 'nativeip_interfaces_max',
    help: 'Interfaces the instance type may have attached, primary included (MAX_ENI when lower).',
    kind: 'gauge',
    labels: [],
  }),
  addressesMax: define({
    name: 'nativeip_addresses_max',
    help: 'Secondary addresses the instance can hold on all its interfaces (prefix slots count as one).',
    kind: 'gauge',
    labels: [],
  }),
  maxPods: define({
    name: 'nativeip_max_pods',
    help: 'Pods the node can run that take an address: the instance’s max-pods, or the Node’s capacity when lower.',
    kind: 'gauge',
    labels: [],
  }),
  warmPoolBand: define({
    name: 'nativeip_warm_pool_band',
    help: 'The adaptive warm pool’s band of free addresses: grow below low, up to high; release above release_above; attach the next interface below interface_low.',
    kind: 'gauge',
    labels: ['bound'],
  }),
  warmPoolBurst: define({ name: 'nativeip_warm_pool_burst', help: '1 while the adaptive pool sees pods arriving in a burst.', kind: 'gauge', labels: [] }),
  warmPoolArrivalRate: define({
    name: 'nativeip_warm_pool_arrivals_per_second',
    help: 'Pod arrivals per second at the busiest recent rate, as the adaptive pool measures it.',
    kind: 'gauge',
    labels: [],
  }),
  warmPoolPolicy: define({ name: 'nativeip_warm_pool_policy_info', help: 'The warm-pool policy in force (adaptive, eni, ip, prefix).', kind: 'gauge', labels: ['policy'] }),
  growInProgress: define({ name: 'nativeip_grow_in_progress', help: '1 while the pool is growing (a cloud call for addresses or an interface is under way).', kind: 'gauge', labels: [] }),
  podsWaiting: define({ name: 'nativeip_pods_waiting', help: 'ADDs waiting for an address right now.', kind: 'gauge', labels: [] }),
  poolBlocked: define({
    name: 'nativeip_pool_blocked',
    help: '1 while the pool cannot grow, by reason (interface_limit, subnet_full, max_pods, throttled, cloud_error).',
    kind: 'gauge',
    labels: ['reason'],
  }),

  // Requests and pods.
  cniRequests: define({
    name: 'nativeip_cni_requests_total',
    help: 'Requests from the CNI plugin by command (ADD, DEL, CHECK, GC, STATUS) and result (ok, or the error code’s name).',
    kind: 'counter',
    labels: ['command', 'result'],
  }),
  cniRequestDuration: define({
    name: 'nativeip_cni_request_duration_seconds',
    help: 'Time the daemon took to answer a CNI request, by command.',
    kind: 'histogram',
    labels: ['command'],
    buckets: REQUEST_BUCKETS,
  }),
  assignFailures: define({
    name: 'nativeip_assign_failures_total',
    help: 'Pods that got no address, by reason: interface_limit, subnet_full, max_pods, throttled, cloud_error, grow_timeout (a grow did not finish within the ADD’s wait).',
    kind: 'counter',
    labels: ['reason'],
  }),
  podWaits: define({
    name: 'nativeip_pod_wait_seconds',
    help: 'Pods that found no free address and waited for a grow (or a cooldown), and how long until they got one.',
    kind: 'histogram',
    labels: [],
    buckets: WAIT_BUCKETS,
  }),

  // The cloud.
  cloudOperations: define({
    name: 'nativeip_cloud_operations_total',
    help: 'The pool’s cloud operations (one may take several API calls) by operation and result (ok, error, throttled).',
    kind: 'counter',
    labels: ['operation', 'result'],
  }),
  cloudOperationDuration: define({
    name: 'nativeip_cloud_operation_duration_seconds',
    help: 'Duration of the pool’s cloud operations, SDK retries included, by operation.',
    kind: 'histogram',
    labels: ['operation'],
    buckets: CLOUD_BUCKETS,
  }),
  cloudApiRequests: define({
    name: 'nativeip_cloud_api_requests_total',
    help: 'Requests sent to the cloud’s API (each SDK attempt) by API action and result (ok, error, throttled).',
    kind: 'counter',
    labels: ['api', 'result'],
  }),
  cloudApiDuration: define({
    name: 'nativeip_cloud_api_request_duration_seconds',
    help: 'Duration of each request to the cloud’s API, by API action.',
    kind: 'histogram',
    labels: ['api'],
    buckets: CLOUD_BUCKETS,
  }),

  // Upkeep.
  reconciles: define({
    name: 'nativeip_reconciles_total',
    help: 'Reconciles of the pool with the node, by how the node was read: observed (instance metadata matched), rechecked (looked again after our own change), described (from the cloud’s API).',
    kind: 'counter',
    labels: ['how'],
  }),
  reconcileFindings: define({
    name: 'nativeip_reconcile_findings_total',
    help: 'What reconciles found changed in the cloud behind the pool’s back: addresses_appeared, addresses_vanished, pod_addresses_vanished, interfaces_appeared, interfaces_vanished.',
    kind: 'counter',
    labels: ['finding'],
  }),
  leakedInterfacesCollected: define({
    name: 'nativeip_leaked_interfaces_collected_total',
    help: 'Interfaces this node created that were left unattached (a crash between create and attach) and were deleted.',
    kind: 'counter',
    labels: [],
  }),
  checkpointWrites: define({
    name: 'nativeip_checkpoint_write_seconds',
    help: 'Time to write the checkpoint durably (write, fsync, rename).',
    kind: 'histogram',
    labels: [],
    buckets: WRITE_BUCKETS,
  }),
  startup: define({
    name: 'nativeip_startup_seconds',
    help: 'From process start until the daemon served the CNI plugin, by phase: node (reading the node from the cloud) and total.',
    kind: 'gauge',
    labels: ['phase'],
  }),
  buildInfo: define({
    name: 'nativeip_build_info',
    help: 'Always 1; the labels say which nativeip, Node.js and cloud provider run.',
    kind: 'gauge',
    labels: ['version', 'nodejs', 'cloud'],
  }),
} as const;

export type NodeMetricName = keyof typeof NODE_METRICS;

/** Why a pod got no address, as the `reason` label says it. */
export type AssignFailureLabel = 'interface_limit' | 'subnet_full' | 'max_pods' | 'throttled' | 'cloud_error' | 'grow_timeout';

/** The `reason` label of an exhaustion cause (the Node condition's reason names). */
export function assignFailureLabel(cause: 'InterfaceLimit' | 'SubnetFull' | 'MaxPods' | 'Throttled' | 'CloudError' | 'GrowTimeout'): AssignFailureLabel {
  switch (cause) {
    case 'InterfaceLimit':
      return 'interface_limit';
    case 'SubnetFull':
      return 'subnet_full';
    case 'MaxPods':
      return 'max_pods';
    case 'Throttled':
      return 'throttled';
    case 'CloudError':
      return 'cloud_error';
    case 'GrowTimeout':
      return 'grow_timeout';
  }
}
