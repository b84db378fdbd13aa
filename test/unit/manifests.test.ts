/**
 * The shipped manifests, read as files: names and order, the DaemonSet against the daemon's own
 * config loader, RBAC verbs, the CRD's schema and columns, the admission policies' shape; and
 * manifests/monitoring/ (PodMonitor, Service + ServiceMonitor, the Grafana dashboard) against the
 * DaemonSet and the metric definitions. What the API server makes of them is
 * test/kube/manifests.test.ts; that Prometheus parses every dashboard query is
 * test/integration/dashboard-queries.test.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  loadAllYaml,
  type V1ClusterRole,
  type V1ClusterRoleBinding,
  type V1Container,
  type V1CustomResourceDefinition,
  type V1DaemonSet,
  type V1JSONSchemaProps,
  type V1LabelSelector,
  type V1Service,
  type V1ServiceAccount,
  type V1ValidatingAdmissionPolicy,
  type V1ValidatingAdmissionPolicyBinding,
} from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { loadDaemonConfig, usesAdaptiveDefault } from '../../src/ipamd/config/config.js';
import { KNOWN_NAMES } from '../../src/ipamd/config/config-variables.js';
import { NODE_METRICS, type MetricDefinition } from '../../src/ipamd/metrics/metric-definitions.js';

const DIR = join(import.meta.dirname, '../../manifests');
/** What `kubectl apply -f manifests/` reads: the directory's files, not its subdirectories. */
const FILES = readdirSync(DIR, { withFileTypes: true })
  .filter((entry) => entry.isFile())
  .map((entry) => entry.name)
  .sort();
const MONITORING_DIR = join(DIR, 'monitoring');

interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
}

const documents: { readonly file: string; readonly object: KubeObject }[] = FILES.flatMap((file) =>
  (loadAllYaml(readFileSync(join(DIR, file), 'utf8')) as KubeObject[]).map((object) => ({ file, object })),
);

function find<T>(kind: string, name: string): T {
  const found = documents.filter((d) => d.object.kind === kind && d.object.metadata.name === name);
  expect(found, `${kind}/${name}`).toHaveLength(1);
  return found[0]?.object as T;
}

function fileOf(kind: string): string {
  return documents.find((d) => d.object.kind === kind)?.file ?? `no ${kind}`;
}

const daemonSet = find<V1DaemonSet>('DaemonSet', 'nativeip');
const podSpec = daemonSet.spec?.template.spec;
const containers: readonly V1Container[] = podSpec?.containers ?? [];
const initContainers: readonly V1Container[] = podSpec?.initContainers ?? [];
const ipamd = containers.find((c) => c.name === 'ipamd');

/** Variables the daemon reads that the DaemonSet must set (being added to the loader's table). */
const REQUIRED_ENV: Readonly<Record<string, string>> = {
  MY_NODE_NAME: 'fieldRef spec.nodeName',
  NATIVEIP_KUBERNETES: 'auto',
  NATIVEIP_CNI_CONF_DIR: '/host/etc/cni/net.d',
  NATIVEIP_TAINT_EXHAUSTED_NODES: 'true',
  NATIVEIP_HEALTH_ADDRESS: '127.0.0.1:61680',
};

const WARM_POOL_KNOBS = ['WARM_ENI_TARGET', 'WARM_IP_TARGET', 'MINIMUM_IP_TARGET', 'WARM_PREFIX_TARGET', 'ENABLE_PREFIX_DELEGATION'];

/** The container's env as the kubelet would give it, with `node-a` for the downward API. */
function envOf(container: V1Container | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of container?.env ?? []) {
    if (variable.valueFrom?.fieldRef?.fieldPath === 'spec.nodeName') env[variable.name] = 'node-a';
    else if (variable.value !== undefined) env[variable.name] = variable.value;
    else throw new Error(`${variable.name}: only plain values and spec.nodeName are expected`);
  }
  return env;
}

