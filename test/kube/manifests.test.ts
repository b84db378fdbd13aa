/**
 * manifests/ against a real kube-apiserver v1.35.4 (etcd + API server on loopback, one for the
 * whole file): they apply as they are, server-side and client-side; the ServiceAccount may do
 * exactly what the daemon does; the admission policies let the agent of node-a write only its
 * own Node's nativeip condition and taint and its own NativeipNode, with a token bound to its
 * pod as the kubelet would project it; `kubectl get nativeipnodes` shows the columns.
 *
 * The agent's writes are the daemon's own requests (a strategic-merge patch of nodes/status, a
 * JSON patch of the Node guarded by its resourceVersion, merge patches of the NativeipNode), sent
 * over HTTPS with its token: kubectl's `patch --subresource=status` first GETs nodes/status,
 * which the daemon does not need and is not granted.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeBinary } from '../support/kube/binaries.js';
import { LocalControlPlane } from '../support/kube/control-plane.js';
import { NATIVEIP_OBJECTS, appliedName } from '../support/kube/nativeip-objects.js';
import { runCommand, sleep } from '../support/kube/process.js';

const MANIFESTS = join(import.meta.dirname, '../../manifests');
const AGENT = 'system:serviceaccount:kube-system:nativeip';
const TAINT_KEY = 'nativeip.io/addresses-exhausted';
const CONDITION = 'NativeipAddressesAvailable';
const NODE_POLICY = "ValidatingAdmissionPolicy 'nativeip-own-node' with binding 'nativeip-own-node' denied request";
const NIPN_POLICY =
  "ValidatingAdmissionPolicy 'nativeip-own-nativeipnode' with binding 'nativeip-own-nativeipnode' denied request";
const NIPN_PATH = '/apis/nativeip.io/v1alpha1/nativeipnodes';

const STRATEGIC = 'application/strategic-merge-patch+json';
const JSON_PATCH = 'application/json-patch+json';
const MERGE = 'application/merge-patch+json';

/** kubectl as one client: `args`, and optionally stdin. Rejects with kubectl's stderr. */
type Kubectl = (args: readonly string[], input?: string) => Promise<string>;

interface ApiReply {
  readonly status: number;
  readonly body: unknown;
}
/** One request to the API server as one client; resolves with any HTTP status. */
type Api = (method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown, contentType?: string) => Promise<ApiReply>;

/** A client with the nativeip ServiceAccount's token: the daemon's requests, and kubectl. */
interface Agent {
  readonly api: Api;
  readonly kubectl: Kubectl;
}

interface Taint {
  readonly key: string;
  readonly value?: string;
  readonly effect: string;
}
interface Condition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
}
interface Node {
  readonly metadata: {
    readonly name: string;
    readonly uid: string;
    readonly resourceVersion: string;
    readonly labels?: Record<string, string>;
    readonly annotations?: Record<string, string>;
  };
  readonly spec: { readonly taints?: readonly Taint[]; readonly unschedulable?: boolean; readonly podCIDR?: string };
  readonly status: { readonly conditions?: readonly Condition[]; readonly capacity?: Record<string, string> };
}

const cp = new LocalControlPlane();
let admin: Kubectl;
/** The agent on node-a: a token bound to a pod on node-a, as the kubelet projects it. */
let agentA: Agent;
/** The same ServiceAccount with a token bound to nothing: no node-name claim. */
let unbound: Agent;
let serverSideApply = '';
/** node-a and node-b as created, to show refused requests changed nothing. */
const created = new Map<string, Node>();

function seconds(date = new Date()): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z');
}

function apiWithToken(token: string): Api {
  const ca = readFileSync(cp.caPath);
  return (method, path, body, contentType = 'application/json') =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        `${cp.server}${path}`,
        {
          method,
          ca,
          timeout: 10_000,
          headers: {
            authorization: `Bearer ${token}`,
            accept: 'application/json',
            ...(payload !== undefined ? { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) } : {}),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text === '' ? undefined : (JSON.parse(text) as unknown) }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', reject);
      req.end(payload);
    });
}

