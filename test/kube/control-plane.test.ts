/**
 * The local control plane (test/support/kube/control-plane.ts): etcd, kube-apiserver,
 * kube-controller-manager and kube-scheduler v1.35.4 on 127.0.0.1, built by
 * scripts/install-kube.sh. Needs no root.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait-for.js';
import { LocalControlPlane } from '../support/kube/control-plane.js';

interface WhoAmI {
  status: { userInfo: { username: string; groups?: string[]; extra?: Record<string, string[]> } };
}

const NS = 'cp-test';
/** Host paths the components create by default (cert dir, flexvolume dir); ours are moved into the temp dir. */
const HOST_PATHS = ['/var/run/kubernetes', '/usr/libexec/kubernetes', '/etc/kubernetes'];
const hostPaths = (): Record<string, boolean> => Object.fromEntries(HOST_PATHS.map((p) => [p, existsSync(p)]));

const eventually = <T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> => waitFor(what, check, { timeoutMs });

describe('LocalControlPlane', () => {
  const cp = new LocalControlPlane({ controllerManager: true, scheduler: true });
  const pathsBefore = hostPaths();

  beforeAll(async () => {
    await cp.start();
  }, 120_000);

  afterAll(async () => {
    await cp.stop();
  }, 60_000);

  it('serves /version v1.35.4 on 127.0.0.1', async () => {
    expect(cp.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const version = JSON.parse(await cp.kubectl(['get', '--raw', '/version'])) as { gitVersion: string; major: string; minor: string };
    expect(version).toMatchObject({ gitVersion: 'v1.35.4', major: '1', minor: '35' });
  });

  it('applies a namespace and a ServiceAccount; the controller-manager adds the default ServiceAccount', async () => {
    await cp.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
          { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'ipamd', namespace: NS } },
        ],
      }),
    });
    expect(await cp.kubectl(['get', 'serviceaccount', 'ipamd', '-n', NS, '-o', 'name'])).toBe('serviceaccount/ipamd\n');
    await eventually('default ServiceAccount', async () => ((await cp.kubectl(['get', 'serviceaccount', 'default', '-n', NS, '-o', 'name'])) !== '' ? true : undefined));
  });

  it('issues Pod-bound ServiceAccount tokens that carry the node name', async () => {
    // No kubelet here: the Node object and the Pod bound to it are made by hand.
    await cp.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          { apiVersion: 'v1', kind: 'Node', metadata: { name: 'cp-test-node' } },
          {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name: 'ipamd-x', namespace: NS },
            spec: { nodeName: 'cp-test-node', serviceAccountName: 'ipamd', containers: [{ name: 'c', image: 'nativeip.local/busybox:test' }] },
          },
        ],
      }),
    });
    const token = (await cp.kubectl(['create', 'token', 'ipamd', '-n', NS, '--bound-object-kind', 'Pod', '--bound-object-name', 'ipamd-x'])).trim();
    const whoami = JSON.parse(await cp.kubectl(['auth', 'whoami', '-o', 'json', `--token=${token}`])) as WhoAmI;
    const node = await cp.kubectlJson<{ metadata: { uid: string } }>(['get', 'node', 'cp-test-node']);
    expect(whoami.status.userInfo.username).toBe(`system:serviceaccount:${NS}:ipamd`);
    expect(whoami.status.userInfo.extra).toMatchObject({
      'authentication.kubernetes.io/node-name': ['cp-test-node'],
      'authentication.kubernetes.io/node-uid': [node.metadata.uid],
      'authentication.kubernetes.io/pod-name': ['ipamd-x'],
    });
  });

  it('enforces a ValidatingAdmissionPolicy', async () => {
    await cp.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          {
            apiVersion: 'admissionregistration.k8s.io/v1',
            kind: 'ValidatingAdmissionPolicy',
            metadata: { name: 'no-forbidden-configmaps' },
            spec: {
              failurePolicy: 'Fail',
              matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['configmaps'] }] },
              validations: [{ expression: "!has(object.data) || !('forbidden' in object.data)", message: 'forbidden key' }],
            },
          },
          {
            apiVersion: 'admissionregistration.k8s.io/v1',
            kind: 'ValidatingAdmissionPolicyBinding',
            metadata: { name: 'no-forbidden-configmaps' },
            spec: { policyName: 'no-forbidden-configmaps', validationActions: ['Deny'], matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': NS } } } },
          },
        ],
      }),
    });
    // The policy takes effect once the API server's informers have it.
    const refusal = await eventually('policy enforced', async () => {
      try {
        await cp.kubectl(['create', 'configmap', 'bad', '-n', NS, '--from-literal=forbidden=1']);
        await cp.kubectl(['delete', 'configmap', 'bad', '-n', NS]);
        return undefined;
      } catch (error) {
        return String(error);
      }
    });
    expect(refusal).toContain('forbidden key');
    await cp.kubectl(['create', 'configmap', 'good', '-n', NS, '--from-literal=fine=1']);
  });

  it('keeps its data across an API server restart (etcd stays up)', async () => {
    await cp.stopApiServer();
    expect(cp.apiServerRunning).toBe(false);
    await expect(cp.kubectl(['get', 'ns', NS], { timeoutMs: 10_000 })).rejects.toThrow(/refused|unable to connect|connect/i);
    await cp.startApiServer();
    expect(await cp.kubectl(['get', 'serviceaccount', 'ipamd', '-n', NS, '-o', 'name'])).toBe('serviceaccount/ipamd\n');
    expect(await cp.kubectl(['get', 'configmap', 'good', '-n', NS, '-o', 'jsonpath={.data.fine}'])).toBe('1');
  });

  it('stop() ends every process and leaves nothing outside its directory', async () => {
    const dir = cp.dir;
    await cp.stop();
    expect(cp.apiServerRunning).toBe(false);
    expect(existsSync(dir)).toBe(false);
    expect(hostPaths()).toEqual(pathsBefore);
  });
});
