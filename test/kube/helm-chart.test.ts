/**
 * charts/nativeip against a real kube-apiserver v1.35.4 (etcd + API server on loopback, one for the
 * whole file, as test/kube/manifests.test.ts): `helm template … | kubectl apply --server-side -f -`
 * (and client-side) is accepted as it is; the CRD is established and served; the DaemonSet is
 * stored as rendered; kube-controller-manager type-checks both admission policies without a
 * warning and the API server enforces them on the chart's ServiceAccount; values (the IRSA annotation, the monitors) reach
 * the API; `helm install` takes over a plain `kubectl apply -f manifests/` install as the chart's
 * README says, then upgrades and uninstalls it. Every object the chart renders by default is the manifests' (test/unit/helm-chart.test.ts),
 * whose admission rules test/kube/manifests.test.ts checks one by one.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAllYaml, type V1DaemonSet } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalControlPlane } from '../support/kube/control-plane.js';
import { NATIVEIP_OBJECTS, appliedName, inHelmInstallOrder, kubectlName } from '../support/kube/nativeip-objects.js';
import { runCommand, sleep } from '../support/kube/process.js';

/** The version scripts/install-helm.sh builds (test/unit/helm-chart.test.ts checks they agree). */
const HELM_VERSION = 'v3.22.0';
const CHART = join(import.meta.dirname, '../../charts/nativeip');
const MANIFESTS = join(import.meta.dirname, '../../manifests');
const AGENT = 'system:serviceaccount:kube-system:nativeip';
const NODE_POLICY = "ValidatingAdmissionPolicy 'nativeip-own-node' with binding 'nativeip-own-node' denied request";
const NIPN_POLICY = "ValidatingAdmissionPolicy 'nativeip-own-nativeipnode' with binding 'nativeip-own-nativeipnode' denied request";
const IRSA_ROLE = 'arn:aws:iam::111122223333:role/nativeip';

function helmBinary(): string {
  const path = join(process.env['NATIVEIP_CACHE'] ?? '/var/cache/nativeip', `helm-${HELM_VERSION}`, 'bin', 'helm');
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(`${path} is missing: run 'bash scripts/setup.sh' (it runs scripts/install-helm.sh) to build Helm ${HELM_VERSION}`);
  }
  return path;
}

const work = mkdtempSync(join(tmpdir(), 'nativeip-helm-kube-'));
/** Helm's own state (repositories, plugins, cache) in the test's directory, not the user's. */
const helmEnv = (): NodeJS.ProcessEnv => ({ ...process.env, HELM_CACHE_HOME: work, HELM_CONFIG_HOME: work, HELM_DATA_HOME: work });
let valuesFiles = 0;

/** `helm template nativeip charts/nativeip --namespace kube-system -f <values>`: the YAML stream. */
function template(values: object = {}): string {
  const file = join(work, `values-${(valuesFiles += 1)}.yaml`);
  writeFileSync(file, JSON.stringify(values));
  const result = spawnSync(helmBinary(), ['template', 'nativeip', CHART, '--namespace', 'kube-system', '--kube-version', 'v1.35.4', '-f', file], {
    encoding: 'utf8',
    timeout: 30_000,
    env: helmEnv(),
  });
  if (result.error !== undefined) throw result.error;
  if (result.status !== 0) throw new Error(`helm template failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly generation?: number; readonly labels?: Record<string, string>; readonly annotations?: Record<string, string> };
  readonly [field: string]: unknown;
}

function objectsOf(stream: string): KubeObject[] {
  return (loadAllYaml(stream) as (KubeObject | null)[]).filter((o): o is KubeObject => o !== null);
}

interface Policy extends KubeObject {
  readonly status?: {
    readonly observedGeneration?: number;
    readonly typeChecking?: { readonly expressionWarnings?: readonly { fieldRef: string; warning: string }[] };
    readonly conditions?: readonly { type: string; status: string }[];
  };
}

let cp: LocalControlPlane;
let admin: (args: readonly string[], input?: string) => Promise<string>;
let rendered = '';
let serverSideApply = '';

/** Waits until `check` returns true (it may throw meanwhile), or fails with its last error. */
async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s${last instanceof Error ? `: ${last.message}` : ''}`);
    await sleep(200);
  }
}

beforeAll(async () => {
  // The controller-manager type-checks the admission policies (their status).
  cp = await LocalControlPlane.started({ controllerManager: true });
  try {
    admin = (args, input) => cp.kubectl(args, input !== undefined ? { input } : {});
    rendered = template();
    serverSideApply = await admin(['apply', '--server-side', '-f', '-'], rendered);
    await admin(['wait', '--for=condition=Established', '--timeout=30s', 'crd/nativeipnodes.nativeip.io']);
  } catch (error) {
    await cp.stop();
    throw error;
  }
}, 120_000);