/** The reply's object; throws with the API server's message unless it is a success. */
function ok<T>(reply: ApiReply): T {
  if (reply.status >= 200 && reply.status < 300) return reply.body as T;
  throw new Error(`expected success, got ${reply.status}: ${statusMessage(reply)}`);
}

function statusMessage(reply: ApiReply): string {
  const body = reply.body as { kind?: string; message?: string } | undefined;
  return body?.kind === 'Status' ? (body.message ?? '') : JSON.stringify(body);
}

/** `403 <message>` of a refusal, to match against the policy and the rule. */
function refusal(reply: ApiReply): string {
  return `${reply.status} ${statusMessage(reply)}`;
}

function nodeManifest(name: string, address: string): object {
  const now = seconds();
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'node.kubernetes.io/instance-type': 'm5.xlarge' } },
    spec: {
      providerID: `aws:///us-east-1a/i-0${name}`,
      taints: [{ key: 'example.com/dedicated', value: 'infra', effect: 'NoSchedule' }],
    },
    status: {
      capacity: { cpu: '4', memory: '16Gi', pods: '58' },
      allocatable: { cpu: '3920m', memory: '15Gi', pods: '58' },
      addresses: [{ type: 'InternalIP', address }],
      conditions: [
        { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', lastHeartbeatTime: now, lastTransitionTime: now },
        { type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: now, lastTransitionTime: now },
      ],
    },
  };
}

/** The daemon's condition write: strategic merge on nodes/status, conditions merge by type. */
function patchCondition(
  agent: Agent,
  node: string,
  condition: { type?: string; status?: 'True' | 'False'; reason?: string } = {},
  query = '',
): Promise<ApiReply> {
  const now = seconds();
  const { type = CONDITION, status = 'False', reason = 'SubnetFull' } = condition;
  const message = status === 'True' ? 'free addresses on hand' : 'subnet subnet-0abc has 0 free addresses';
  const patch = { status: { conditions: [{ type, status, reason, message, lastHeartbeatTime: now, lastTransitionTime: now }] } };
  return agent.api('PATCH', `/api/v1/nodes/${node}/status${query}`, patch, STRATEGIC);
}

/** The daemon's taint write: a JSON patch guarded by a test of the resourceVersion it read. */
async function patchTaints(agent: Agent, node: string, ops: (taints: readonly Taint[]) => readonly object[]): Promise<ApiReply> {
  const current = ok<Node>(await agent.api('GET', `/api/v1/nodes/${node}`));
  const patch = [
    { op: 'test', path: '/metadata/resourceVersion', value: current.metadata.resourceVersion },
    ...ops(current.spec.taints ?? []),
  ];
  return agent.api('PATCH', `/api/v1/nodes/${node}`, patch, JSON_PATCH);
}

const addTaint =
  (taint: Taint) =>
  (taints: readonly Taint[]): readonly object[] =>
    taints.length === 0 ? [{ op: 'add', path: '/spec/taints', value: [taint] }] : [{ op: 'add', path: '/spec/taints/-', value: taint }];

function taintIndex(taints: readonly Taint[], key: string): number {
  const index = taints.findIndex((t) => t.key === key);
  if (index < 0) throw new Error(`no taint ${key} in ${JSON.stringify(taints)}`);
  return index;
}

const removeTaint =
  (key: string) =>
  (taints: readonly Taint[]): readonly object[] => [{ op: 'remove', path: `/spec/taints/${taintIndex(taints, key)}` }];

async function getNode(name: string): Promise<Node> {
  return JSON.parse(await admin(['get', 'node', name, '-o', 'json'])) as Node;
}

function taintsOf(node: Node): string[] {
  return (node.spec.taints ?? []).map((t) => `${t.key}=${t.value ?? ''}:${t.effect}`);
}

function conditionsOf(node: Node): string[] {
  return (node.status.conditions ?? []).map((c) => `${c.type}=${c.status}`);
}