describe('manifests/ files', () => {
  it('are the four files, named in apply order', () => {
    expect(FILES).toEqual(['00-crd.yaml', '10-rbac.yaml', '20-admission-policy.yaml', '30-daemonset.yaml']);
  });

  it('keep what needs the Prometheus Operator, and the dashboard, out of `kubectl apply -f manifests/`', () => {
    // kubectl reads every .json, .yaml and .yml of the directory (not its subdirectories): a
    // Grafana dashboard there fails the apply ("apiVersion not set, kind not set"), a PodMonitor
    // fails it on a cluster without the Operator's CRDs.
    const subdirectories = readdirSync(DIR, { withFileTypes: true }).filter((entry) => entry.isDirectory());
    expect(subdirectories.map((entry) => entry.name)).toEqual(['monitoring']);
    expect(readdirSync(MONITORING_DIR).sort()).toEqual(['grafana-dashboard.json', 'podmonitor.yaml', 'servicemonitor.yaml']);
  });

  it.each(FILES)('%s opens with a comment saying what it is and how to apply it', (file) => {
    const text = readFileSync(join(DIR, file), 'utf8');
    const header = text.slice(0, text.search(/^[^#\n]/m));
    expect(header).toMatch(/^# nativeip manifests, \d of 4: /);
    expect(header).toContain('kubectl apply -f manifests/');
    expect(header.split('\n').length).toBeGreaterThan(3);
  });

  it('every document has apiVersion, kind and a name; namespaced ones are in kube-system', () => {
    for (const { file, object } of documents) {
      expect(object.apiVersion, file).toMatch(/^[a-z.0-9/]+$/);
      expect(object.kind, file).toMatch(/^[A-Z]\w+$/);
      expect(object.metadata.name, file).not.toBe('');
      if (object.metadata.namespace !== undefined) expect(object.metadata.namespace, file).toBe('kube-system');
    }
  });

  it('a file comes after every file whose objects it needs', () => {
    expect(fileOf('CustomResourceDefinition') < fileOf('ClusterRole')).toBe(true);
    expect(fileOf('CustomResourceDefinition') < fileOf('ValidatingAdmissionPolicy')).toBe(true);
    expect(fileOf('ServiceAccount') < fileOf('DaemonSet')).toBe(true);
    expect(fileOf('ValidatingAdmissionPolicy') < fileOf('DaemonSet')).toBe(true);
  });
});

describe('DaemonSet nativeip', () => {
  it('runs one privileged daemon per node on the host network, before anything else', () => {
    expect(daemonSet.metadata?.namespace).toBe('kube-system');
    expect(daemonSet.metadata?.labels).toEqual({ 'app.kubernetes.io/name': 'nativeip' });
    expect(daemonSet.spec?.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'nativeip' });
    expect(daemonSet.spec?.template.metadata?.labels).toEqual({ 'app.kubernetes.io/name': 'nativeip' });
    expect(podSpec?.serviceAccountName).toBe('nativeip');
    expect(podSpec?.hostNetwork).toBe(true);
    expect(podSpec?.priorityClassName).toBe('system-node-critical');
    expect(podSpec?.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(podSpec?.terminationGracePeriodSeconds).toBe(30);
    expect(daemonSet.spec?.updateStrategy?.type).toBe('RollingUpdate');
    expect(daemonSet.spec?.updateStrategy?.rollingUpdate).toEqual({ maxUnavailable: '10%', maxSurge: 0 });
  });

  it('runs on Linux amd64 and arm64 nodes only, the architectures the image is built for', () => {
    expect(podSpec?.nodeSelector).toBeUndefined();
    expect(podSpec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution).toBeUndefined();
    expect(podSpec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms).toEqual([
      {
        matchExpressions: [
          { key: 'kubernetes.io/os', operator: 'In', values: ['linux'] },
          { key: 'kubernetes.io/arch', operator: 'In', values: ['amd64', 'arm64'] },
        ],
      },
    ]);
  });

  it('uses the locally loaded image in every container', () => {
    expect([...initContainers, ...containers].map((c) => [c.name, c.image, c.imagePullPolicy])).toEqual([
      ['install-cni', 'localhost/nativeip:0.1.0', 'IfNotPresent'],
      ['ipamd', 'localhost/nativeip:0.1.0', 'IfNotPresent'],
    ]);
    for (const c of [...initContainers, ...containers]) expect(c.securityContext?.privileged, c.name).toBe(true);
  });

  it('installs the plugin with `nativeip install-cni` (loosening the primary interface\'s rp_filter), then runs nativeip-ipamd', () => {
    expect(initContainers[0]?.command).toEqual(['nativeip', 'install-cni', '--bin-dir', '/host/opt/cni/bin', '--rp-filter-loose']);
    expect(initContainers[0]?.args).toBeUndefined();
    expect(ipamd?.command).toEqual(['nativeip-ipamd']);
    expect(ipamd?.args).toBeUndefined();
  });

  it.each(Object.entries(REQUIRED_ENV))('sets %s (%s), a name the daemon reads', (name, value) => {
    expect(KNOWN_NAMES.has(name), `${name} is not in src/ipamd/config/config-variables.ts yet`).toBe(true);
    const variable = ipamd?.env?.find((v) => v.name === name);
    if (name === 'MY_NODE_NAME') expect(variable?.valueFrom?.fieldRef?.fieldPath).toBe('spec.nodeName');
    else expect(variable?.value).toBe(value);
  });

  it('sets only variables the daemon reads, each once', () => {
    const names = (ipamd?.env ?? []).map((v) => v.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.filter((name) => !KNOWN_NAMES.has(name))).toEqual([]);
  });

  it("sets values the daemon's config loader accepts", () => {
    expect(() => loadDaemonConfig(envOf(ipamd))).not.toThrow();
  });

  it('sets no warm-pool knob, so the adaptive default applies', () => {
    const names = (ipamd?.env ?? []).map((v) => v.name);
    expect(names.filter((name) => WARM_POOL_KNOBS.includes(name))).toEqual([]);
    expect(usesAdaptiveDefault(loadDaemonConfig(envOf(ipamd)))).toBe(true);
  });

  it('probes readiness and liveness on the health address, over loopback', () => {
    const address = ipamd?.env?.find((v) => v.name === 'NATIVEIP_HEALTH_ADDRESS')?.value;
    expect(address).toBe('127.0.0.1:61680');
    const readiness = ipamd?.readinessProbe;
    const liveness = ipamd?.livenessProbe;
    expect(readiness?.httpGet).toEqual({ host: '127.0.0.1', port: 61680, path: '/readyz' });
    expect(liveness?.httpGet).toEqual({ host: '127.0.0.1', port: 61680, path: '/healthz' });
    // Readiness follows quickly; liveness gives a busy daemon a minute before a restart.
    expect(readiness?.periodSeconds).toBeLessThanOrEqual(10);
    const livenessWindow = (liveness?.periodSeconds ?? 10) * (liveness?.failureThreshold ?? 3);
    expect(livenessWindow).toBeGreaterThanOrEqual(30);
    expect(liveness?.timeoutSeconds ?? 1).toBeGreaterThanOrEqual(2);
  });

  it('requests the memory measured with 250 pods and caps it at twice that', () => {
    expect(ipamd?.resources).toEqual({ requests: { cpu: '25m', memory: '192Mi' }, limits: { memory: '384Mi' } });
  });

  it('mounts exactly the host paths it uses', () => {
    const volumes = new Map((podSpec?.volumes ?? []).map((v) => [v.name, v]));
    const mounts = (c: V1Container | undefined): string[][] =>
      (c?.volumeMounts ?? []).map((m) => [
        volumes.get(m.name)?.hostPath?.path ?? `volume ${m.name} is not a hostPath`,
        m.mountPath,
        m.readOnly === true ? 'ro' : 'rw',
        m.mountPropagation ?? 'None',
      ]);
    expect(mounts(initContainers[0])).toEqual([['/opt/cni/bin', '/host/opt/cni/bin', 'rw', 'None']]);
    expect(mounts(ipamd)).toEqual([
      ['/etc/cni/net.d', '/host/etc/cni/net.d', 'rw', 'None'],
      ['/run/nativeip', '/run/nativeip', 'rw', 'None'],
      ['/var/run/netns', '/var/run/netns', 'rw', 'HostToContainer'],
    ]);
    const used = new Set([...initContainers, ...containers].flatMap((c) => (c.volumeMounts ?? []).map((m) => m.name)));
    expect([...volumes.keys()].sort()).toEqual([...used].sort());
  });

  it('exposes the metrics port, named, where the daemon serves its metrics', () => {
    expect(ipamd?.ports).toEqual([{ name: 'metrics', containerPort: 61678, protocol: 'TCP' }]);
    expect(initContainers[0]?.ports).toBeUndefined();
    const config = loadDaemonConfig(envOf(ipamd));
    expect(config.disableMetrics).toBe(false);
    expect(config.metricsAddress).toEqual({ host: '0.0.0.0', port: 61678 });
  });

  it('writes the CNI config where the daemon is told to', () => {
    const confDir = ipamd?.env?.find((v) => v.name === 'NATIVEIP_CNI_CONF_DIR')?.value;
    expect(ipamd?.volumeMounts?.some((m) => m.mountPath === confDir)).toBe(true);
  });
});

describe('RBAC', () => {
  const role = find<V1ClusterRole>('ClusterRole', 'nativeip');

  it('grants exactly what the daemon does, and nothing else', () => {
    const grants = (role.rules ?? []).flatMap((rule) => {
      expect(rule.resourceNames, 'no resourceNames').toBeUndefined();
      expect(rule.nonResourceURLs, 'no non-resource URLs').toBeUndefined();
      return (rule.apiGroups ?? []).flatMap((group) =>
        (rule.resources ?? []).flatMap((resource) => (rule.verbs ?? []).map((verb) => `${group}/${resource}:${verb}`)),
      );
    });
    expect(grants.sort()).toEqual(
      [
        '/nodes:get',
        '/nodes:list',
        '/nodes:watch',
        '/nodes:patch',
        '/nodes/status:patch',
        '/pods:get',
        '/pods:list',
        '/pods:watch',
        'nativeip.io/nativeipnodes:get',
        'nativeip.io/nativeipnodes:list',
        'nativeip.io/nativeipnodes:watch',
        'nativeip.io/nativeipnodes:create',
        'nativeip.io/nativeipnodes:update',
        'nativeip.io/nativeipnodes:patch',
        'nativeip.io/nativeipnodes/status:get',
        'nativeip.io/nativeipnodes/status:update',
        'nativeip.io/nativeipnodes/status:patch',
        '/events:create',
        '/events:patch',
      ].sort(),
    );
  });

  it('binds the role to the nativeip ServiceAccount, cluster-wide', () => {
    find<V1ServiceAccount>('ServiceAccount', 'nativeip');
    const binding = find<V1ClusterRoleBinding>('ClusterRoleBinding', 'nativeip');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'nativeip' });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'nativeip', namespace: 'kube-system' }]);
    expect(documents.filter((d) => d.object.kind.endsWith('Binding') && d.object.kind !== 'ValidatingAdmissionPolicyBinding')).toHaveLength(1);
  });
});