afterAll(async () => {
  await cp.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('helm template | kubectl apply', () => {
  it('server-side applies every object the chart renders, in the order Helm installs them', () => {
    expect(serverSideApply.trim().split('\n')).toEqual(inHelmInstallOrder(NATIVEIP_OBJECTS).map((object) => `${appliedName(object)} serverside-applied`));
  });

  it('applying the same render again changes nothing (the DaemonSet stays at generation 1)', async () => {
    const again = await admin(['apply', '--server-side', '-f', '-'], rendered);
    expect(again.trim().split('\n')).toHaveLength(NATIVEIP_OBJECTS.length);
    const ds = await cp.kubectlJson<V1DaemonSet>(['get', 'daemonset', 'nativeip', '-n', 'kube-system']);
    expect(ds.metadata?.generation).toBe(1);
  });

  it('client-side apply of the same render is accepted too', async () => {
    const out = await admin(['apply', '-f', '-'], rendered);
    expect(out.trim().split('\n')).toHaveLength(NATIVEIP_OBJECTS.length);
  });
});

describe('what the API server made of it', () => {
  it('the CRD is established, its names accepted, and NativeipNodes are served', async () => {
    const crd = await cp.kubectlJson<{ status: { conditions: { type: string; status: string }[] } }>(['get', 'crd', 'nativeipnodes.nativeip.io']);
    const conditions = Object.fromEntries(crd.status.conditions.map((c) => [c.type, c.status]));
    expect(conditions).toMatchObject({ Established: 'True', NamesAccepted: 'True' });
    await admin(['create', '-f', '-'], JSON.stringify({ apiVersion: 'nativeip.io/v1alpha1', kind: 'NativeipNode', metadata: { name: 'node-x' }, spec: {} }));
    expect((await admin(['get', 'nipn', '-o', 'name'])).trim()).toBe('nativeipnode.nativeip.io/node-x');
    await admin(['delete', 'nipn', 'node-x']);
  });

  it("the DaemonSet kube-system/nativeip is stored as rendered, with Helm's labels", async () => {
    const ds = await cp.kubectlJson<V1DaemonSet>(['get', 'daemonset', 'nativeip', '-n', 'kube-system']);
    const want = objectsOf(rendered).find((o) => o.kind === 'DaemonSet') as unknown as V1DaemonSet;
    expect(ds.metadata?.labels).toEqual(want.metadata?.labels);
    expect(ds.metadata?.labels?.['app.kubernetes.io/managed-by']).toBe('Helm');
    expect(ds.spec?.selector).toEqual({ matchLabels: { 'app.kubernetes.io/name': 'nativeip' } });
    expect(ds.spec?.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '10%', maxSurge: 0 } });
    const pod = ds.spec?.template.spec;
    const wantPod = want.spec?.template.spec;
    expect(pod?.serviceAccountName).toBe('nativeip');
    expect(pod?.hostNetwork).toBe(true);
    expect(pod?.priorityClassName).toBe('system-node-critical');
    expect(pod?.affinity).toEqual(wantPod?.affinity);
    expect(pod?.tolerations).toEqual(wantPod?.tolerations);
    expect(pod?.volumes?.map((v) => [v.name, v.hostPath?.path, v.hostPath?.type])).toEqual(wantPod?.volumes?.map((v) => [v.name, v.hostPath?.path, v.hostPath?.type]));
    const ipamd = pod?.containers.find((c) => c.name === 'ipamd');
    const wantIpamd = wantPod?.containers.find((c) => c.name === 'ipamd');
    expect(ipamd?.env).toEqual(wantIpamd?.env?.map((v) => (v.valueFrom?.fieldRef !== undefined ? { ...v, valueFrom: { fieldRef: { apiVersion: 'v1', ...v.valueFrom.fieldRef } } } : v)));
    expect(ipamd?.ports).toEqual(wantIpamd?.ports);
    expect(ipamd?.resources).toEqual(wantIpamd?.resources);
    expect(ipamd?.readinessProbe?.httpGet).toEqual({ ...wantIpamd?.readinessProbe?.httpGet, scheme: 'HTTP' });
    expect(ipamd?.livenessProbe?.httpGet).toEqual({ ...wantIpamd?.livenessProbe?.httpGet, scheme: 'HTTP' });
    expect(ipamd?.securityContext).toEqual({ privileged: true });
  });

  it('type-checks both admission policies without a warning', async () => {
    for (const name of ['nativeip-own-node', 'nativeip-own-nativeipnode']) {
      let policy: Policy | undefined;
      // kube-controller-manager type-checks a policy's CEL against the types it names, asynchronously,
      // and records the result in the policy's status.
      await eventually(`${name} type-checked`, async () => {
        policy = await cp.kubectlJson<Policy>(['get', 'validatingadmissionpolicy', name]);
        return policy.status?.observedGeneration === policy.metadata.generation && policy.status?.typeChecking !== undefined;
      });
      expect(policy?.status?.typeChecking?.expressionWarnings ?? [], name).toEqual([]);
      const binding = await cp.kubectlJson<{ spec: { policyName: string; validationActions: string[] } }>(['get', 'validatingadmissionpolicybinding', name]);
      expect(binding.spec).toEqual({ policyName: name, validationActions: ['Deny'] });
    }
  });

  it("enforces them on the chart's ServiceAccount: without a node-bound token the agent may not touch a Node or a NativeipNode", async () => {
    await admin(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a' } }));
    const asAgent = (args: readonly string[], input?: string): Promise<string> => admin([`--as=${AGENT}`, ...args], input);
    // RBAC lets the agent patch Nodes; the policy (read by the API server asynchronously) refuses it.
    await eventually('the Node policy enforced', async () => {
      try {
        await asAgent(['label', 'node', 'node-a', 'example.com/x=y', '--dry-run=server']);
        return false;
      } catch (error) {
        const message = (error as Error).message;
        if (message.includes(NODE_POLICY)) return true;
        throw error;
      }
    });
    await expect(asAgent(['label', 'node', 'node-a', 'example.com/x=y'])).rejects.toThrow(`${NODE_POLICY}: node-claim:`);
    await eventually('the NativeipNode policy enforced', async () => {
      try {
        await asAgent(['create', '--dry-run=server', '-f', '-'], JSON.stringify({ apiVersion: 'nativeip.io/v1alpha1', kind: 'NativeipNode', metadata: { name: 'node-a' }, spec: {} }));
        return false;
      } catch (error) {
        if ((error as Error).message.includes(`${NIPN_POLICY}: node-claim:`)) return true;
        throw error;
      }
    });
    // An administrator is not restricted.
    await admin(['label', 'node', 'node-a', 'example.com/x=y']);
  });
});

describe('values reach the API server', () => {
  it('serviceAccount.annotations: the IRSA role annotation on kube-system/nativeip', async () => {
    const out = await admin(['apply', '--server-side', '-f', '-'], template({ serviceAccount: { annotations: { 'eks.amazonaws.com/role-arn': IRSA_ROLE } } }));
    expect(out).toContain('serviceaccount/nativeip serverside-applied');
    const sa = await cp.kubectlJson<KubeObject>(['get', 'serviceaccount', 'nativeip', '-n', 'kube-system']);
    expect(sa.metadata.annotations?.['eks.amazonaws.com/role-arn']).toBe(IRSA_ROLE);
  });

  it('taintExhaustedNodes: false and metrics off change the DaemonSet in place', async () => {
    await admin(['apply', '--server-side', '-f', '-'], template({ taintExhaustedNodes: false, metrics: { enabled: false, port: 61678 } }));
    const ds = await cp.kubectlJson<V1DaemonSet>(['get', 'daemonset', 'nativeip', '-n', 'kube-system']);
    const ipamd = ds.spec?.template.spec?.containers.find((c) => c.name === 'ipamd');
    const env = Object.fromEntries((ipamd?.env ?? []).map((v) => [v.name, v.value]));
    expect(env).toMatchObject({ NATIVEIP_TAINT_EXHAUSTED_NODES: 'false', DISABLE_METRICS: 'true' });
    expect(ipamd?.ports).toBeUndefined();
    expect(ds.metadata?.generation).toBe(2);
    // And back to the defaults.
    await admin(['apply', '--server-side', '-f', '-'], rendered);
  });

  it('podMonitor and serviceMonitor: the headless Service, the PodMonitor and the ServiceMonitor are accepted (with stand-ins for the Operator CRDs)', async () => {
    const operatorCrd = (kind: string, plural: string): object => ({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `${plural}.monitoring.coreos.com` },
      spec: {
        group: 'monitoring.coreos.com',
        scope: 'Namespaced',
        names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
      },
    });
    await admin(['apply', '--server-side', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [operatorCrd('PodMonitor', 'podmonitors'), operatorCrd('ServiceMonitor', 'servicemonitors')] }));
    await admin(['wait', '--for=condition=Established', '--timeout=30s', 'crd/podmonitors.monitoring.coreos.com', 'crd/servicemonitors.monitoring.coreos.com']);
    const out = await admin(['apply', '--server-side', '-f', '-'], template({ podMonitor: { enabled: true }, serviceMonitor: { enabled: true } }));
    for (const object of ['service/nativeip-metrics', 'podmonitor.monitoring.coreos.com/nativeip', 'servicemonitor.monitoring.coreos.com/nativeip']) {
      expect(out).toContain(`${object} serverside-applied`);
    }
    const service = await cp.kubectlJson<{ spec: { clusterIP: string; selector: Record<string, string>; ports: { name: string; port: number }[] } }>(['get', 'service', 'nativeip-metrics', '-n', 'kube-system']);
    expect(service.spec.clusterIP).toBe('None');
    expect(service.spec.selector).toEqual({ 'app.kubernetes.io/name': 'nativeip' });
    expect(service.spec.ports.map((p) => [p.name, p.port])).toEqual([['metrics', 61678]]);
  });
});