async function agentWithToken(name: string, tokenArgs: readonly string[]): Promise<Agent> {
  const token = (await admin(['create', 'token', 'nativeip', '-n', 'kube-system', '--duration=1h', ...tokenArgs])).trim();
  const kubeconfig = join(cp.dir, `${name}.kubeconfig`);
  await cp.writeKubeconfig(kubeconfig, { token });
  return {
    api: apiWithToken(token),
    kubectl: (args, input) =>
      runCommand(kubeBinary('kubectl'), [`--kubeconfig=${kubeconfig}`, ...args], input !== undefined ? { input } : {}),
  };
}

function nativeipNode(name: string, ownerUid?: string): object {
  return {
    apiVersion: 'nativeip.io/v1alpha1',
    kind: 'NativeipNode',
    metadata: {
      name,
      ...(ownerUid !== undefined ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name, uid: ownerUid }] } : {}),
    },
    spec: {},
  };
}

/**
 * Waits until the API server enforces both policies: it reads new policies asynchronously.
 * The probes are dry runs, so nothing is written before then.
 */
async function waitForPolicies(): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const replies = await Promise.all([
      patchCondition(agentA, 'node-b', {}, '?dryRun=All'),
      agentA.api('POST', `${NIPN_PATH}?dryRun=All`, nativeipNode('node-b')),
    ]);
    const [node, nipn] = replies.map(refusal);
    if (node?.includes(NODE_POLICY) === true && nipn?.includes(NIPN_POLICY) === true) return;
    if (Date.now() > deadline) throw new Error(`the admission policies were not enforced within 30 s: ${node}; ${nipn}`);
    await sleep(200);
  }
}

const STATUS_A = {
  cloud: 'aws',
  instanceId: 'i-0node-a',
  instanceType: 'm5.xlarge',
  maxPods: 58,
  ready: true,
  state: 'blocked',
  addresses: { total: 56, assigned: 54, free: 0, coolingDown: 2 },
  interfaces: [
    { id: 'eni-0a', subnetId: 'subnet-0abc', deviceIndex: 0, total: 14, assigned: 14, free: 0, coolingDown: 0, prefixes: [] },
    { id: 'eni-0b', subnetId: 'subnet-0abc', deviceIndex: 1, total: 14, assigned: 12, free: 0, coolingDown: 2, prefixes: [] },
  ],
  reason: 'InterfaceLimit',
  warmPool: { policy: 'adaptive', low: 2, high: 8, burst: false, arrivalsPerMinute: 0.5 },
  lastFailure: { reason: 'InterfaceLimit', message: 'm5.xlarge allows 4 network interfaces', time: '2026-12-02T15:00:00Z' },
  cloudCalls: [{ action: 'AssignPrivateIpAddresses', calls: 12, errors: 1, throttled: 1 }],
  observedAt: '2026-12-02T15:01:00Z',
};

beforeAll(async () => {
  try {
    await cp.start();
    admin = (args, input) => cp.kubectl(args, input !== undefined ? { input } : {});
    serverSideApply = await admin(['apply', '--server-side', '-f', MANIFESTS]);
    await admin(['wait', '--for=condition=Established', '--timeout=30s', 'crd/nativeipnodes.nativeip.io']);
    const nodes = { apiVersion: 'v1', kind: 'List', items: [nodeManifest('node-a', '10.0.1.10'), nodeManifest('node-b', '10.0.1.11')] };
    await admin(['create', '-f', '-'], JSON.stringify(nodes));
    for (const name of ['node-a', 'node-b']) created.set(name, await getNode(name));
    // The daemon's pod on node-a. Nothing runs it (no kubelet); its token only needs it to exist.
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'nativeip-a', namespace: 'kube-system' },
      spec: {
        nodeName: 'node-a',
        serviceAccountName: 'nativeip',
        automountServiceAccountToken: false,
        containers: [{ name: 'ipamd', image: 'localhost/nativeip:0.1.0' }],
      },
    };
    await admin(['create', '-f', '-'], JSON.stringify(pod));
    agentA = await agentWithToken('agent-a', ['--bound-object-kind=Pod', '--bound-object-name=nativeip-a']);
    unbound = await agentWithToken('unbound', []);
    await waitForPolicies();
  } catch (error) {
    await cp.stop();
    throw error;
  }
}, 120_000);

