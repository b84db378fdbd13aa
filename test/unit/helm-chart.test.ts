/**
 * charts/nativeip, rendered by the real `helm template` (v3.22.0, built by scripts/install-helm.sh):
 * with the default values it renders the objects of manifests/*.yaml, the same but for Helm's
 * labels (this is what keeps the plain manifests and the chart in step); values.yaml's env lists
 * every variable the daemon reads, each with its default; values show up where they belong; `helm
 * lint` passes and values.schema.json refuses nonsense. What the API server makes of the render is
 * test/kube/helm-chart.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAllYaml, loadYaml, type V1Container, type V1DaemonSet, type V1EnvVar, type V1ServiceAccount } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDaemonConfig, usesAdaptiveDefault } from '../../src/ipamd/config/config.js';
import { CONFIG_VARIABLES, KNOWN_NAMES } from '../../src/ipamd/config/config-variables.js';
import { CLOUD_PLUGINS } from '../../src/ipamd/clouds.js';

/** The version scripts/install-helm.sh builds (checked below). */
const HELM_VERSION = 'v3.22.0';
const ROOT = join(import.meta.dirname, '../..');
const CHART = join(ROOT, 'charts/nativeip');
const MANIFESTS = join(ROOT, 'manifests');
const NAMESPACE = 'kube-system';

function helmBinary(env: NodeJS.ProcessEnv = process.env): string {
  const path = join(env['NATIVEIP_CACHE'] ?? '/var/cache/nativeip', `helm-${HELM_VERSION}`, 'bin', 'helm');
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(`${path} is missing: run 'bash scripts/setup.sh' (it runs scripts/install-helm.sh) to build Helm ${HELM_VERSION}`);
  }
  return path;
}

interface HelmResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runHelm(args: readonly string[]): HelmResult {
  const result = spawnSync(helmBinary(), args, { encoding: 'utf8', timeout: 30_000, env: { ...process.env, HELM_CACHE_HOME: work, HELM_CONFIG_HOME: work, HELM_DATA_HOME: work } });
  if (result.error !== undefined) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const work = mkdtempSync(join(tmpdir(), 'nativeip-helm-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let valuesFiles = 0;

/** `helm template nativeip charts/nativeip -n kube-system` with `values` (as a -f file, as a user would give them). */
function template(values: object = {}): HelmResult {
  const file = join(work, `values-${(valuesFiles += 1)}.yaml`);
  writeFileSync(file, JSON.stringify(values));
  return runHelm(['template', 'nativeip', CHART, '--namespace', NAMESPACE, '-f', file]);
}

interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string>; readonly annotations?: Record<string, string> };
  readonly [field: string]: unknown;
}

function render(values: object = {}): KubeObject[] {
  const result = template(values);
  if (result.status !== 0) throw new Error(`helm template failed (${result.status}): ${result.stderr}`);
  return (loadAllYaml(result.stdout) as (KubeObject | null)[]).filter((o): o is KubeObject => o !== null);
}

/** helm template's error for values it must refuse. */
function refusal(values: object): string {
  const result = template(values);
  expect(result.status, `helm template accepted ${JSON.stringify(values)}`).not.toBe(0);
  return result.stderr;
}

function manifestObjects(dir: string): KubeObject[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.yaml'))
    .map((entry) => entry.name)
    .sort()
    .flatMap((file) => loadAllYaml(readFileSync(join(dir, file), 'utf8')) as KubeObject[]);
}

const key = (o: KubeObject): string => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

function find(objects: readonly KubeObject[], kind: string, name: string): KubeObject {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  expect(found, `${kind}/${name}`).toHaveLength(1);
  return found[0] as KubeObject;
}

/** Helm's labels, on every object of the chart beside the manifests' app.kubernetes.io/name. */
const HELM_LABELS = {
  'app.kubernetes.io/instance': 'nativeip',
  'app.kubernetes.io/version': '0.1.0',
  'app.kubernetes.io/managed-by': 'Helm',
  'helm.sh/chart': 'nativeip-0.1.0',
};

/** The object without Helm's labels, to compare with a manifest's. */
function withoutHelmLabels(object: KubeObject): KubeObject {
  const labels = Object.fromEntries(Object.entries(object.metadata.labels ?? {}).filter(([name]) => !(name in HELM_LABELS)));
  return { ...object, metadata: { ...object.metadata, labels } };
}

/** A DaemonSet with its container env sorted by name: the chart lists the variables of its env map in name order. */
function envSorted(ds: V1DaemonSet): V1DaemonSet {
  const sortContainer = (c: V1Container): V1Container =>
    c.env === undefined ? c : { ...c, env: [...c.env].sort((a, b) => a.name.localeCompare(b.name)) };
  const spec = ds.spec?.template.spec;
  if (ds.spec === undefined || spec === undefined) throw new Error('DaemonSet without a pod spec');
  return {
    ...ds,
    spec: { ...ds.spec, template: { ...ds.spec.template, spec: { ...spec, containers: spec.containers.map(sortContainer) } } },
  };
}

function daemonSetOf(objects: readonly KubeObject[]): V1DaemonSet {
  return find(objects, 'DaemonSet', 'nativeip') as unknown as V1DaemonSet;
}

function ipamdOf(objects: readonly KubeObject[]): V1Container {
  const ipamd = daemonSetOf(objects).spec?.template.spec?.containers.find((c) => c.name === 'ipamd');
  if (ipamd === undefined) throw new Error('no ipamd container');
  return ipamd;
}

/** The ipamd container's env as the kubelet would give it, `node-a` for the downward API. */
function envOf(container: V1Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of container.env ?? []) {
    if (variable.valueFrom?.fieldRef?.fieldPath === 'spec.nodeName') env[variable.name] = 'node-a';
    else if (variable.value !== undefined) env[variable.name] = variable.value;
  }
  return env;
}