describe('CustomResourceDefinition nativeipnodes.nativeip.io', () => {
  const crd = find<V1CustomResourceDefinition>('CustomResourceDefinition', 'nativeipnodes.nativeip.io');
  const version = crd.spec.versions[0];
  const schema = version?.schema?.openAPIV3Schema;
  const status = schema?.properties?.['status'];

  it('is the cluster-scoped NativeipNode, v1alpha1, with a status subresource', () => {
    expect(crd.spec.group).toBe('nativeip.io');
    expect(crd.spec.scope).toBe('Cluster');
    expect(crd.spec.names).toEqual({
      kind: 'NativeipNode',
      listKind: 'NativeipNodeList',
      plural: 'nativeipnodes',
      singular: 'nativeipnode',
      shortNames: ['nipn'],
    });
    expect(crd.spec.versions).toHaveLength(1);
    expect(version).toMatchObject({ name: 'v1alpha1', served: true, storage: true, subresources: { status: {} } });
    expect(schema?.properties?.['spec']?.type).toBe('object');
  });

  it('answers "how full is each node and why" in its columns', () => {
    const columns = (version?.additionalPrinterColumns ?? []).filter((c) => (c.priority ?? 0) === 0);
    expect(columns.map((c) => [c.name, c.type, c.jsonPath])).toEqual([
      ['Instance Type', 'string', '.status.instanceType'],
      ['State', 'string', '.status.state'],
      ['Assigned', 'integer', '.status.addresses.assigned'],
      ['Free', 'integer', '.status.addresses.free'],
      ['Cooling', 'integer', '.status.addresses.coolingDown'],
      ['Max Pods', 'integer', '.status.maxPods'],
      ['Reason', 'string', '.status.reason'],
      ['Age', 'date', '.metadata.creationTimestamp'],
    ]);
  });

  /** Flattens the schema to `path: type[/format]`, every property with a description. */
  function flatten(props: Record<string, V1JSONSchemaProps> | undefined, prefix: string): string[] {
    return Object.entries(props ?? {}).flatMap(([name, prop]) => {
      const path = `${prefix}${name}`;
      expect(prop.description, `${path} has a description`).toMatch(/\w/);
      expect(prop.required, `${path}: nothing is required`).toBeUndefined();
      const type = `${path}: ${prop.type ?? '?'}${prop.format !== undefined ? `/${prop.format}` : ''}`;
      if (prop.type === 'object') return [type, ...flatten(prop.properties, `${path}.`)];
      if (prop.type === 'array') {
        const items = prop.items as V1JSONSchemaProps | undefined;
        return [`${type} of ${items?.type ?? '?'}`, ...flatten(items?.properties, `${path}[].`)];
      }
      return [type];
    });
  }

  it('describes every status field, all optional, with the agreed types', () => {
    expect(status?.required).toBeUndefined();
    expect(flatten(status?.properties, '')).toEqual([
      'cloud: string',
      'instanceId: string',
      'instanceType: string',
      'maxPods: integer',
      'ready: boolean',
      'state: string',
      'addresses: object',
      'addresses.total: integer',
      'addresses.assigned: integer',
      'addresses.free: integer',
      'addresses.coolingDown: integer',
      'interfaces: array of object',
      'interfaces[].id: string',
      'interfaces[].subnetId: string',
      'interfaces[].deviceIndex: integer',
      'interfaces[].total: integer',
      'interfaces[].assigned: integer',
      'interfaces[].free: integer',
      'interfaces[].coolingDown: integer',
      'interfaces[].prefixes: array of string',
      'warmPool: object',
      'warmPool.policy: string',
      'warmPool.low: integer',
      'warmPool.high: integer',
      'warmPool.burst: boolean',
      'warmPool.arrivalsPerMinute: number',
      'warmPool.startupFloor: integer',
      'warmPool.knobs: object',
      'reason: string',
      'lastFailure: object',
      'lastFailure.reason: string',
      'lastFailure.message: string',
      'lastFailure.time: string/date-time',
      'cloudCalls: array of object',
      'cloudCalls[].action: string',
      'cloudCalls[].calls: integer',
      'cloudCalls[].errors: integer',
      'cloudCalls[].throttled: integer',
      'observedAt: string/date-time',
    ]);
    expect(status?.properties?.['state']?._enum).toEqual(['ready', 'growing', 'blocked']);
    expect(status?.properties?.['lastFailure']?.properties?.['reason']?._enum).toEqual([
      'InterfaceLimit',
      'SubnetFull',
      'MaxPods',
      'Throttled',
      'CloudError',
    ]);
  });
});