afterAll(async () => {
  await cp.stop();
});

describe('kubectl apply', () => {
  it('server-side applies every object of manifests/', () => {
    expect(serverSideApply.trim().split('\n')).toEqual(NATIVEIP_OBJECTS.map((object) => `${appliedName(object)} serverside-applied`));
  });

  it('client-side apply of the same directory is accepted too', async () => {
    const out = await admin(['apply', '-f', MANIFESTS]);
    expect(out.trim().split('\n')).toHaveLength(NATIVEIP_OBJECTS.length);
  });
});

describe('RBAC of system:serviceaccount:kube-system:nativeip', () => {
  /** What every authenticated user may do (system:basic-user and friends). */
  const EVERYONE = new Set([
    'selfsubjectaccessreviews.authorization.k8s.io:create',
    'selfsubjectrulesreviews.authorization.k8s.io:create',
    'selfsubjectreviews.authentication.k8s.io:create',
  ]);

  it('kubectl auth can-i --list shows what the daemon needs and nothing more', async () => {
    const out = await admin(['auth', 'can-i', '--list', `--as=${AGENT}`]);
    const granted = out
      .split('\n')
      .slice(1)
      .flatMap((line) => {
        // Rows of non-resource URLs (discovery, /healthz…) start with spaces and do not match.
        const row = /^(\S+)\s+\[.*?\]\s+\[(.*?)\]\s+\[(.*)\]$/.exec(line);
        if (row === null) return [];
        expect(row[2], `${line}: resource names`).toBe('');
        return (row[3] ?? '').split(' ').map((verb) => `${row[1] ?? ''}:${verb}`);
      })
      .filter((grant) => !EVERYONE.has(grant));
    expect(granted.sort()).toEqual(
      [
        'nodes:get',
        'nodes:list',
        'nodes:watch',
        'nodes:patch',
        'nodes/status:patch',
        'pods:get',
        'pods:list',
        'pods:watch',
        'nativeipnodes.nativeip.io:get',
        'nativeipnodes.nativeip.io:list',
        'nativeipnodes.nativeip.io:watch',
        'nativeipnodes.nativeip.io:create',
        'nativeipnodes.nativeip.io:update',
        'nativeipnodes.nativeip.io:patch',
        'nativeipnodes.nativeip.io/status:get',
        'nativeipnodes.nativeip.io/status:update',
        'nativeipnodes.nativeip.io/status:patch',
        'events:create',
        'events:patch',
      ].sort(),
    );
  });

  type Check = readonly [verb: string, resource: string, namespace?: string];
  const allowed: readonly Check[] = [
    ['get', 'nodes'],
    ['list', 'nodes'],
    ['watch', 'nodes'],
    ['patch', 'nodes'],
    ['patch', 'nodes/status'],
    ['get', 'pods', 'team-a'],
    ['list', 'pods'],
    ['watch', 'pods'],
    ['get', 'nativeipnodes.nativeip.io'],
    ['list', 'nativeipnodes.nativeip.io'],
    ['watch', 'nativeipnodes.nativeip.io'],
    ['create', 'nativeipnodes.nativeip.io'],
    ['update', 'nativeipnodes.nativeip.io'],
    ['patch', 'nativeipnodes.nativeip.io'],
    ['get', 'nativeipnodes.nativeip.io/status'],
    ['update', 'nativeipnodes.nativeip.io/status'],
    ['patch', 'nativeipnodes.nativeip.io/status'],
    ['create', 'events', 'team-a'],
    ['patch', 'events', 'team-a'],
  ];
  const refused: readonly Check[] = [
    ['get', 'secrets', 'kube-system'],
    ['list', 'secrets'],
    ['get', 'configmaps', 'kube-system'],
    ['create', 'pods', 'team-a'],
    ['delete', 'pods', 'team-a'],
    ['create', 'pods/eviction', 'team-a'],
    ['create', 'pods/exec', 'team-a'],
    ['patch', 'pods/status', 'team-a'],
    ['create', 'nodes'],
    ['update', 'nodes'],
    ['delete', 'nodes'],
    ['get', 'nodes/status'],
    ['update', 'nodes/status'],
    ['get', 'nodes/proxy'],
    ['delete', 'nativeipnodes.nativeip.io'],
    ['list', 'events', 'team-a'],
    ['delete', 'events', 'team-a'],
    ['create', 'events.events.k8s.io', 'team-a'],
    ['create', 'serviceaccounts/token', 'kube-system'],
    ['update', 'daemonsets.apps', 'kube-system'],
    ['update', 'customresourcedefinitions.apiextensions.k8s.io'],
    ['delete', 'validatingadmissionpolicies.admissionregistration.k8s.io'],
    ['bind', 'clusterroles.rbac.authorization.k8s.io'],
    ['create', 'leases.coordination.k8s.io', 'kube-node-lease'],
  ];

  /** `kubectl auth can-i` for each check, as SubjectAccessReviews in one kubectl call. */
  async function canI(checks: readonly Check[]): Promise<string[]> {
    const items = checks.map(([verb, resource, namespace]) => {
      const [plural = '', subresource] = resource.split('/');
      const [name = '', ...group] = plural.split('.');
      return {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: AGENT,
          groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'],
          resourceAttributes: {
            verb,
            group: group.join('.'),
            resource: name,
            ...(subresource !== undefined ? { subresource } : {}),
            ...(namespace !== undefined ? { namespace } : {}),
          },
        },
      };
    });
    const list = JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
    const out = await admin(['create', '-o', 'jsonpath={.status.allowed}{"\\n"}', '-f', '-'], list);
    const answers = out.trim().split('\n');
    expect(answers).toHaveLength(checks.length);
    return answers.map((allowed, i) => `${checks[i]?.join(' ') ?? '?'}: ${allowed === 'true' ? 'yes' : 'no'}`);
  }

  it('may do each thing the daemon does', async () => {
    expect(await canI(allowed)).toEqual(allowed.map((c) => `${c.join(' ')}: yes`));
  });

  it('may not read secrets or config, delete or evict pods, create, update or delete Nodes, or touch anything else', async () => {
    expect(await canI(refused)).toEqual(refused.map((c) => `${c.join(' ')}: no`));
  });
});

