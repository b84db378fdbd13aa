/** chooseKubernetesAccess: NATIVEIP_KUBERNETES, KUBECONFIG and MY_NODE_NAME against what the host has. */
import { describe, expect, it } from 'vitest';
import { chooseKubernetesAccess, type KubernetesAccess } from '../../src/ipamd/config/kubernetes-choice.js';

type Config = Parameters<typeof chooseKubernetesAccess>[0];
type Facts = Parameters<typeof chooseKubernetesAccess>[1];

const inPod: Facts = { serviceAccountToken: true, serviceHost: '10.96.0.1', servicePort: '443', hostname: 'ip-10-0-0-12.ec2.internal' };
const onHost: Facts = { serviceAccountToken: false, serviceHost: undefined, servicePort: undefined, hostname: 'Build-Box-7' };
const config = (kubernetes: Config['kubernetes'], extra: Partial<Config> = {}): Config => ({ kubernetes, kubeconfig: undefined, nodeName: undefined, ...extra });

describe('chooseKubernetesAccess', () => {
  it.each<[string, Config, Facts, KubernetesAccess]>([
    ['off, even in a pod', config('off'), inPod, { kind: 'off', why: 'NATIVEIP_KUBERNETES=off' }],
    ['off, even with a kubeconfig', config('off', { kubeconfig: '/etc/kube/config' }), onHost, { kind: 'off', why: 'NATIVEIP_KUBERNETES=off' }],
    [
      'auto without a service-account token',
      config('auto'),
      onHost,
      { kind: 'off', why: 'NATIVEIP_KUBERNETES=auto and no service-account token is mounted (not running in a pod)' },
    ],
    [
      'auto without a token ignores KUBECONFIG',
      config('auto', { kubeconfig: '/etc/kube/config' }),
      onHost,
      { kind: 'off', why: 'NATIVEIP_KUBERNETES=auto and no service-account token is mounted (not running in a pod)' },
    ],
    ['auto with a token: in-cluster', config('auto', { nodeName: 'node-a' }), inPod, { kind: 'in-cluster', host: '10.96.0.1', port: '443', nodeName: 'node-a' }],
    [
      'auto with a token uses the service account, not KUBECONFIG',
      config('auto', { kubeconfig: '/etc/kube/config', nodeName: 'node-a' }),
      inPod,
      { kind: 'in-cluster', host: '10.96.0.1', port: '443', nodeName: 'node-a' },
    ],
    ['on with KUBECONFIG', config('on', { kubeconfig: '/etc/kube/config', nodeName: 'node-a' }), onHost, { kind: 'kubeconfig', path: '/etc/kube/config', nodeName: 'node-a' }],
    [
      'on with KUBECONFIG, even in a pod',
      config('on', { kubeconfig: '/etc/kube/config', nodeName: 'node-a' }),
      inPod,
      { kind: 'kubeconfig', path: '/etc/kube/config', nodeName: 'node-a' },
    ],
    ['on without KUBECONFIG: in-cluster', config('on', { nodeName: 'node-a' }), inPod, { kind: 'in-cluster', host: '10.96.0.1', port: '443', nodeName: 'node-a' }],
    [
      'on without KUBECONFIG or a token: in-cluster still (the client then says what is missing)',
      config('on', { nodeName: 'node-a' }),
      onHost,
      { kind: 'in-cluster', host: '', port: '', nodeName: 'node-a' },
    ],
  ])('%s', (_name, cfg, facts, expected) => {
    expect(chooseKubernetesAccess(cfg, facts)).toEqual(expected);
  });

  it.each<[string, Config, Facts, string]>([
    ['MY_NODE_NAME wins over the host name', config('on', { nodeName: 'node-from-downward-api' }), inPod, 'node-from-downward-api'],
    ['in-cluster: the host name, lower-cased', config('auto'), { ...inPod, hostname: 'IP-10-0-0-12.EC2.Internal' }, 'ip-10-0-0-12.ec2.internal'],
    ['kubeconfig: the host name, lower-cased', config('on', { kubeconfig: '/k' }), onHost, 'build-box-7'],
  ])('node name: %s', (_name, cfg, facts, nodeName) => {
    const access = chooseKubernetesAccess(cfg, facts);
    expect(access.kind === 'off' ? undefined : access.nodeName).toBe(nodeName);
  });
});