describe('admission policies', () => {
  const AGENT = "request.userInfo.username == 'system:serviceaccount:kube-system:nativeip'";
  const cases = [
    { name: 'nativeip-own-node', group: '', resources: ['nodes', 'nodes/status'] },
    { name: 'nativeip-own-nativeipnode', group: 'nativeip.io', resources: ['nativeipnodes', 'nativeipnodes/status'] },
  ];

  it.each(cases)('$name looks only at the agent, fails closed and is bound to deny', ({ name, group, resources }) => {
    const policy = find<V1ValidatingAdmissionPolicy>('ValidatingAdmissionPolicy', name);
    expect(policy.apiVersion).toBe('admissionregistration.k8s.io/v1');
    expect(policy.spec?.failurePolicy).toBe('Fail');
    expect(policy.spec?.matchConditions?.map((c) => c.expression)).toEqual([AGENT]);
    expect(policy.spec?.matchConstraints?.resourceRules).toEqual([
      { apiGroups: [group], apiVersions: ['*'], operations: ['CREATE', 'UPDATE', 'DELETE'], resources },
    ]);
    expect(policy.spec?.paramKind).toBeUndefined();
    const binding = find<V1ValidatingAdmissionPolicyBinding>('ValidatingAdmissionPolicyBinding', name);
    expect(binding.spec).toEqual({ policyName: name, validationActions: ['Deny'] });
  });

  it.each(cases)("$name: every refusal names the rule it broke", ({ name }) => {
    const policy = find<V1ValidatingAdmissionPolicy>('ValidatingAdmissionPolicy', name);
    const rules = (policy.spec?.validations ?? []).map((v) => {
      const text = v.messageExpression ?? `'${v.message ?? ''}'`;
      return /^'([a-z-]+): /.exec(text)?.[1] ?? `no rule name in ${text}`;
    });
    expect(new Set(rules).size).toBe(rules.length);
    expect(rules).toContain('node-claim');
    expect(rules).toContain('own-node');
  });

  it('the node policy reads the node claim of the bound token', () => {
    const policy = find<V1ValidatingAdmissionPolicy>('ValidatingAdmissionPolicy', 'nativeip-own-node');
    const claim = policy.spec?.variables?.find((v) => v.name === 'claim')?.expression;
    expect(claim).toContain("request.userInfo.extra['authentication.kubernetes.io/node-name']");
    const text = JSON.stringify(policy.spec?.variables);
    expect(text).toContain('nativeip.io/addresses-exhausted');
    expect(text).toContain('NativeipAddressesAvailable');
  });
});