describe('admission: the agent on node-a writes only its own Node', () => {
  it("sets node-a's NativeipAddressesAvailable condition, other conditions untouched", async () => {
    ok(await patchCondition(agentA, 'node-a', { status: 'False', reason: 'SubnetFull' }));
    ok(await patchCondition(agentA, 'node-a', { status: 'True', reason: 'AddressesAvailable' }));
    const node = await getNode('node-a');
    expect(conditionsOf(node).sort()).toEqual(['MemoryPressure=False', `${CONDITION}=True`, 'Ready=True']);
    const others = (n: Node): string[] => conditionsOf(n).filter((c) => !c.startsWith(CONDITION));
    const before = created.get('node-a');
    if (before === undefined) throw new Error('node-a was not created');
    expect(others(node)).toEqual(others(before));
  });

  it('adds, changes and removes the nativeip.io/addresses-exhausted taint on node-a, other taints untouched', async () => {
    const before = taintsOf(await getNode('node-a'));
    ok(await patchTaints(agentA, 'node-a', addTaint({ key: TAINT_KEY, value: 'SubnetFull', effect: 'NoSchedule' })));
    expect(taintsOf(await getNode('node-a'))).toEqual([...before, `${TAINT_KEY}=SubnetFull:NoSchedule`]);
    ok(
      await patchTaints(agentA, 'node-a', (taints) => [
        { op: 'replace', path: `/spec/taints/${taintIndex(taints, TAINT_KEY)}/value`, value: 'InterfaceLimit' },
      ]),
    );
    expect(taintsOf(await getNode('node-a'))).toEqual([...before, `${TAINT_KEY}=InterfaceLimit:NoSchedule`]);
    ok(await patchTaints(agentA, 'node-a', removeTaint(TAINT_KEY)));
    expect(taintsOf(await getNode('node-a'))).toEqual(before);
  });

  it("is refused node-b's condition and taint: own-node", async () => {
    expect(refusal(await patchCondition(agentA, 'node-b'))).toBe(
      `403 nodes "node-b" is forbidden: ${NODE_POLICY}: own-node: the nativeip agent of node node-a may not write Node node-b, only its own`,
    );
    const taint = await patchTaints(agentA, 'node-b', addTaint({ key: TAINT_KEY, value: 'SubnetFull', effect: 'NoSchedule' }));
    expect(refusal(taint)).toContain(`${NODE_POLICY}: own-node:`);
  });

  it('is refused another taint on node-a, added or removed: other-taints-unchanged', async () => {
    const added = await patchTaints(agentA, 'node-a', addTaint({ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }));
    expect(refusal(added)).toBe(
      `403 nodes "node-a" is forbidden: ${NODE_POLICY}: other-taints-unchanged: the nativeip agent may add, change or remove only taints with key ${TAINT_KEY}; this request changes another taint`,
    );
    const removed = await patchTaints(agentA, 'node-a', removeTaint('example.com/dedicated'));
    expect(refusal(removed)).toContain(`${NODE_POLICY}: other-taints-unchanged:`);
  });

  it('is refused a NoExecute nativeip taint, which would evict the pods: nativeip-taint-no-schedule', async () => {
    const reply = await patchTaints(agentA, 'node-a', addTaint({ key: TAINT_KEY, value: 'SubnetFull', effect: 'NoExecute' }));
    expect(refusal(reply)).toContain(`${NODE_POLICY}: nativeip-taint-no-schedule:`);
  });

  it('is refused a change to another condition: other-conditions-unchanged', async () => {
    const reply = await patchCondition(agentA, 'node-a', { type: 'Ready', status: 'False', reason: 'KubeletNotReady' });
    expect(refusal(reply)).toBe(
      `403 nodes "node-a" is forbidden: ${NODE_POLICY}: other-conditions-unchanged: the nativeip agent may change only the condition of type ${CONDITION}; this request changes another condition`,
    );
  });

  it('is refused labels and annotations, through the Node or its status: metadata-unchanged', async () => {
    await expect(agentA.kubectl(['label', 'node', 'node-a', 'example.com/evil=true'])).rejects.toThrow(
      `${NODE_POLICY}: metadata-unchanged: the nativeip agent may not change a Node's metadata; this request changes metadata.labels`,
    );
    await expect(agentA.kubectl(['annotate', 'node', 'node-a', 'example.com/note=x'])).rejects.toThrow(
      `${NODE_POLICY}: metadata-unchanged: the nativeip agent may not change a Node's metadata; this request changes metadata.annotations`,
    );
    const viaStatus = { metadata: { labels: { 'node-role.kubernetes.io/control-plane': '' } } };
    expect(refusal(await agentA.api('PATCH', '/api/v1/nodes/node-a/status', viaStatus, MERGE))).toContain(
      `${NODE_POLICY}: metadata-unchanged: the nativeip agent may not change a Node's metadata; this request changes metadata.labels`,
    );
  });

  it('is refused cordoning the node or any other spec change: spec-unchanged', async () => {
    // kubectl cordon's own request (it prints a refusal but exits 0, so it is sent here directly).
    const cordon = await agentA.api('PATCH', '/api/v1/nodes/node-a', { spec: { unschedulable: true } }, STRATEGIC);
    expect(refusal(cordon)).toBe(
      `403 nodes "node-a" is forbidden: ${NODE_POLICY}: spec-unchanged: the nativeip agent may change only the taint ${TAINT_KEY} in a Node's spec; this request changes spec.unschedulable`,
    );
    const podCidr = { spec: { podCIDR: '10.244.0.0/24', podCIDRs: ['10.244.0.0/24'] } };
    // CEL walks a map's keys in no fixed order: the message names both, in either order.
    const refused = refusal(await agentA.api('PATCH', '/api/v1/nodes/node-a', podCidr, MERGE));
    expect(refused).toContain(`${NODE_POLICY}: spec-unchanged: the nativeip agent may change only the taint ${TAINT_KEY} in a Node's spec; this request changes spec.podCIDR`);
    expect(refused.replace(/.*this request changes /, '').split(', ').sort()).toEqual(['spec.podCIDR', 'spec.podCIDRs']);
  });

  it("is refused other status fields, such as the node's capacity: status-unchanged", async () => {
    const capacity = { status: { capacity: { pods: '250' } } };
    expect(refusal(await agentA.api('PATCH', '/api/v1/nodes/node-a/status', capacity, MERGE))).toBe(
      `403 nodes "node-a" is forbidden: ${NODE_POLICY}: status-unchanged: the nativeip agent may change only the condition ${CONDITION} in a Node's status; this request changes status.capacity`,
    );
  });

  it('with a token bound to no pod (no node claim) is refused: node-claim', async () => {
    const expected = `403 nodes "node-a" is forbidden: ${NODE_POLICY}: node-claim: the nativeip agent's token names no node (no authentication.kubernetes.io/node-name claim); it must be the projected service account token of a pod scheduled on the node it writes`;
    expect(refusal(await patchCondition(unbound, 'node-a'))).toBe(expected);
    const taint = await patchTaints(unbound, 'node-a', addTaint({ key: TAINT_KEY, value: 'SubnetFull', effect: 'NoSchedule' }));
    expect(refusal(taint)).toBe(expected);
  });

  it('left node-a and node-b as they were, but for what the agent was allowed', async () => {
    for (const name of ['node-a', 'node-b']) {
      const before = created.get(name);
      const after = await getNode(name);
      if (before === undefined) throw new Error(`${name} was not created`);
      expect(after.metadata.labels, name).toEqual(before.metadata.labels);
      expect(after.metadata.annotations, name).toEqual(before.metadata.annotations);
      expect(after.spec, name).toEqual(before.spec);
      expect(after.status.capacity, name).toEqual(before.status.capacity);
      const others = (n: Node): readonly Condition[] => (n.status.conditions ?? []).filter((c) => c.type !== CONDITION);
      expect(others(after), name).toEqual(others(before));
    }
    expect(conditionsOf(await getNode('node-b'))).not.toContain(`${CONDITION}=False`);
  });

  it('does not restrict anyone else: an administrator labels node-a', async () => {
    await admin(['label', 'node', 'node-a', 'example.com/rack=r1']);
    await admin(['label', 'node', 'node-a', 'example.com/rack-']);
  });
});

