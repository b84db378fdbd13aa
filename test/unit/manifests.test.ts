/**
 * The shipped manifests, read as files: names and order, the DaemonSet against the daemon's own
 * config loader, RBAC verbs, the CRD's schema and columns, the admission policies' shape. What
 * the API server makes of them is test/kube/manifests.test.ts.
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
  type V1ServiceAccount,
  type V1ValidatingAdmissionPolicy,
  type V1ValidatingAdmissionPolicyBinding,
} from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { loadDaemonConfig, usesAdaptiveDefault } from '../../src/ipamd/config/config.js';
import { KNOWN_NAMES } from '../../src/ipamd/config/config-variables.js';

const DIR = join(import.meta.dirname, '../../manifests');
const FILES = readdirSync(DIR).sort();

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

  it('uses the locally loaded image in every container', () => {
    expect([...initContainers, ...containers].map((c) => [c.name, c.image, c.imagePullPolicy])).toEqual([
      ['install-cni', 'localhost/nativeip:0.1.0', 'IfNotPresent'],
      ['ipamd', 'localhost/nativeip:0.1.0', 'IfNotPresent'],
    ]);
    for (const c of [...initContainers, ...containers]) expect(c.securityContext?.privileged, c.name).toBe(true);
  });

  it('installs the plugin with `nativeip install-cni`, then runs nativeip-ipamd', () => {
    expect(initContainers[0]?.command).toEqual(['nativeip', 'install-cni', '--bin-dir', '/host/opt/cni/bin']);
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