/** A `monitoring.coreos.com/v1` PodMonitor's or ServiceMonitor's scrape endpoint, as used here. */
interface MonitorEndpoint {
  readonly port?: string;
  readonly path?: string;
  readonly scheme?: string;
  readonly interval?: string;
  readonly scrapeTimeout?: string;
  readonly relabelings?: readonly { readonly action?: string; readonly sourceLabels?: readonly string[]; readonly targetLabel?: string }[];
}

interface Monitor extends KubeObject {
  readonly metadata: KubeObject['metadata'] & { readonly labels?: Record<string, string> };
  readonly spec: {
    readonly selector: V1LabelSelector;
    readonly namespaceSelector?: { readonly matchNames?: readonly string[]; readonly any?: boolean };
    readonly podMetricsEndpoints?: readonly MonitorEndpoint[];
    readonly endpoints?: readonly MonitorEndpoint[];
  };
}

const MONITORING_FILES = ['podmonitor.yaml', 'servicemonitor.yaml'];

const monitoring: { readonly file: string; readonly object: KubeObject }[] = MONITORING_FILES.flatMap((file) =>
  (loadAllYaml(readFileSync(join(MONITORING_DIR, file), 'utf8')) as KubeObject[]).map((object) => ({ file, object })),
);

function findMonitoring<T>(file: string, kind: string): T {
  const found = monitoring.filter((d) => d.file === file && d.object.kind === kind);
  expect(found, `${file}: ${kind}`).toHaveLength(1);
  return found[0]?.object as T;
}

/** Whether `selector` (matchLabels only) selects an object labelled `labels`; an empty one selects nothing here. */
function selects(selector: V1LabelSelector | Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  const matchLabels = selector !== undefined && 'matchLabels' in selector ? (selector as V1LabelSelector).matchLabels : (selector as Record<string, string> | undefined);
  const wanted = Object.entries(matchLabels ?? {});
  return wanted.length > 0 && wanted.every(([key, value]) => labels?.[key] === value);
}

const podLabels = daemonSet.spec?.template.metadata?.labels;
const containerPorts = containers.flatMap((c) => c.ports ?? []);

/** The endpoint of a monitor: the named `metrics` port at /metrics every 30 s, `instance` = the node's name. */
function expectScrapesMetrics(endpoints: readonly MonitorEndpoint[] | undefined): void {
  expect(endpoints).toHaveLength(1);
  const endpoint = endpoints?.[0];
  expect(endpoint).toMatchObject({ port: 'metrics', path: '/metrics', scheme: 'http', interval: '30s' });
  expect(endpoint?.relabelings).toEqual([
    { action: 'replace', sourceLabels: ['__meta_kubernetes_pod_node_name'], targetLabel: 'instance' },
  ]);
}