describe("helm install over a plain install (the chart's README, \"From the plain manifests to the chart\")", () => {
  /** The README's list (every object of manifests/), as `kubectl -n kube-system <verb> <object>` takes it. */
  const OBJECTS = NATIVEIP_OBJECTS.map(kubectlName);
  const helm = (args: readonly string[]): Promise<string> =>
    runCommand(helmBinary(), [...args, '--namespace', 'kube-system', `--kubeconfig=${cp.adminKubeconfigPath}`], { env: helmEnv(), timeoutMs: 60_000 });
  const ipamdEnv = async (): Promise<Record<string, string | undefined>> => {
    const ds = await cp.kubectlJson<V1DaemonSet>(['get', 'daemonset', 'nativeip', '-n', 'kube-system']);
    const ipamd = ds.spec?.template.spec?.containers.find((c) => c.name === 'ipamd');
    return Object.fromEntries((ipamd?.env ?? []).map((v) => [v.name, v.value]));
  };

  beforeAll(async () => {
    // From the chart's render to what `kubectl apply -f manifests/` leaves.
    await admin(['delete', '--ignore-not-found', '-f', '-'], template({ podMonitor: { enabled: true }, serviceMonitor: { enabled: true } }));
    const applied = await admin(['apply', '--server-side', '-f', MANIFESTS]);
    expect(applied.trim().split('\n')).toHaveLength(OBJECTS.length);
  }, 120_000);

  it('refuses to take over objects without the release marks', async () => {
    await expect(helm(['install', 'nativeip', CHART])).rejects.toThrow(/exists and cannot be imported into the current release: invalid ownership metadata/);
  });

  it('takes them over once they carry them, upgrades a value and uninstalls', async () => {
    for (const object of OBJECTS) {
      await admin(['-n', 'kube-system', 'label', object, 'app.kubernetes.io/managed-by=Helm', '--overwrite']);
      await admin(['-n', 'kube-system', 'annotate', object, 'meta.helm.sh/release-name=nativeip', 'meta.helm.sh/release-namespace=kube-system', '--overwrite']);
    }
    await helm(['install', 'nativeip', CHART]);
    const status = JSON.parse(await helm(['status', 'nativeip', '-o', 'json'])) as { info: { status: string }; version: number };
    expect(status).toMatchObject({ info: { status: 'deployed' }, version: 1 });
    const ds = await cp.kubectlJson<V1DaemonSet>(['get', 'daemonset', 'nativeip', '-n', 'kube-system']);
    expect(ds.metadata?.labels?.['helm.sh/chart']).toBe('nativeip-0.1.0');

    await helm(['upgrade', 'nativeip', CHART, '--set', 'taintExhaustedNodes=false', '--set', 'env.CLUSTER_NAME=prod-1']);
    expect(await ipamdEnv()).toMatchObject({ NATIVEIP_TAINT_EXHAUSTED_NODES: 'false', CLUSTER_NAME: 'prod-1' });
    await expect(helm(['upgrade', 'nativeip', CHART, '--set', 'metrics.enabled=maybe'])).rejects.toThrow("at '/metrics/enabled': got string, want boolean");

    await helm(['uninstall', 'nativeip', '--wait']);
    for (const object of OBJECTS) {
      expect(await admin(['-n', 'kube-system', 'get', object, '--ignore-not-found', '-o', 'name']), object).toBe('');
    }
  });
});