describe('admission: the agent on node-a writes only its own NativeipNode', () => {
  it('creates NativeipNode node-a, owned by its Node, and writes its status', async () => {
    const nodeA = await getNode('node-a');
    ok(await agentA.api('POST', NIPN_PATH, nativeipNode('node-a', nodeA.metadata.uid)));
    ok(await agentA.api('PATCH', `${NIPN_PATH}/node-a/status`, { status: STATUS_A }, MERGE));
    ok(await agentA.api('PATCH', `${NIPN_PATH}/node-a/status`, { status: { observedAt: '2026-12-02T15:02:00Z' } }, MERGE));
    // An update (PUT) of the status subresource, with the resourceVersion just read.
    const current = ok<{ status: typeof STATUS_A }>(await agentA.api('GET', `${NIPN_PATH}/node-a/status`));
    await expect(agentA.kubectl(['replace', '--subresource=status', '-f', '-'], JSON.stringify({ ...current, status: { ...current.status, ready: false } }))).resolves.toContain('replaced');
    const stored = JSON.parse(await admin(['get', 'nipn', 'node-a', '-o', 'json'])) as { status: typeof STATUS_A };
    expect(stored.status).toEqual({ ...STATUS_A, ready: false, observedAt: '2026-12-02T15:02:00Z' });
  });

  it('is refused creating NativeipNode node-b: own-node', async () => {
    expect(refusal(await agentA.api('POST', NIPN_PATH, nativeipNode('node-b')))).toBe(
      `403 nativeipnodes.nativeip.io "node-b" is forbidden: ${NIPN_POLICY}: own-node: the nativeip agent of node node-a may not write NativeipNode node-b, only its own`,
    );
  });

  it("is refused node-b's status: own-node", async () => {
    await admin(['create', '-f', '-'], JSON.stringify(nativeipNode('node-b')));
    const reply = await agentA.api('PATCH', `${NIPN_PATH}/node-b/status`, { status: { state: 'ready' } }, MERGE);
    expect(refusal(reply)).toContain(`${NIPN_POLICY}: own-node:`);
  });

  it('is refused an owner other than its Node: owner-is-own-node', async () => {
    const nodeB = await getNode('node-b');
    const patch = { metadata: { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'node-b', uid: nodeB.metadata.uid }] } };
    expect(refusal(await agentA.api('PATCH', `${NIPN_PATH}/node-a`, patch, MERGE))).toBe(
      `403 nativeipnodes.nativeip.io "node-a" is forbidden: ${NIPN_POLICY}: owner-is-own-node: a NativeipNode's owner references may point only at the Node node-a`,
    );
  });

  it('with a token bound to no pod is refused: node-claim', async () => {
    const reply = await unbound.api('PATCH', `${NIPN_PATH}/node-a/status`, { status: { state: 'ready' } }, MERGE);
    expect(refusal(reply)).toContain(`${NIPN_POLICY}: node-claim:`);
  });
});