describe('manifests/monitoring/ for the Prometheus Operator', () => {
  it.each(MONITORING_FILES)('%s opens with a comment saying what it is, that it needs the CRDs, and how to apply it', (file) => {
    const text = readFileSync(join(MONITORING_DIR, file), 'utf8');
    const header = text.slice(0, text.search(/^[^#\n]/m));
    expect(header).toMatch(/^# nativeip monitoring: /);
    expect(header).toContain("Prometheus Operator's CRDs");
    expect(header).toContain(`kubectl apply -f manifests/monitoring/${file}`);
  });

  it('every object is in kube-system, next to the DaemonSet', () => {
    expect(monitoring.map((d) => `${d.file}: ${d.object.apiVersion} ${d.object.kind}/${d.object.metadata.name}`)).toEqual([
      'podmonitor.yaml: monitoring.coreos.com/v1 PodMonitor/nativeip',
      'servicemonitor.yaml: v1 Service/nativeip-metrics',
      'servicemonitor.yaml: monitoring.coreos.com/v1 ServiceMonitor/nativeip',
    ]);
    for (const { object } of monitoring) expect(object.metadata.namespace).toBe(daemonSet.metadata?.namespace);
  });

  it("the PodMonitor selects the DaemonSet's pods and scrapes a port they have", () => {
    const podMonitor = findMonitoring<Monitor>('podmonitor.yaml', 'PodMonitor');
    expect(podMonitor.spec.selector.matchExpressions).toBeUndefined();
    expect(selects(podMonitor.spec.selector, podLabels)).toBe(true);
    expect(podMonitor.spec.namespaceSelector).toEqual({ matchNames: [daemonSet.metadata?.namespace] });
    expectScrapesMetrics(podMonitor.spec.podMetricsEndpoints);
    for (const endpoint of podMonitor.spec.podMetricsEndpoints ?? []) {
      expect(containerPorts.map((p) => p.name), `port ${endpoint.port}`).toContain(endpoint.port);
    }
  });

  it("the headless Service selects the DaemonSet's pods, on their metrics port", () => {
    const service = findMonitoring<V1Service>('servicemonitor.yaml', 'Service');
    expect(service.spec?.clusterIP).toBe('None');
    expect(selects(service.spec?.selector, podLabels)).toBe(true);
    expect(service.spec?.ports).toEqual([{ name: 'metrics', port: 61678, targetPort: 'metrics', protocol: 'TCP' }]);
    for (const port of service.spec?.ports ?? []) {
      const target = containerPorts.find((p) => p.name === port.targetPort);
      expect(target?.containerPort, `targetPort ${String(port.targetPort)}`).toBe(port.port);
    }
  });

  it('the ServiceMonitor selects that Service and scrapes its named port', () => {
    const service = findMonitoring<V1Service>('servicemonitor.yaml', 'Service');
    const serviceMonitor = findMonitoring<Monitor>('servicemonitor.yaml', 'ServiceMonitor');
    expect(serviceMonitor.spec.selector.matchExpressions).toBeUndefined();
    expect(selects(serviceMonitor.spec.selector, service.metadata?.labels)).toBe(true);
    expect(serviceMonitor.spec.namespaceSelector).toEqual({ matchNames: [service.metadata?.namespace] });
    expectScrapesMetrics(serviceMonitor.spec.endpoints);
    for (const endpoint of serviceMonitor.spec.endpoints ?? []) {
      expect((service.spec?.ports ?? []).map((p) => p.name), `port ${endpoint.port}`).toContain(endpoint.port);
    }
  });
});

interface GrafanaDataSourceRef {
  readonly type?: string;
  readonly uid?: string;
}

interface GrafanaTarget {
  readonly refId?: string;
  readonly expr?: string;
  readonly datasource?: GrafanaDataSourceRef;
}

interface GrafanaPanel {
  readonly id?: number;
  readonly type?: string;
  readonly title?: string;
  readonly datasource?: GrafanaDataSourceRef;
  readonly gridPos?: { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
  readonly targets?: readonly GrafanaTarget[];
  /** A collapsed row's panels. */
  readonly panels?: readonly GrafanaPanel[];
}

interface GrafanaVariable {
  readonly name?: string;
  readonly type?: string;
  readonly query?: unknown;
  readonly definition?: string;
  readonly datasource?: GrafanaDataSourceRef;
  readonly multi?: boolean;
  readonly includeAll?: boolean;
}

interface GrafanaDashboard {
  readonly uid?: string;
  readonly title?: string;
  readonly schemaVersion?: number;
  readonly templating?: { readonly list?: readonly GrafanaVariable[] };
  readonly panels?: readonly GrafanaPanel[];
}

const DASHBOARD_PATH = join(MONITORING_DIR, 'grafana-dashboard.json');
let dashboardError: unknown;
let dashboard: GrafanaDashboard = {};
try {
  dashboard = JSON.parse(readFileSync(DASHBOARD_PATH, 'utf8')) as GrafanaDashboard;
} catch (error) {
  dashboardError = error;
}

/** Every panel, rows and the panels of collapsed rows included. */
const allPanels: readonly GrafanaPanel[] = (dashboard.panels ?? []).flatMap((panel) => [panel, ...(panel.panels ?? [])]);
const queryPanels = allPanels.filter((panel) => panel.type !== 'row');
const expressions = queryPanels.flatMap((panel) =>
  (panel.targets ?? []).map((target) => ({ title: panel.title ?? `panel ${String(panel.id)}`, refId: target.refId ?? '?', expr: target.expr ?? '' })),
);

/** Labels every scraped series has besides its own: the scrape's (the monitors above set `instance` to the node). */
const SCRAPE_LABELS = ['instance', 'job'];
const DEFINITIONS = new Map<string, MetricDefinition>(Object.values(NODE_METRICS).map((d: MetricDefinition) => [d.name, d]));

/**
 * The series a name in a query stands for: a counter's or gauge's own name, or a histogram's
 * `_bucket` (with `le`), `_sum` or `_count` (a classic histogram has no series under its bare name).
 */
function seriesOf(name: string): { readonly definition: MetricDefinition; readonly labels: readonly string[] } | undefined {
  const direct = DEFINITIONS.get(name);
  if (direct !== undefined) return direct.kind === 'histogram' ? undefined : { definition: direct, labels: [...direct.labels, ...SCRAPE_LABELS] };
  const suffixed = /^(.+)_(bucket|sum|count)$/.exec(name);
  const base = suffixed?.[1] !== undefined ? DEFINITIONS.get(suffixed[1]) : undefined;
  if (base?.kind !== 'histogram') return undefined;
  return { definition: base, labels: [...base.labels, ...SCRAPE_LABELS, ...(suffixed?.[2] === 'bucket' ? ['le'] : [])] };
}

interface Matcher {
  readonly label: string;
  readonly op: string;
  readonly value: string;
}

interface Selector {
  readonly name: string;
  readonly matchers: readonly Matcher[];
}

/**
 * What a PromQL expression names, read well enough for the dashboard's queries: the series
 * selectors (metric name and label matchers), the labels of `by (...)`-style clauses, and the
 * functions called. Prometheus itself parses them in test/integration/dashboard-queries.test.ts.
 */
function readPromql(expr: string): { readonly selectors: readonly Selector[]; readonly grouping: readonly string[]; readonly functions: readonly string[] } {
  const grouping: string[] = [];
  const selectors: Selector[] = [];
  const functions: string[] = [];
  let rest = expr.replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g, (_clause, labels: string) => {
    grouping.push(...labels.split(',').map((label) => label.trim()).filter((label) => label !== ''));
    return ' ';
  });
  rest = rest.replace(/([a-zA-Z_:][\w:]*)?\s*\{([^}]*)\}/g, (_selector, name: string | undefined, body: string) => {
    const matchers = [...body.matchAll(/([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)].map(([, label = '', op = '', value = '']) => ({ label, op, value }));
    expect(body.replace(/([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g, '').replace(/[\s,]/g, ''), `matchers of ${expr}`).toBe('');
    selectors.push({ name: name ?? '', matchers });
    return ' ';
  });
  rest = rest
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/"(?:[^"\\]|\\.)*"/g, ' ')
    .replace(/(?<![\w:])\d+(?:\.\d+)?(?:e[+-]?\d+)?/gi, ' ');
  for (const [, identifier = '', call] of rest.matchAll(/([a-zA-Z_:][\w:]*)(\s*\()?/g)) {
    if (call !== undefined) functions.push(identifier);
    else if (!['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan'].includes(identifier.toLowerCase())) selectors.push({ name: identifier, matchers: [] });
  }
  return { selectors, grouping, functions };
}

describe('manifests/monitoring/grafana-dashboard.json', () => {
  it('parses as JSON', () => {
    expect(dashboardError).toBeUndefined();
    expect(typeof dashboard).toBe('object');
    expect(allPanels.length).toBeGreaterThan(0);
  });

  it('is the nativeip dashboard: stable uid, title, a current schema', () => {
    expect(dashboard.uid).toBe('nativeip-node');
    expect(dashboard.title).toBe('nativeip');
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.schemaVersion).toBeLessThanOrEqual(41);
  });

  it('has a Prometheus data source variable and a multi-select node variable (with All) from nativeip_build_info', () => {
    const variables = dashboard.templating?.list ?? [];
    expect(variables.map((v) => v.name)).toEqual(['datasource', 'node']);
    expect(variables[0]).toMatchObject({ type: 'datasource', query: 'prometheus' });
    const node = variables[1];
    expect(node).toMatchObject({ type: 'query', multi: true, includeAll: true, datasource: { type: 'prometheus', uid: '${datasource}' } });
    expect(node?.definition).toBe('label_values(nativeip_build_info, instance)');
    const query = node?.query;
    expect(typeof query === 'string' ? query : (query as { query?: string } | undefined)?.query).toBe(node?.definition);
    const [, metric = '', label = ''] = /^label_values\((\w+),\s*(\w+)\)$/.exec(node?.definition ?? '') ?? [];
    expect(seriesOf(metric)?.labels).toContain(label);
  });

  it('panel ids are unique', () => {
    const ids = allPanels.map((panel) => panel.id);
    for (const id of ids) expect(Number.isInteger(id), `panel id ${String(id)}`).toBe(true);
    expect(ids.filter((id, index) => ids.indexOf(id) !== index)).toEqual([]);
  });

  it('every panel (rows are layout only) has at least one query, on the data source variable', () => {
    expect(queryPanels.length).toBeGreaterThanOrEqual(15);
    for (const panel of allPanels) {
      const where = `panel ${String(panel.id)} ${panel.title ?? ''}`;
      if (panel.type === 'row') {
        expect(panel.targets ?? [], where).toEqual([]);
        continue;
      }
      const targets = panel.targets ?? [];
      expect(targets.length, where).toBeGreaterThan(0);
      expect(new Set(targets.map((t) => t.refId)).size, `${where}: refIds`).toBe(targets.length);
      expect(panel.datasource, where).toEqual({ type: 'prometheus', uid: '${datasource}' });
      for (const target of targets) {
        expect(target.expr?.trim(), `${where} ${target.refId ?? ''}`).toBeTruthy();
        expect(target.datasource, `${where} ${target.refId ?? ''}`).toEqual({ type: 'prometheus', uid: '${datasource}' });
      }
    }
  });

  it('panels fit the 24-column grid without overlapping', () => {
    const cells = new Map<string, string>();
    for (const panel of allPanels) {
      const grid = panel.gridPos;
      expect(grid, `panel ${String(panel.id)}`).toBeDefined();
      if (grid === undefined) continue;
      expect(grid.x + grid.w, `panel ${String(panel.id)}`).toBeLessThanOrEqual(24);
      for (let x = grid.x; x < grid.x + grid.w; x++) {
        for (let y = grid.y; y < grid.y + grid.h; y++) {
          const other = cells.get(`${x},${y}`);
          expect(other, `panel ${String(panel.id)} overlaps ${other ?? ''}`).toBeUndefined();
          cells.set(`${x},${y}`, `panel ${String(panel.id)}`);
        }
      }
    }
  });

  it.each(expressions)('$title, $refId: only metrics and labels NODE_METRICS defines, on the selected nodes', ({ expr }) => {
    const { selectors, grouping } = readPromql(expr);
    expect(selectors.length, expr).toBeGreaterThan(0);
    const labels = new Set<string>(SCRAPE_LABELS);
    for (const selector of selectors) {
      const series = seriesOf(selector.name);
      expect(series, `${selector.name} in ${expr} is not a series of NODE_METRICS (histograms: _bucket, _sum, _count only)`).toBeDefined();
      if (series === undefined) continue;
      for (const label of series.labels) labels.add(label);
      for (const matcher of selector.matchers) {
        expect(series.labels, `${selector.name}{${matcher.label}} in ${expr}`).toContain(matcher.label);
        // A label's closed set of values is named in the help of a metric with that label:
        // `state="assigned"` (nativeip_addresses), `command="ADD"` (nativeip_cni_requests_total).
        if (matcher.op === '=') {
          const helps = [...DEFINITIONS.values()].filter((d) => d.labels.includes(matcher.label)).map((d) => d.help);
          expect(helps.join('\n'), `${selector.name}{${matcher.label}="${matcher.value}"}: no metric's help names the value`).toMatch(new RegExp(`\\b${matcher.value}\\b`));
        }
      }
      // The node variable narrows every selector; All is `.*`.
      expect(selector.matchers, `${selector.name} in ${expr} ignores $node`).toContainEqual({ label: 'instance', op: '=~', value: '$node' });
    }
    for (const label of grouping) expect([...labels], `by (${label}) in ${expr}`).toContain(label);
  });

  it('shows what the pool, the pods, the cloud and the daemon report', () => {
    const used = new Set(
      expressions.flatMap(({ expr }) => readPromql(expr).selectors.map((s) => seriesOf(s.name)?.definition.name ?? s.name)),
    );
    const wanted = [
      NODE_METRICS.addresses,
      NODE_METRICS.addressesMax,
      NODE_METRICS.warmPoolBand,
      NODE_METRICS.assignFailures,
      NODE_METRICS.cniRequestDuration,
      NODE_METRICS.cniRequests,
      NODE_METRICS.podsWaiting,
      NODE_METRICS.podWaits,
      NODE_METRICS.cloudApiRequests,
      NODE_METRICS.cloudApiDuration,
      NODE_METRICS.interfaces,
      NODE_METRICS.interfacesMax,
      NODE_METRICS.reconcileFindings,
      NODE_METRICS.leakedInterfacesCollected,
      NODE_METRICS.checkpointWrites,
      NODE_METRICS.buildInfo,
    ].map((d) => d.name);
    expect(wanted.filter((name) => !used.has(name))).toEqual([]);
  });
});