const manifests = manifestObjects(MANIFESTS);
const defaults = render();
const valuesText = readFileSync(join(CHART, 'values.yaml'), 'utf8');
const values = loadYaml(valuesText) as { env: Record<string, unknown>; image: { tag: string } };
const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as {
  properties: { env: { additionalProperties: boolean; properties: Record<string, unknown> } };
};

describe('helm and the chart', () => {
  it(`the helm tests use is the one scripts/install-helm.sh builds (${HELM_VERSION})`, () => {
    const script = readFileSync(join(ROOT, 'scripts/install-helm.sh'), 'utf8');
    expect(/^HELM_VERSION=(\S+)$/m.exec(script)?.[1]).toBe(HELM_VERSION);
    expect(runHelm(['version', '--template', '{{.Version}}']).stdout).toBe(HELM_VERSION);
  });

  it("has package.json's version, as chart version and appVersion, and the image tag", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const chart = loadYaml(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as { apiVersion: string; version: string; appVersion: string };
    expect(chart).toMatchObject({ apiVersion: 'v2', version: pkg.version, appVersion: pkg.version });
    expect(values.image.tag).toBe(pkg.version);
  });

  it('passes helm lint --strict', () => {
    const result = runHelm(['lint', '--strict', CHART]);
    expect(result.stderr + result.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(result.status).toBe(0);
  });
});

describe('the default render is manifests/*.yaml', () => {
  it('has the same objects: kinds, names, namespaces', () => {
    expect(defaults.map(key).sort()).toEqual(manifests.map(key).sort());
    for (const object of defaults) expect(object.apiVersion, key(object)).toBe(manifests.find((m) => key(m) === key(object))?.apiVersion);
  });

  it("labels every object as the manifests do, plus Helm's labels", () => {
    for (const object of defaults) expect(object.metadata.labels, key(object)).toEqual({ 'app.kubernetes.io/name': 'nativeip', ...HELM_LABELS });
  });

  it.each(manifests.filter((m) => m.kind !== 'DaemonSet').map((m) => [key(m), m] as const))('%s is the manifest, but for labels', (name, manifest) => {
    const rendered = defaults.find((o) => key(o) === name);
    expect(rendered).toBeDefined();
    if (rendered !== undefined) expect(withoutHelmLabels(rendered)).toEqual(manifest);
  });

  it("the DaemonSet is the manifest's: selector, update strategy and the whole pod spec (containers, env, volumes, securityContext, probes, ports)", () => {
    const rendered = envSorted(withoutHelmLabels(daemonSetOf(defaults) as unknown as KubeObject) as unknown as V1DaemonSet);
    const manifest = envSorted(daemonSetOf(manifests));
    expect(rendered.spec?.template.spec).toEqual(manifest.spec?.template.spec);
    expect(rendered).toEqual(manifest);
  });

  it("the daemon's config loader accepts the rendered env, and the adaptive default applies (no WARM_ENI_TARGET)", () => {
    const env = envOf(ipamdOf(defaults));
    expect(Object.keys(env).filter((name) => !KNOWN_NAMES.has(name))).toEqual([]);
    expect(env).not.toHaveProperty('WARM_ENI_TARGET');
    expect(usesAdaptiveDefault(loadDaemonConfig(env))).toBe(true);
  });

  it('renders no monitoring objects by default', () => {
    expect(defaults.filter((o) => ['PodMonitor', 'ServiceMonitor', 'Service'].includes(o.kind))).toEqual([]);
  });
});

describe("values.yaml's env", () => {
  const allVariables = CONFIG_VARIABLES.flatMap((v) => (v.fallbackEnv === undefined ? [v.env] : [v.env, v.fallbackEnv]));
  const pluginVariables = CLOUD_PLUGINS.flatMap((plugin) =>
    Object.values(plugin.settings as Record<string, { env: string; fallbackEnv?: string }>).flatMap((s) => [s.env, ...(s.fallbackEnv === undefined ? [] : [s.fallbackEnv])]),
  );

  it('lists every variable of CONFIG_VARIABLES, and nothing else', () => {
    expect(Object.keys(values.env).sort()).toEqual([...new Set(allVariables)].sort());
  });

  it.each(CLOUD_PLUGINS.map((p) => p.name))("lists each setting of the %s plugin", (cloud) => {
    const plugin = CLOUD_PLUGINS.find((p) => p.name === cloud);
    const names = Object.values((plugin?.settings ?? {}) as Record<string, { env: string }>).map((s) => s.env);
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(values.env, name).toHaveProperty(name);
    expect(pluginVariables).toEqual(expect.arrayContaining(names));
  });

  it.each(CONFIG_VARIABLES.map((v) => [v.env, v] as const))('documents %s with its default in a comment', (name, variable) => {
    // The comment block right above `  NAME:`, its lines joined.
    const lines = valuesText.split('\n');
    const at = lines.findIndex((line) => line.startsWith(`  ${name}:`));
    expect(at, name).toBeGreaterThan(0);
    const comment: string[] = [];
    for (let i = at - 1; i >= 0 && /^ {2}#/.test(lines[i] ?? ''); i -= 1) comment.unshift((lines[i] ?? '').replace(/^ {2}# ?/, ''));
    expect(comment.join(' ')).toContain(`${name} — default: ${variable.default}.`);
  });

  it('leaves every variable unset but NATIVEIP_KUBERNETES=auto and NATIVEIP_LOG_LEVEL=info (as the manifest); never WARM_ENI_TARGET', () => {
    const set = Object.fromEntries(Object.entries(values.env).filter(([, value]) => value !== ''));
    expect(set).toEqual({ NATIVEIP_KUBERNETES: 'auto', NATIVEIP_LOG_LEVEL: 'info' });
    expect(values.env['WARM_ENI_TARGET']).toBe('');
  });

  it('has a schema entry for each variable, and refuses others', () => {
    expect(Object.keys(schema.properties.env.properties).sort()).toEqual(Object.keys(values.env).sort());
    expect(schema.properties.env.additionalProperties).toBe(false);
  });
});

describe('values show up in the render', () => {
  it('env values reach the container as strings the daemon accepts: numbers, booleans, text', () => {
    const env = { WARM_IP_TARGET: 5, MINIMUM_IP_TARGET: '10', ENABLE_PREFIX_DELEGATION: true, IP_COOLDOWN_PERIOD: 2147483, AWS_VPC_ENI_MTU: 1500, CLUSTER_NAME: 'prod-1', AWS_REGION: 'eu-west-1', NATIVEIP_LOG_LEVEL: 'debug' };
    const rendered = envOf(ipamdOf(render({ env })));
    expect(rendered).toMatchObject({
      WARM_IP_TARGET: '5',
      MINIMUM_IP_TARGET: '10',
      ENABLE_PREFIX_DELEGATION: 'true',
      IP_COOLDOWN_PERIOD: '2147483',
      AWS_VPC_ENI_MTU: '1500',
      CLUSTER_NAME: 'prod-1',
      AWS_REGION: 'eu-west-1',
      NATIVEIP_LOG_LEVEL: 'debug',
    });
    const config = loadDaemonConfig(rendered);
    expect(config).toMatchObject({ warmIpTarget: 5, minimumIpTarget: 10, prefixDelegation: true, ipCooldownMs: 2_147_483_000, mtu: 1500, logLevel: 'debug' });
    const names = (ipamdOf(render({ env })).env ?? []).map((v) => v.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('WARM_ENI_TARGET only when given', () => {
    expect(envOf(ipamdOf(render({ env: { WARM_ENI_TARGET: 1 } })))['WARM_ENI_TARGET']).toBe('1');
  });

  it('extraEnv is appended as given', () => {
    const extra: V1EnvVar[] = [{ name: 'HTTPS_PROXY', value: 'http://proxy:3128' }, { name: 'NO_PROXY', value: '169.254.169.254' }];
    expect(ipamdOf(render({ extraEnv: extra })).env?.slice(-2)).toEqual(extra);
  });

  it('serviceAccount.annotations: the IRSA role on the ServiceAccount', () => {
    const arn = 'arn:aws:iam::111122223333:role/nativeip';
    const sa = find(render({ serviceAccount: { annotations: { 'eks.amazonaws.com/role-arn': arn } } }), 'ServiceAccount', 'nativeip') as unknown as V1ServiceAccount;
    expect(sa.metadata?.annotations).toEqual({ 'eks.amazonaws.com/role-arn': arn });
    expect((find(defaults, 'ServiceAccount', 'nativeip') as unknown as V1ServiceAccount).metadata?.annotations).toBeUndefined();
  });

  it('taintExhaustedNodes: false sets NATIVEIP_TAINT_EXHAUSTED_NODES=false', () => {
    const env = envOf(ipamdOf(render({ taintExhaustedNodes: false })));
    expect(env['NATIVEIP_TAINT_EXHAUSTED_NODES']).toBe('false');
    expect(loadDaemonConfig(env).taintExhaustedNodes).toBe(false);
    expect(loadDaemonConfig(envOf(ipamdOf(defaults))).taintExhaustedNodes).toBe(true);
  });

  it('metrics.enabled: false sets DISABLE_METRICS=true and drops the port', () => {
    const ipamd = ipamdOf(render({ metrics: { enabled: false, port: 61678 } }));
    expect(ipamd.ports).toBeUndefined();
    expect(envOf(ipamd)['DISABLE_METRICS']).toBe('true');
    expect(loadDaemonConfig(envOf(ipamd)).disableMetrics).toBe(true);
  });

  it('metrics.port moves the named port and NATIVEIP_METRICS_ADDRESS together', () => {
    const ipamd = ipamdOf(render({ metrics: { enabled: true, port: 9178 } }));
    expect(ipamd.ports).toEqual([{ name: 'metrics', containerPort: 9178, protocol: 'TCP' }]);
    expect(loadDaemonConfig(envOf(ipamd)).metricsAddress).toEqual({ host: '0.0.0.0', port: 9178 });
  });

  it('podMonitor.enabled renders manifests/monitoring/podmonitor.yaml (but for labels, plus any given)', () => {
    const objects = render({ podMonitor: { enabled: true, labels: { release: 'kube-prometheus-stack' } } });
    const podMonitor = find(objects, 'PodMonitor', 'nativeip');
    expect(podMonitor.metadata.labels).toEqual({ 'app.kubernetes.io/name': 'nativeip', ...HELM_LABELS, release: 'kube-prometheus-stack' });
    const [manifest] = manifestObjects(join(MANIFESTS, 'monitoring')).filter((o) => o.kind === 'PodMonitor');
    const labels = Object.fromEntries(Object.entries(withoutHelmLabels(podMonitor).metadata.labels ?? {}).filter(([name]) => name !== 'release'));
    expect({ ...withoutHelmLabels(podMonitor), metadata: { ...podMonitor.metadata, labels } }).toEqual(manifest);
    expect(objects.filter((o) => o.kind === 'ServiceMonitor')).toEqual([]);
  });

  it('serviceMonitor.enabled renders manifests/monitoring/servicemonitor.yaml: the Service and the ServiceMonitor', () => {
    const objects = render({ serviceMonitor: { enabled: true } });
    const expected = manifestObjects(join(MANIFESTS, 'monitoring')).filter((o) => o.kind === 'Service' || o.kind === 'ServiceMonitor');
    expect(expected).toHaveLength(2);
    for (const manifest of expected) expect(withoutHelmLabels(find(objects, manifest.kind, manifest.metadata.name))).toEqual(manifest);
  });

  it('resources, image, scheduling, priority and update strategy', () => {
    const resources = { requests: { cpu: '50m', memory: '256Mi' }, limits: { memory: '512Mi' } };
    const objects = render({
      resources,
      image: { repository: 'registry.example.com/nativeip', tag: '0.1.0-rc1', pullPolicy: 'Always' },
      nodeSelector: { 'nativeip.io/enabled': 'true' },
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'net', effect: 'NoSchedule' }],
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: ['linux'] }] }] } } },
      priorityClassName: 'nativeip-critical',
      updateStrategy: { type: 'OnDelete' },
    });
    const ds = daemonSetOf(objects);
    const pod = ds.spec?.template.spec;
    expect(ipamdOf(objects).resources).toEqual(resources);
    expect([...(pod?.initContainers ?? []), ...(pod?.containers ?? [])].map((c) => `${c.image ?? ''} ${c.imagePullPolicy ?? ''}`)).toEqual([
      'registry.example.com/nativeip:0.1.0-rc1 Always',
      'registry.example.com/nativeip:0.1.0-rc1 Always',
    ]);
    expect(pod?.nodeSelector).toEqual({ 'nativeip.io/enabled': 'true' });
    expect(pod?.tolerations).toEqual([{ key: 'dedicated', operator: 'Equal', value: 'net', effect: 'NoSchedule' }]);
    expect(pod?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms).toHaveLength(1);
    expect(pod?.priorityClassName).toBe('nativeip-critical');
    expect(ds.spec?.updateStrategy).toEqual({ type: 'OnDelete' });
  });

  it('the release namespace names the agent in the admission policies and the binding', () => {
    const file = join(work, 'empty.yaml');
    writeFileSync(file, '{}');
    const result = runHelm(['template', 'nativeip', CHART, '--namespace', 'nativeip-system', '-f', file]);
    expect(result.status).toBe(0);
    const objects = (loadAllYaml(result.stdout) as (KubeObject | null)[]).filter((o): o is KubeObject => o !== null);
    const policies = objects.filter((o) => o.kind === 'ValidatingAdmissionPolicy');
    expect(policies).toHaveLength(2);
    for (const policy of policies) expect(JSON.stringify(policy)).toContain("request.userInfo.username == 'system:serviceaccount:nativeip-system:nativeip'");
    expect(JSON.stringify(find(objects, 'ClusterRoleBinding', 'nativeip'))).toContain('"namespace":"nativeip-system"');
  });
});