/** kubectl's table output as rows keyed by column header; cells are cut at the headers' offsets. */
function table(out: string): Record<string, string>[] {
  const [header = '', ...lines] = out.trimEnd().split('\n');
  const columns = [...header.matchAll(/\S+(?: \S+)*/g)].map((m) => ({ name: m[0], start: m.index }));
  return lines.map((line) =>
    Object.fromEntries(
      columns.map((column, i) => [column.name, line.slice(column.start, columns[i + 1]?.start ?? line.length).trim()]),
    ),
  );
}

describe('kubectl get nativeipnodes', () => {
  it('shows how full each node is and why, at a glance', async () => {
    const statusB = { instanceType: 'c5.large', state: 'ready', maxPods: 29, addresses: { total: 9, assigned: 3, free: 6, coolingDown: 0 } };
    await admin(['patch', 'nipn', 'node-b', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: statusB })]);
    const rows = table(await admin(['get', 'nativeipnodes']));
    expect(rows.map((row) => Object.keys(row))[0]).toEqual([
      'NAME',
      'INSTANCE TYPE',
      'STATE',
      'ASSIGNED',
      'FREE',
      'COOLING',
      'MAX PODS',
      'REASON',
      'AGE',
    ]);
    expect(rows.map(({ AGE, ...columns }) => ({ ...columns, AGE: /^\d+s$/.test(AGE ?? '') ? 'seconds' : AGE }))).toEqual([
      { NAME: 'node-a', 'INSTANCE TYPE': 'm5.xlarge', STATE: 'blocked', ASSIGNED: '54', FREE: '0', COOLING: '2', 'MAX PODS': '58', REASON: 'InterfaceLimit', AGE: 'seconds' },
      { NAME: 'node-b', 'INSTANCE TYPE': 'c5.large', STATE: 'ready', ASSIGNED: '3', FREE: '6', COOLING: '0', 'MAX PODS': '29', REASON: '', AGE: 'seconds' },
    ]);
    const wide = table(await admin(['get', 'nipn', '-o', 'wide']));
    expect(wide.map((row) => [row['NAME'], row['CLOUD'], row['INSTANCE'], row['WARM POOL']])).toEqual([
      ['node-a', 'aws', 'i-0node-a', 'adaptive'],
      ['node-b', '', '', ''],
    ]);
    const blocked = await admin(['get', 'nipn', '--field-selector=status.state=blocked', '-o', 'name']);
    expect(blocked.trim()).toBe('nativeipnode.nativeip.io/node-a');
  });
});