describe('values.schema.json refuses nonsense before rendering', () => {
  it.each([
    ['metrics.enabled: "maybe"', { metrics: { enabled: 'maybe', port: 61678 } }, "at '/metrics/enabled': got string, want boolean"],
    ['taintExhaustedNodes: "false" (a string)', { taintExhaustedNodes: 'false' }, "at '/taintExhaustedNodes': got string, want boolean"],
    ['metrics.port: 70000', { metrics: { enabled: true, port: 70000 } }, "at '/metrics/port'"],
    ['a misspelt variable', { env: { WARM_IP_TARGTE: '1' } }, "additional properties 'WARM_IP_TARGTE' not allowed"],
    ['a boolean variable set to yes', { env: { ENABLE_PREFIX_DELEGATION: 'yes' } }, "at '/env/ENABLE_PREFIX_DELEGATION'"],
    ['a count that is no number', { env: { WARM_IP_TARGET: 'five' } }, "at '/env/WARM_IP_TARGET'"],
    ['an MTU below 576', { env: { AWS_VPC_ENI_MTU: 100 } }, "at '/env/AWS_VPC_ENI_MTU'"],
    ['an unknown cloud', { env: { NATIVEIP_CLOUD: 'no-such-cloud' } }, "at '/env/NATIVEIP_CLOUD'"],
    ['a variable the chart sets', { env: { MY_NODE_NAME: 'node-a' } }, "at '/env/MY_NODE_NAME'"],
    ['an unknown top-level value', { metric: { enabled: false } }, "additional properties 'metric' not allowed"],
    ['an image pull policy Kubernetes does not know', { image: { repository: 'x', tag: '1', pullPolicy: 'Sometimes' } }, "at '/image/pullPolicy'"],
    ['an update strategy Kubernetes does not know', { updateStrategy: { type: 'Surge' } }, "at '/updateStrategy/type'"],
  ])('%s', (_name, given, message) => {
    const error = refusal(given);
    expect(error).toContain("values don't meet the specifications of the schema");
    expect(error).toContain(message);
  });

  it('a monitor without metrics is refused by the templates', () => {
    expect(refusal({ metrics: { enabled: false, port: 61678 }, podMonitor: { enabled: true } })).toContain('podMonitor.enabled needs metrics.enabled');
    expect(refusal({ metrics: { enabled: false, port: 61678 }, serviceMonitor: { enabled: true } })).toContain('serviceMonitor.enabled needs metrics.enabled');
  });
});
